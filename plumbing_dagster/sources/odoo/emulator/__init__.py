"""The Odoo emulator: Odoo's external APIs, JSON-RPC and JSON-2 (`app`), over deterministic sales
data (`world`, planned by `catalogue` and `orders`, served by `database` with `domain` and
`ordering`)."""

from plumbing_dagster.sources.odoo.emulator.app import OdooEmulator
from plumbing_dagster.sources.odoo.emulator.world import OdooWorld

__all__ = ["OdooEmulator", "OdooWorld"]
