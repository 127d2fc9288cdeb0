"""The `DbClient` both warehouse IO managers use: every output in one write transaction.

`DbIOManager.handle_output` runs connect -> ensure_schema_exists -> delete_table_slice -> type
handler inside one `connect` context; here that context is the warehouse's transaction, so the
delete and the insert commit together or not at all (stock dagster-duckdb runs in autocommit and
a failing re-run leaves the partition empty). Built on dagster's private `db_io_manager` module like
dagster-duckdb: the dagster minor version is pinned and
`plumbing_dagster_tests/io_managers/test_db_io_manager_contract.py` breaks if it changes shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.storage.db_io_manager import DbClient, TableSlice

from plumbing_dagster.io_managers.sql import delete_statement, select_statement
from plumbing_dagster.warehouses.base import Warehouse, WarehouseSession


class WarehouseDbClient(DbClient):
    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse

    @contextmanager
    def connect(
        self, context: dg.OutputContext | dg.InputContext, table_slice: TableSlice
    ) -> Iterator[WarehouseSession]:
        if not isinstance(context, dg.OutputContext):
            with self.warehouse.session() as session:
                yield session
            return
        with self.warehouse.transaction(lock=f"{table_slice.schema}.{table_slice.table}") as session:
            yield session

    @staticmethod
    def ensure_schema_exists(
        context: dg.OutputContext, table_slice: TableSlice, connection: WarehouseSession
    ) -> None:
        connection.ensure_schema(table_slice.schema)

    @staticmethod
    def delete_table_slice(
        context: dg.OutputContext, table_slice: TableSlice, connection: WarehouseSession
    ) -> None:
        # Checking first: a failing DELETE on a missing table would abort the open transaction.
        if connection.table_exists(table_slice.schema, table_slice.table):
            connection.execute(delete_statement(table_slice))

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        return select_statement(table_slice)

    @staticmethod
    def get_table_name(table_slice: TableSlice) -> str:
        # `schema.table`, as one queries it; the database file or server is `plumbing/warehouse`.
        return f"{table_slice.schema}.{table_slice.table}"
