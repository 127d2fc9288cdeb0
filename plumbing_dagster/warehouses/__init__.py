"""Warehouses behind one interface (`base.Warehouse`), chosen per stream by name."""

from plumbing_dagster.warehouses.base import Warehouse, WarehouseSession, current_view_sql
from plumbing_dagster.warehouses.duckdb import DuckDBWarehouse
from plumbing_dagster.warehouses.postgres import PostgresWarehouse

# Warehouse name (as `dag/streams` spells it) -> its class, built from its one setting (path or URL).
WAREHOUSES: dict[str, type[Warehouse]] = {w.name: w for w in (DuckDBWarehouse, PostgresWarehouse)}

__all__ = ["WAREHOUSES", "Warehouse", "WarehouseSession", "current_view_sql"]
