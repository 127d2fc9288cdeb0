"""Shared fixtures: a sandbox environment in a temporary folder, the real local Postgres."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.environments import Environment, load_environment
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.warehouses.postgres import pg_connect_info_safe

pytest_plugins = ["plumbing_dagster_tests.s3"]

POSTGRES_URL = os.environ.get("PLUMBING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test Postgres; the suite fails (never skips) when it cannot be reached."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {pg_connect_info_safe(POSTGRES_URL)} "
            f"(set PLUMBING_TEST_POSTGRES_URL or start it): {exc}",
            pytrace=False,
        )
    return POSTGRES_URL


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh Postgres schema name, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def sandbox(tmp_path: Path) -> Environment:
    """The sandbox environment with its data folder in a temporary directory."""
    return load_environment(VENDORS, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(tmp_path / "data")})


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
    """Materialize `selection` (asset key strings like 'raw/shop/orders') and their checks."""
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
