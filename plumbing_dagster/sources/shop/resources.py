"""The streams the shop API offers: one `Endpoint` per stream, turned into dlt resources by
`dlt_source.build_dlt_source`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.sources.shop.client import ShopClient
from plumbing_dagster.sources.vendor import Endpoint, Page, Window


def _fetch_orders(client: ShopClient, window: Window | None) -> Iterator[Page]:
    # The API filters on updated_at itself, so the partition window goes straight into the query.
    return client.iter_orders(window)


def _fetch_orders_arrow(
    client: ShopClient, window: Window | None, fields: Mapping[str, FieldSpec]
) -> Iterator[Page | pa.Table]:
    # Orders are the big stream: pages go straight into Arrow (see ArrowPageParser).
    return client.iter_orders(window, arrow_fields=fields)


def _fetch_users(client: ShopClient, window: Window | None) -> Iterator[Page]:
    # No updated-since filter for users: every run takes the whole (small) table as a snapshot.
    return client.iter_users()


def _fetch_products(client: ShopClient, window: Window | None) -> Iterator[Page]:
    return client.iter_products()


ENDPOINTS: dict[str, Endpoint] = {
    "orders": Endpoint(
        name="orders",
        fetch=_fetch_orders,
        fetch_arrow=_fetch_orders_arrow,
        primary_key=("id",),
        cursor_field="updated_at",
        sync_modes=("incremental",),
        destination_sync_modes=("append", "merge"),
        description=(
            "Orders with their line items, extracted by the day their updated_at falls on; "
            "an order appears again on every day it changes."
        ),
    ),
    "users": Endpoint(
        name="users",
        fetch=_fetch_users,
        primary_key=("id",),
        cursor_field="updated_at",
        sync_modes=("full_refresh",),
        destination_sync_modes=("append", "merge"),
        description="Customers who placed orders: name, email and country (a full snapshot).",
    ),
    "products": Endpoint(
        name="products",
        fetch=_fetch_products,
        primary_key=("sku",),
        cursor_field="updated_at",
        sync_modes=("full_refresh",),
        destination_sync_modes=("append", "merge"),
        description="The product catalogue by SKU: name, category and price (a full snapshot).",
    ),
}
