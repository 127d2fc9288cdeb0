"""Shop: our own order API (seed 001).

Streams: `orders` (incremental on `updated_at`; the API filters a half-open window
`[updated_from, updated_to)` and pages with an opaque cursor), and `users` and `products` (small
tables read whole on every run, paged by number). Orders reference users by `user_id` and products
by line-item `sku`; the `order_lines` mart joins them.

Auth is an API key sent as `Authorization: Bearer <key>` (`SHOP_API_KEY`). `ShopEmulator` serves the
same API, deterministically, for the sandbox and the tests.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from plumbing_dagster.kit import Vendor, lazy_exports
from plumbing_dagster.sources.shop.connection import ShopConnection
from plumbing_dagster.sources.shop.endpoints import ENDPOINTS, connect
from plumbing_dagster.sources.shop.marts import MARTS

if TYPE_CHECKING:
    from plumbing_dagster.sources.shop.emulator import ShopEmulator, ShopWorld

# The emulator is imported when used (sandbox runs, tests), not with the code location.
__getattr__ = lazy_exports(__name__, {"ShopEmulator": ".emulator", "ShopWorld": ".emulator"})


def sandbox_emulator() -> ShopEmulator:
    from plumbing_dagster.sources.shop.emulator import ShopEmulator

    return ShopEmulator()


def sandbox_connection(url: str) -> ShopConnection:
    from plumbing_dagster.sources.shop.emulator.app import SANDBOX_API_KEY

    return ShopConnection(base_url=url, api_key=SANDBOX_API_KEY)


VENDOR = Vendor(
    name="shop",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connection=ShopConnection,
    connect=connect,
    emulator=sandbox_emulator,
    sandbox_connection=sandbox_connection,
    marts=MARTS,
    description="Our order API (seed 001).",
)

__all__ = ["ENDPOINTS", "VENDOR", "ShopEmulator", "ShopWorld"]
