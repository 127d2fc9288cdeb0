"""Odoo (seed 004): ERP models as streams, through Odoo's external APIs — JSON-2
(`/json/2/<model>/<method>`, Odoo 19+) or JSON-RPC (`/jsonrpc`, every version until Odoo 22), as
`ODOO_PROTOCOL` says (`auto`: JSON-2 from Odoo 19 on). Both land identical records.

Streams: `sale_orders` (`sale.order`) and `sale_order_lines` (`sale.order.line`), incremental by
day of `write_date`; any other model is one `dag/streams/odoo/<stream>.json` naming it in
`options.model` (then `plumbing discover odoo <stream>`). Deletes leave no trace in Odoo, so each
endpoint also gives the ids that exist now (`Endpoint.ids`), for the daily key snapshot.

Settling delay: Odoo stamps `write_date` with the *start* of the transaction that wrote the row,
while other readers see the row only once it commits. A transaction still running at midnight
writes yesterday's `write_date` into rows that appear later. The daily schedule therefore reads
yesterday only `SETTLING_DELAY` after midnight UTC (change it here; longer transactions than that
are caught when the day is run again). `client.py` holds the client, `columns.py` how Odoo values
become columns, `endpoints.py` the streams, `emulator/` the local Odoo for the sandbox and tests.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from plumbing_dagster.kit import Vendor, lazy_exports
from plumbing_dagster.sources.odoo.client import OdooClient, connect
from plumbing_dagster.sources.odoo.connection import OdooConnection
from plumbing_dagster.sources.odoo.endpoints import ENDPOINTS, generic_endpoint

if TYPE_CHECKING:
    from plumbing_dagster.sources.odoo.emulator import OdooEmulator, OdooWorld

# The emulator is imported when used (sandbox runs, tests), not with the code location.
__getattr__ = lazy_exports(__name__, {"OdooEmulator": ".emulator", "OdooWorld": ".emulator"})

SETTLING_DELAY = timedelta(hours=2)


def sandbox_emulator() -> OdooEmulator:
    """Odoo 19 (both protocols) over a world that grows with the real clock."""
    from plumbing_dagster.sources.odoo.emulator import OdooEmulator

    return OdooEmulator()


def sandbox_connection(url: str) -> OdooConnection:
    from plumbing_dagster.sources.odoo.emulator.app import SANDBOX_API_KEY, SANDBOX_DATABASE, SANDBOX_LOGIN

    return OdooConnection(
        base_url=url, database=SANDBOX_DATABASE, api_key=SANDBOX_API_KEY, login=SANDBOX_LOGIN
    )


VENDOR = Vendor(
    name="odoo",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connection=OdooConnection,
    connect=connect,
    emulator=sandbox_emulator,
    sandbox_connection=sandbox_connection,
    description="Odoo ERP over JSON-2 or JSON-RPC (seed 004).",
    schedule_at=(datetime.min + SETTLING_DELAY).time(),
    generic=generic_endpoint,
)

__all__ = ["ENDPOINTS", "SETTLING_DELAY", "VENDOR", "OdooClient", "OdooEmulator", "OdooWorld", "connect"]
