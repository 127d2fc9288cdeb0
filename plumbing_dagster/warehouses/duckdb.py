"""DuckDB as a warehouse: one file, one writing process at a time (the `duckdb_writer` pool)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from plumbing_dagster.tables import qualified, quote
from plumbing_dagster.warehouses import duckdb_staging
from plumbing_dagster.warehouses.base import Warehouse, WarehouseSession
from plumbing_dagster.warehouses.landed import DayCounts, LandedRows

if TYPE_CHECKING:
    import duckdb

LOCK_RETRY_SECONDS = (0.2, 0.5, 1, 2, 4, 8, 15)


@contextmanager
def connect_duckdb(path: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection that is always closed, retried while another process holds the file.

    Hand-written because dagster-duckdb's `connect` (and `DuckDBResource.get_connection`) close
    the connection only on success: after a failed write the file stays locked in the process.
    """
    import duckdb  # only in processes that use DuckDB: see plumbing_dagster.exit

    for wait in (*LOCK_RETRY_SECONDS, None):
        try:
            conn = duckdb.connect(path, read_only=read_only, config={"custom_user_agent": "dagster"})
            break
        except duckdb.IOException:  # another process holds the write lock
            if wait is None:
                raise
            time.sleep(wait)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn
    finally:
        conn.close()


class DuckDBSession(WarehouseSession):
    def __init__(self, conn: duckdb.DuckDBPyConnection, location: str = ""):
        self.conn = conn
        self.location = location

    def execute(self, statement: str) -> None:
        self.conn.execute(statement)

    def read(self, statement: str) -> pa.Table:
        return self.conn.sql(statement).to_arrow_table()

    def columns(self, schema: str, table: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        return dict(rows)

    def ensure_schema(self, schema: str) -> None:
        self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def write(self, schema: str, table: str, data: pa.Table) -> None:
        target = qualified(schema, table)
        view = f"_plumbing_incoming_{table}"
        self.conn.register(view, data)
        try:
            incoming = {
                row[0]: row[1]
                for row in self.conn.execute(f"DESCRIBE SELECT * FROM {quote(view)}").fetchall()
            }
            existing = self.columns(schema, table)
            if not existing:
                self.conn.execute(f"CREATE TABLE {target} AS SELECT * FROM {quote(view)} LIMIT 0")
            for name, column_type in incoming.items():
                if existing and name not in existing:
                    self.conn.execute(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {column_type}")
            if data.num_rows:
                self.conn.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {quote(view)}")
        finally:
            self.conn.unregister(view)

    def replace_view(self, schema: str, view: str, body: str) -> None:
        self.conn.execute(f"CREATE OR REPLACE VIEW {qualified(schema, view)} AS {body}")

    def stage(self, schema: str, table: str, landed: LandedRows) -> dict[date, DayCounts]:
        return duckdb_staging.stage(self, schema, table, landed)


class DuckDBWarehouse(Warehouse):
    name = "duckdb"
    write_pool = "duckdb_writer"

    def __init__(self, path: str):
        self.path = path

    @staticmethod
    def io_manager(setting: Any) -> Any:
        from plumbing_dagster.io_managers.duckdb import WarehouseDuckDBIOManager

        return WarehouseDuckDBIOManager(database=setting)

    def location(self) -> str:
        return self.path

    @contextmanager
    def session(self) -> Iterator[DuckDBSession]:
        with connect_duckdb(self.path) as conn:
            yield DuckDBSession(conn, self.path)

    @contextmanager
    def transaction(self, lock: str) -> Iterator[DuckDBSession]:
        # The file's own write lock serialises writers (one process at a time), so `lock` is moot.
        with connect_duckdb(self.path) as conn:
            conn.begin()
            try:
                yield DuckDBSession(conn, self.path)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
