"""The shop mart of seed 001: order lines (orders x line items) enriched with users and products.

A star-schema fact table at line grain: one row per order line of the day's orders, with the
user and product dimensions joined in from their current snapshots. Computed in DuckDB, where
the staging tables live, and written back through the DuckDB IO manager.
"""

import dagster as dg
import pyarrow as pa
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from plumbing_dagster.io_managers.sql import qualified, quote
from plumbing_dagster.io_managers.staged import CURRENT_SUFFIX, PARTITION_COLUMN
from plumbing_dagster.partitions import BACKFILL_POLICY
from plumbing_dagster.resources import WarehouseResource
from plumbing_dagster.sources.vendor import Window
from plumbing_dagster.staging.assets import DUCKDB_WRITER_POOL, io_manager_key, staging_key
from plumbing_dagster.staging.checks import window_filter

ORDER_LINES_KEY = dg.AssetKey(["marts", "shop", "order_lines"])
MART_SCHEMA = "shop_marts"
REQUIRED_STREAMS = ("orders", "users", "products")


def _order_lines_sql(where: str) -> str:
    orders = qualified("shop", "orders")
    users = qualified("shop", "users" + CURRENT_SUFFIX)
    products = qualified("shop", "products" + CURRENT_SUFFIX)
    return f"""
        SELECT o.id AS order_id,
               li.line.sku AS sku,
               li.line_number,
               li.line.quantity AS quantity,
               li.line.unit_price AS unit_price,
               round(li.line.quantity * li.line.unit_price, 2) AS line_amount,
               o.status, o.currency, o.created_at AS order_created_at, o.updated_at AS order_updated_at,
               o.user_id, u.name AS user_name, u.country AS user_country,
               p.name AS product_name, p.category AS product_category,
               u.id IS NOT NULL AS user_found, p.sku IS NOT NULL AS product_found,
               o.{quote(PARTITION_COLUMN)}
        FROM {orders} AS o,
             (SELECT unnest(o.line_items) AS line, generate_subscripts(o.line_items, 1) AS line_number) AS li
        LEFT JOIN {users} AS u ON u.id = o.user_id
        LEFT JOIN {products} AS p ON p.sku = li.line.sku
        WHERE {where}
        ORDER BY o.id, li.line_number"""


def build_shop_marts(
    partitions_def: dg.PartitionsDefinition,
) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    @dg.asset(
        key=ORDER_LINES_KEY,
        deps=[staging_key("shop", s) for s in REQUIRED_STREAMS],
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        io_manager_key=io_manager_key("duckdb"),
        group_name="shop",
        kinds={"duckdb"},
        owners=["team:analytics"],
        pool=DUCKDB_WRITER_POOL,
        metadata={"partition_expr": PARTITION_COLUMN, "schema": MART_SCHEMA},
        description="Order lines of the day's orders with user and product attributes (star schema).",
    )
    def order_lines(context: AssetExecutionContext, warehouse_reader: WarehouseResource) -> pa.Table:
        window = context.partition_time_window
        days = Window(window.start, window.end).days()
        return warehouse_reader.query("duckdb", _order_lines_sql(window_filter(days, table_alias="o")))

    @dg.asset_check(
        asset=ORDER_LINES_KEY,
        name="referential_integrity",
        blocking=True,
        partitions_def=partitions_def,
        description="Every order line's user and product exist in the users and products snapshots.",
    )
    def referential_integrity(
        context: AssetCheckExecutionContext, warehouse_reader: WarehouseResource
    ) -> dg.AssetCheckResult:
        window = context.partition_time_window
        where = window_filter(Window(window.start, window.end).days())
        counts = warehouse_reader.rows(
            "duckdb",
            f"""SELECT count(*) AS order_lines,
                       count(*) FILTER (WHERE NOT user_found) AS lines_without_user,
                       count(*) FILTER (WHERE NOT product_found) AS lines_without_product
                FROM {qualified(MART_SCHEMA, "order_lines")} WHERE {where}""",
        )[0]
        counts = {k: int(v) for k, v in counts.items()}
        return dg.AssetCheckResult(
            passed=counts["lines_without_user"] == 0 and counts["lines_without_product"] == 0,
            metadata=counts,
        )

    return [order_lines], [referential_integrity]
