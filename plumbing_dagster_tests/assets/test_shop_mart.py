"""The shop mart: order lines enriched with users and products, with referential integrity."""

import dagster as dg

from plumbing_dagster.keys import stream_selection
from plumbing_dagster.sources.shop import ShopWorld
from plumbing_dagster_tests.assets.helpers import day_window, warehouse_rows
from plumbing_dagster_tests.conftest import check_results, definitions_for, materialize

DAY = "2026-11-01"
SHOP_STREAMS = stream_selection("shop", ["orders", "users", "products"])


def test_order_lines_join_every_line_to_its_user_and_product(sandbox):
    defs = definitions_for(sandbox)
    result = materialize(
        defs,
        [*SHOP_STREAMS, "marts/shop/order_lines"],
        partition_key=DAY,
    )
    assert result.success

    orders = ShopWorld().orders_updated_between(*day_window(DAY))
    expected_lines = sum(len(o["line_items"]) for o in orders)
    lines = warehouse_rows(
        sandbox,
        "SELECT count(*), count(DISTINCT order_id), sum(line_amount), bool_and(user_found AND product_found) "
        "FROM marts_shop.order_lines",
    )[0]
    assert lines[0] == expected_lines
    assert lines[1] == len(orders)
    assert round(lines[2], 2) == round(
        sum(li["quantity"] * li["unit_price"] for o in orders for li in o["line_items"]), 2
    )
    assert lines[3] is True

    sample = orders[0]
    first_line = warehouse_rows(
        sandbox,
        f"SELECT sku, quantity, product_name IS NOT NULL, user_name IS NOT NULL FROM marts_shop.order_lines "
        f"WHERE order_id = {sample['id']} ORDER BY line_number LIMIT 1",
    )[0]
    assert first_line[:2] == (sample["line_items"][0]["sku"], sample["line_items"][0]["quantity"])
    assert first_line[2:] == (True, True)

    integrity = check_results(result)["marts/shop/order_lines:referential_integrity"]
    assert integrity.passed and integrity.metadata["order_lines"].value == expected_lines


def test_referential_integrity_fails_when_a_product_is_missing(sandbox):
    defs = definitions_for(sandbox)
    instance = dg.DagsterInstance.ephemeral()  # the mart's run sees the staging days of the first
    assert materialize(defs, SHOP_STREAMS, partition_key=DAY, instance=instance).success
    import duckdb

    with duckdb.connect(sandbox.duckdb_path) as conn:
        sku = conn.execute("SELECT line_items[1].sku FROM shop.orders LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM shop.products WHERE sku = ?", [sku])
    result = materialize(
        defs, ["marts/shop/order_lines"], partition_key=DAY, raise_on_error=False, instance=instance
    )
    integrity = check_results(result)["marts/shop/order_lines:referential_integrity"]
    assert not integrity.passed
    assert integrity.metadata["lines_without_product"].value > 0


def test_a_mart_whose_upstream_day_is_missing_says_which_asset_and_day(sandbox):
    defs = definitions_for(sandbox)
    instance = dg.DagsterInstance.ephemeral()
    stage = [
        "raw/shop/orders_landed",
        "staging/shop/orders",
        "raw/shop/products_landed",
        "staging/shop/products",
    ]
    assert materialize(defs, stage, partition_key=DAY, instance=instance).success  # no users yet
    result = materialize(
        defs, ["marts/shop/order_lines"], partition_key="2026-11-02", raise_on_error=False, instance=instance
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
    assert "marts/shop/order_lines for 2026-11-02 needs what is not there yet" in failure
    assert "staging/shop/orders is not materialized for 2026-11-02" in failure
    assert "staging/shop/users has no materialized day up to 2026-11-02" in failure
    assert "staging/shop/products" not in failure  # a snapshot of an earlier day will do
    assert "(+marts/shop/order_lines)" in failure
