"""The Postgres IO manager (there is no maintained one: dagster-postgres is instance storage only),
built the same way as the DuckDB one on `WarehouseDbClient` and the shared handlers. See
`warehouses/postgres` for the transaction, the advisory lock and COPY."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbIOManager
from pydantic import Field

from plumbing_dagster.io_managers.db_client import WarehouseDbClient
from plumbing_dagster.io_managers.handlers import type_handlers
from plumbing_dagster.warehouses.postgres import PostgresWarehouse, database_name


class WarehousePostgresIOManager(dg.ConfigurableIOManagerFactory):
    url: str = Field(
        description="libpq URL of the warehouse database; pass a dg.EnvVar, it holds a password."
    )
    schema_: str | None = Field(
        default=None, alias="schema", description="Schema for tables without one of their own."
    )
    lock_timeout_seconds: float = Field(
        default=60, description="Longest wait for the per-table write lock or any other lock, in seconds."
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> DbIOManager:
        warehouse = PostgresWarehouse(self.url, self.lock_timeout_seconds)
        return DbIOManager(
            db_client=WarehouseDbClient(warehouse),
            database=database_name(warehouse.url),
            schema=self.schema_,
            type_handlers=type_handlers(),
            default_load_type=pa.Table,
            io_manager_name="WarehousePostgresIOManager",
        )
