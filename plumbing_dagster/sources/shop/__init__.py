"""Shop: our own order API (seed 001).

Streams: `orders` (incremental on `updated_at`; the API filters a half-open window
`[updated_from, updated_to)` and pages with an opaque cursor), and `users` and `products` (small
tables taken whole on every run, paged by number). Orders reference users by `user_id` and products
by line-item `sku`, which staging checks.

Auth is an API key sent as `Authorization: Bearer <key>` (`SHOP_API_KEY`). `ShopEmulator` serves the
same API, deterministically, for the sandbox and the tests.
"""

from __future__ import annotations

from datetime import date

from plumbing_dagster.sources.shop.client import ShopClient
from plumbing_dagster.sources.shop.emulator import ShopEmulator
from plumbing_dagster.sources.shop.resources import ENDPOINTS
from plumbing_dagster.sources.vendor import Connection, Vendor

SANDBOX_API_KEY = "sandbox-shop-key"  # only the local emulator accepts it

VENDOR = Vendor(
    name="shop",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connect=lambda connection: ShopClient(connection),
    make_emulator=ShopEmulator,
    sandbox_connection=lambda url: Connection(base_url=url, api_key=SANDBOX_API_KEY),
    prod_env={"base_url": "SHOP_API_URL", "api_key": "SHOP_API_KEY"},
)

__all__ = ["ENDPOINTS", "VENDOR", "ShopClient", "ShopEmulator"]
