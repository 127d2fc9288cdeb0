"""Shop: our own order API (seed 001).

Streams: `orders` (incremental on `updated_at`; the API filters a half-open window
`[updated_from, updated_to)` and pages with an opaque cursor), and `users` and `products` (small
tables read whole on every run, paged by number). Orders reference users by `user_id` and products
by line-item `sku`; the `order_lines` mart joins them.

Auth is an API key sent as `Authorization: Bearer <key>` (`SHOP_API_KEY`). `ShopEmulator` serves the
same API, deterministically, for the sandbox and the tests.
"""

from datetime import date

from plumbing_dagster.kit import Vendor
from plumbing_dagster.sources.shop.connection import ShopConnection
from plumbing_dagster.sources.shop.emulator import ShopEmulator, ShopWorld
from plumbing_dagster.sources.shop.emulator.app import SANDBOX_API_KEY
from plumbing_dagster.sources.shop.endpoints import ENDPOINTS, connect
from plumbing_dagster.sources.shop.marts import MARTS

VENDOR = Vendor(
    name="shop",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connection=ShopConnection,
    connect=connect,
    emulator=ShopEmulator,
    sandbox_connection=lambda url: ShopConnection(base_url=url, api_key=SANDBOX_API_KEY),
    marts=MARTS,
    description="Our order API (seed 001).",
)

__all__ = ["ENDPOINTS", "VENDOR", "ShopEmulator", "ShopWorld"]
