"""Shop end to end in the sandbox: land a day, stage it, re-run it, survive faults, backfill."""

from datetime import date

import pyarrow.parquet as pq
import pytest

from plumbing_dagster.kit.emulator import Fault
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.sources.shop import ShopEmulator, ShopWorld
from plumbing_dagster_tests.assets.helpers import day_files, day_window, served, warehouse_rows
from plumbing_dagster_tests.conftest import check_results, definitions_for, materialize

ORDERS = ["raw/shop/orders_landed", "staging/shop/orders"]
DAY = "2026-11-01"


def _orders_table(sandbox) -> list[tuple]:
    return warehouse_rows(sandbox, "SELECT * FROM shop.orders ORDER BY partition_date, id")


def test_a_day_lands_parquet_and_stages_exactly_the_emulators_orders(sandbox):
    defs = definitions_for(sandbox)
    result = materialize(defs, ORDERS, partition_key=DAY)
    assert result.success

    expected = ShopWorld().orders_updated_between(*day_window(DAY))
    assert len(expected) > 1000  # more than one page at the client's page size: pagination happened
    files = day_files(sandbox, "shop", "orders", date(2026, 11, 1))
    assert len(files) == 1 and files[0].endswith(".parquet")
    load_id = files[0].split(".")[0] + "." + files[0].split(".")[1]
    assert all(f.startswith(load_id) for f in files)

    landed = pq.read_table(f"{sandbox.landing.url}/shop/orders/year=2026/month=11/day=01/{files[0]}")
    assert landed.num_rows == len(expected)
    assert sorted(landed.column("id").to_pylist()) == sorted(o["id"] for o in expected)

    rows = warehouse_rows(sandbox, "SELECT id, updated_at, partition_date FROM shop.orders ORDER BY id")
    assert [r[0] for r in rows] == sorted(o["id"] for o in expected)
    assert {r[2] for r in rows} == {date(2026, 11, 1)}
    assert all(r[1].isoformat().startswith(DAY) for r in rows)

    checks = check_results(result)
    assert all(e.passed for e in checks.values()), {k: v.metadata for k, v in checks.items()}
    assert checks["staging/shop/orders:reconciles_with_landing"].metadata["landed_rows"].value == len(
        expected
    )
    materialization = result.asset_materializations_for_node("staging__shop__orders")[0]
    assert materialization.metadata["dagster/row_count"].value == len(expected)
    columns = {c.name: c.type for c in materialization.metadata["dagster/column_schema"].value.columns}
    assert columns["updated_at"] == "TIMESTAMP WITH TIME ZONE" and columns["id"] == "BIGINT"


def test_rerunning_a_day_replaces_it_and_leaves_the_table_identical(sandbox):
    defs = definitions_for(sandbox)
    materialize(defs, ORDERS, partition_key=DAY)
    materialize(defs, ORDERS, partition_key="2026-11-02")
    first_files = day_files(sandbox, "shop", "orders", date(2026, 11, 1))
    before = _orders_table(sandbox)

    materialize(defs, ORDERS, partition_key=DAY)
    after_files = day_files(sandbox, "shop", "orders", date(2026, 11, 1))
    assert len(after_files) == 1 and after_files != first_files  # replaced, not appended
    assert _orders_table(sandbox) == before
    distinct_ids = warehouse_rows(sandbox, "SELECT count(DISTINCT id) FROM shop.orders")[0][0]
    current = warehouse_rows(sandbox, "SELECT count(*), count(DISTINCT id) FROM shop.orders__current")[0]
    assert current == (distinct_ids, distinct_ids)


def test_rate_limits_and_server_errors_within_the_retry_budget_change_nothing(sandbox):
    defs = definitions_for(sandbox)
    materialize(defs, ORDERS, partition_key=DAY)
    clean = _orders_table(sandbox)

    with served(VENDORS["shop"]) as (server, apis):
        # Four failures in a row on one request: the fifth and last attempt gets through.
        server.faults.add(Fault("rate_limit", times=2, retry_after=0.05))
        server.faults.add(Fault("server_error", times=2, status=503))
        result = materialize(defs, ORDERS, partition_key=DAY, resources={"vendor_apis": apis})
    assert result.success
    assert [kind for kind, _ in server.faults.fired] == ["rate_limit"] * 2 + ["server_error"] * 2
    assert _orders_table(sandbox) == clean


def test_faults_beyond_the_retry_budget_fail_clearly_and_keep_the_previous_day(sandbox):
    defs = definitions_for(sandbox)
    materialize(defs, ORDERS, partition_key=DAY)
    clean = _orders_table(sandbox)
    clean_files = day_files(sandbox, "shop", "orders", date(2026, 11, 1))

    with served(VENDORS["shop"]) as (server, apis):
        server.faults.add(Fault("rate_limit", times=1, retry_after=0.01))
        server.faults.add(Fault("server_error", times=50, status=500, path_prefix="/api/v1/orders"))
        result = materialize(
            defs, ORDERS, partition_key=DAY, resources={"vendor_apis": apis}, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.event_specific_data.error)
    assert "shop: GET" in message and "/api/v1/orders (page 1) failed with HTTP 500" in message
    assert "sandbox-shop-key" not in message
    assert _orders_table(sandbox) == clean
    assert day_files(sandbox, "shop", "orders", date(2026, 11, 1)) == clean_files


@pytest.mark.parametrize("days", [7])
def test_a_seven_day_range_runs_once_and_lands_seven_days(sandbox, days):
    defs = definitions_for(sandbox)
    result = materialize(defs, ORDERS, partition_range=("2026-10-01", "2026-10-07"))
    assert result.success
    for offset in range(days):
        assert len(day_files(sandbox, "shop", "orders", date(2026, 10, 1 + offset))) == 1
    partitions = warehouse_rows(
        sandbox, "SELECT partition_date, count(*) FROM shop.orders GROUP BY 1 ORDER BY 1"
    )
    assert [p[0] for p in partitions] == [date(2026, 10, d) for d in range(1, 8)]
    emulator = ShopEmulator()
    for day, count in partitions:
        assert count == len(emulator.world.orders_updated_between(*day_window(day.isoformat())))
    raw = result.asset_materializations_for_node("raw_shop")
    assert {m.partition for m in raw} == {f"2026-10-0{d}" for d in range(1, 8)}
