"""Jortt (seed 000): Dutch bookkeeping and invoicing, `https://api.jortt.nl`.

Streams: customers and the organization (snapshots), invoices (by `created_at`), projects (by
`updated_at`) and project line items (by their `date`). Auth is OAuth 2.0 client credentials
(`JORTT_CLIENT_ID`, `JORTT_CLIENT_SECRET`). See `client.py` for paging, `resources.py` for how a
partition window becomes API calls, `emulator.py` for the local stand-in used by the sandbox.
"""

from __future__ import annotations

from datetime import date

from plumbing_dagster.sources.jortt.client import JorttClient
from plumbing_dagster.sources.jortt.emulator import JorttEmulator
from plumbing_dagster.sources.jortt.resources import ENDPOINTS
from plumbing_dagster.sources.vendor import Connection, Vendor

SANDBOX_CLIENT_ID = "sandbox-jortt-client"
SANDBOX_CLIENT_SECRET = "sandbox-jortt-secret"  # only ever accepted by the local emulator


def sandbox_connection(url: str) -> Connection:
    return Connection(
        base_url=url,
        token_url=f"{url}/oauth-provider/oauth/token",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
    )


VENDOR = Vendor(
    name="jortt",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connect=lambda connection: JorttClient(connection),
    # The sandbox serves a year of history, unthrottled so a backfill is quick; Jortt's
    # 10 requests/s limit (429 request.throttled) is exercised in the source's tests.
    make_emulator=lambda: JorttEmulator(rate_limit=None),
    sandbox_connection=sandbox_connection,
    prod_env={
        "base_url": "JORTT_API_URL",  # https://api.jortt.nl
        "client_id": "JORTT_CLIENT_ID",
        "client_secret": "JORTT_CLIENT_SECRET",
    },
)

__all__ = ["ENDPOINTS", "VENDOR", "JorttClient", "JorttEmulator"]
