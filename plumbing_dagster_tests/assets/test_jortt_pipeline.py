"""Jortt end to end: OAuth against the emulator, invoices landed and staged (DuckDB and Postgres)."""

from datetime import date

import psycopg

from plumbing_dagster.environments import load_environment
from plumbing_dagster.sources.jortt import JorttEmulator, JorttWorld
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster_tests.assets.helpers import day_files, day_window, postgres_rows, served
from plumbing_dagster_tests.conftest import check_results, definitions_for, materialize

INVOICES = ["raw/jortt/invoices_landed", "staging/jortt/invoices"]
DAY = "2026-11-02"


def _emulator() -> JorttEmulator:
    return JorttEmulator(rate_limit=None)


def test_a_day_of_invoices_lands_and_stages_with_the_oauth_flow(sandbox):
    defs = definitions_for(sandbox)  # invoices go to the sandbox's Postgres
    emulator = _emulator()
    with served(VENDORS["jortt"], emulator) as (server, apis):
        first = materialize(defs, INVOICES, partition_key=DAY, resources={"vendor_apis": apis})
        rows_first = postgres_rows("SELECT * FROM jortt.invoices ORDER BY id")
        second = materialize(defs, INVOICES, partition_key=DAY, resources={"vendor_apis": apis})
        rows_second = postgres_rows("SELECT * FROM jortt.invoices ORDER BY id")
    assert first.success and second.success
    assert emulator.token_requests == 2  # one token per run, reused across every page
    assert emulator.api_requests["invoices"] > 2  # several pages

    expected = emulator.world.invoices_created_between(*day_window(DAY))
    assert len(expected) > 0
    ids = postgres_rows("SELECT id FROM jortt.invoices ORDER BY id")
    assert [r[0] for r in ids] == sorted(i["id"] for i in expected)
    assert rows_first == rows_second
    assert len(day_files(sandbox, "jortt", "invoices", date(2026, 11, 2))) == 1
    assert all(e.passed for e in check_results(first).values())


def test_an_expired_token_is_renewed_mid_run(sandbox):
    defs = definitions_for(sandbox)
    emulator = _emulator()
    with served(VENDORS["jortt"], emulator) as (server, apis):
        assert materialize(defs, INVOICES, partition_key=DAY, resources={"vendor_apis": apis}).success
        clean = postgres_rows("SELECT id, invoice_status FROM jortt.invoices ORDER BY id")

        # The next run's first token is expired at the server right away: the client renews it.
        original = emulator.handle
        tokens_before = emulator.token_requests

        def expire_after_token(request):
            response = original(request)
            if request.path.endswith("/oauth/token") and emulator.token_requests == tokens_before + 1:
                emulator.expire_tokens()
            return response

        emulator.handle = expire_after_token
        result = materialize(defs, INVOICES, partition_key=DAY, resources={"vendor_apis": apis})
    assert result.success
    assert emulator.token_requests == tokens_before + 2  # the expired one and its renewal
    assert postgres_rows("SELECT id, invoice_status FROM jortt.invoices ORDER BY id") == clean


def test_invoices_and_customers_go_to_postgres_when_configured(tmp_path, postgres_database, monkeypatch):
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PLUMBING_POSTGRES_URL", postgres_database)  # read by dg.EnvVar at run time
    environment = load_environment(VENDORS)
    assert environment.warehouses["postgres"].env_var_name == "PLUMBING_POSTGRES_URL"  # the URL wins
    defs = definitions_for(environment)
    result = materialize(defs, ["raw/jortt/invoices_landed", "staging/jortt/invoices"], partition_key=DAY)
    assert result.success
    expected = JorttWorld().invoices_created_between(*day_window(DAY))
    with psycopg.connect(postgres_database) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM jortt.invoices ORDER BY id").fetchall()]
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'jortt' AND table_name = 'invoices'"
            ).fetchall()
        )
    assert ids == sorted(i["id"] for i in expected)
    assert types["created_at"] == "timestamp with time zone"
    checks = check_results(result)
    assert all(e.passed for e in checks.values()), {k: v.metadata for k, v in checks.items() if not v.passed}
