"""Jortt (seed 000): Dutch bookkeeping and invoicing, `https://api.jortt.nl`.

Streams: customers and the organization (snapshots), invoices (by `created_at`), projects (by
`updated_at`) and project line items (by their `date`). Auth is OAuth 2.0 client credentials
(`JORTT_CLIENT_ID`, `JORTT_CLIENT_SECRET`). `endpoints.py` holds the client and how a window
becomes API calls, `emulator/` the local stand-in used by the sandbox and the tests.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from plumbing_dagster.kit import Vendor, lazy_exports
from plumbing_dagster.sources.jortt.connection import JorttConnection
from plumbing_dagster.sources.jortt.endpoints import ENDPOINTS, TOKEN_PATH, connect

if TYPE_CHECKING:
    from plumbing_dagster.sources.jortt.emulator import JorttEmulator, JorttWorld

# The emulator is imported when used (sandbox runs, tests), not with the code location.
__getattr__ = lazy_exports(__name__, {"JorttEmulator": ".emulator", "JorttWorld": ".emulator"})

SANDBOX_CLIENT_ID = "sandbox-jortt-client"
SANDBOX_CLIENT_SECRET = "sandbox-jortt-secret"  # only ever accepted by the local emulator


def sandbox_emulator() -> JorttEmulator:
    """The sandbox serves a year of history, unthrottled so a backfill is quick; Jortt's 10
    requests/s limit (429 request.throttled) is exercised in the source's tests."""
    from plumbing_dagster.sources.jortt.emulator import JorttEmulator

    return JorttEmulator(rate_limit=None)


def sandbox_connection(url: str) -> JorttConnection:
    return JorttConnection(
        base_url=url,
        token_url=f"{url}{TOKEN_PATH}",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
    )


VENDOR = Vendor(
    name="jortt",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connection=JorttConnection,
    connect=connect,
    emulator=sandbox_emulator,
    sandbox_connection=sandbox_connection,
    description="Jortt bookkeeping and invoicing (seed 000).",
)

__all__ = ["ENDPOINTS", "VENDOR", "JorttEmulator", "JorttWorld", "connect"]
