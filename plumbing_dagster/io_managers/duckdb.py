"""The DuckDB IO manager: dagster-duckdb's configuration (`database`, `schema`) with our client and
handlers — one transaction per output, inserts by column name, new columns added, `__rejected`
and `__current` kept, `dagster/column_schema` and `dagster/row_count` reported."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler
from dagster_duckdb.io_manager import DuckDBIOManager

from plumbing_dagster.io_managers.db_client import WarehouseDbClient
from plumbing_dagster.io_managers.handlers import type_handlers
from plumbing_dagster.warehouses.duckdb import DuckDBWarehouse


class WarehouseDuckDBIOManager(DuckDBIOManager):
    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return type_handlers()

    @staticmethod
    def default_load_type() -> type | None:
        return pa.Table

    def create_io_manager(self, context: dg.InitResourceContext) -> DbIOManager:
        return DbIOManager(
            db_client=WarehouseDbClient(DuckDBWarehouse(self.database)),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="WarehouseDuckDBIOManager",
        )
