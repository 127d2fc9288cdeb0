"""The DuckDB IO manager: dagster-duckdb's configuration (`database`, `schema`) with our client and
handlers — one transaction per output, inserts by column name, new columns added, `__rejected`
and `__current` kept, `dagster/column_schema` and `dagster/row_count` reported.

Not a subclass of dagster-duckdb's `DuckDBIOManager`: that module imports DuckDB at load, and a
process that has loaded DuckDB cannot skip the exit-time garbage pass (see `plumbing_dagster.exit`);
we used nothing of it but its two settings.
"""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbIOManager
from pydantic import Field

from plumbing_dagster.io_managers.db_client import WarehouseDbClient
from plumbing_dagster.io_managers.handlers import type_handlers
from plumbing_dagster.warehouses.duckdb import DuckDBWarehouse


class WarehouseDuckDBIOManager(dg.ConfigurableIOManagerFactory):
    database: str = Field(description="Path to the DuckDB database file.")
    schema_: str | None = Field(
        default=None, alias="schema", description="Schema for tables without one of their own."
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> DbIOManager:
        return DbIOManager(
            db_client=WarehouseDbClient(DuckDBWarehouse(self.database)),
            database=self.database,
            schema=self.schema_,
            type_handlers=type_handlers(),
            default_load_type=pa.Table,
            io_manager_name="WarehouseDuckDBIOManager",
        )
