"""The shop mart of seed 001: order lines (orders x line items) enriched with users and products.

A star-schema fact table at line grain: one row per order line of the day's orders, with the
user and product dimensions joined in from their current snapshots. DuckDB SQL (unnest of the
line-item list), so it runs where the shop's staging tables live.
"""

from plumbing_dagster.kit import Mart, MartCheck, MartQuery
from plumbing_dagster.tables import PARTITION_COLUMN, quote


def _order_lines(q: MartQuery) -> str:
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
        FROM {q.stream("orders")} AS o,
             (SELECT unnest(o.line_items) AS line, generate_subscripts(o.line_items, 1) AS line_number) AS li
        LEFT JOIN {q.current("users")} AS u ON u.id = o.user_id
        LEFT JOIN {q.current("products")} AS p ON p.sku = li.line.sku
        WHERE {q.in_window("o")}
        ORDER BY o.id, li.line_number"""


def _integrity(q: MartQuery) -> str:
    return f"""SELECT count(*) AS order_lines,
                      count(*) FILTER (WHERE NOT user_found) AS lines_without_user,
                      count(*) FILTER (WHERE NOT product_found) AS lines_without_product
               FROM {q.mart("order_lines")} WHERE {q.in_window()}"""


MARTS = (
    Mart(
        name="order_lines",
        reads=("orders", "users", "products"),
        warehouse="duckdb",
        sql=_order_lines,
        description="Order lines of the day's orders with user and product attributes (star schema).",
        checks=(
            MartCheck(
                name="referential_integrity",
                description="Every order line's user and product exist in the users and products snapshots.",
                sql=_integrity,
                passed=lambda c: c["lines_without_user"] == 0 and c["lines_without_product"] == 0,
            ),
        ),
    ),
)
