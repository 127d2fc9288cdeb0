"""The documented production instance (deploy/dagster.prod.yaml) on the local Postgres."""

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.instance.ref import InstanceRef

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster_tests.conftest import sandbox_env, with_database

REPOSITORY = DEFAULT_DAG_DIR.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def instance_database(postgres_url: str):
    """A fresh database for Dagster's storage, dropped afterwards."""
    name = f"dagster_instance_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(postgres_url, name)  # libpq URL, for psycopg in the test
    yield url
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_partition_runs_on_the_postgres_backed_instance(
    tmp_path: Path, instance_database: str, monkeypatch: pytest.MonkeyPatch
):
    home = Path(sandbox_env(tmp_path)["DAGSTER_HOME"])
    shutil.copyfile(REPOSITORY / "deploy" / "dagster.prod.yaml", home / "dagster.yaml")
    # dagster-postgres runs on SQLAlchemy + psycopg2: say so in the URL (see the yaml).
    env = sandbox_env(
        tmp_path, DAGSTER_POSTGRES_URL=instance_database.replace("postgresql://", "postgresql+psycopg2://", 1)
    )
    result = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "plumbing_dagster.definitions",
            "--select",
            "raw/shop/products_landed,staging/shop/products",
            "--partition",
            "2026-11-01",
        ],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with psycopg.connect(instance_database) as conn:
        runs = conn.execute("SELECT status FROM runs").fetchall()
        materialized = conn.execute(
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
            "AND partition = '2026-11-01'"
        ).fetchone()[0]
    assert runs == [("SUCCESS",)]
    assert materialized == 2  # raw/shop/products_landed and staging/shop/products, stored in Postgres

    # The same instance config gives the run queue and the pools the README promises.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", env["DAGSTER_POSTGRES_URL"])
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        concurrency = instance.get_concurrency_config()
        assert type(instance).__module__ == "plumbing_dagster.instance"  # loads with the heap frozen
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert concurrency.run_queue_config.max_concurrent_runs == 6
        assert concurrency.run_queue_config.tag_concurrency_limits == [
            {"key": "dagster/backfill", "limit": 3}
        ]
        assert concurrency.pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
