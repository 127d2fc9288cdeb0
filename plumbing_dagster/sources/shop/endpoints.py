"""The shop's streams and its client: Bearer API key, cursor paging for orders, page numbers for
users and products.

`orders` are filtered by the API on `updated_at` (`[updated_from, updated_to)`); users and products
are small tables read whole, or kept by their own `updated_at` when a config asks for that day only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from plumbing_dagster.kit import (
    ApiClient,
    ClientFilter,
    CursorInBody,
    PageNumber,
    RestClient,
    Scrubber,
    ServerFilter,
    Window,
    bearer,
    rest_endpoint,
)
from plumbing_dagster.sources.shop.connection import ShopConnection
from plumbing_dagster.sources.shop.emulator.app import ORDERS_PATH, PRODUCTS_PATH, USERS_PATH
from plumbing_dagster.sources.shop.emulator.world import ORDERS_PAGE_MAX


def iso_utc(moment: datetime) -> str:
    """A UTC ISO 8601 string ending in `Z`, as the API expects for `updated_from`/`updated_to`."""
    timespec = "microseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def _window_params(window: Window) -> Mapping[str, str]:
    return {"updated_from": iso_utc(window.start), "updated_to": iso_utc(window.end)}


def read_error(response: httpx.Response) -> str | None:
    """`{"error": {"key": ..., "message": ...}}` as `key: message`."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return f"{error.get('key')}: {error['message']}"
    return None


def connect(settings: ShopConnection) -> RestClient:
    scrub = Scrubber(settings.secrets())
    api = ApiClient(
        "shop", settings.base_url, auth=bearer(settings.api_key, scrub), scrub=scrub, read_error=read_error
    )
    return RestClient(api)


ENDPOINTS = {
    e.name: e
    for e in (
        rest_endpoint(
            "orders",
            path=ORDERS_PATH,
            records="data",
            paging=CursorInBody(cursor_path="next_cursor", cursor_param="cursor"),
            params={"limit": ORDERS_PAGE_MAX},
            primary_key=("id",),
            cursors={"updated_at": ServerFilter()},
            window_params=_window_params,
            snapshot=False,  # every order ever, every day: not what anyone wants from this API
            description="Orders with their line items, by day of last update.",
        ),
        rest_endpoint(
            "users",
            path=USERS_PATH,
            records="data",
            paging=PageNumber(size=100, total_path="total", served_size_path="per_page"),
            primary_key=("id",),
            cursors={"updated_at": ClientFilter()},
            description="Customers; a snapshot of every user each day.",
        ),
        rest_endpoint(
            "products",
            path=PRODUCTS_PATH,
            records="data",
            paging=PageNumber(size=50, total_path="total", served_size_path="per_page"),
            primary_key=("sku",),
            cursors={"updated_at": ClientFilter()},
            description="The product catalogue; a snapshot each day.",
        ),
    )
}
