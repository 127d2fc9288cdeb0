"""The sessions of a Postgres warehouse: the write transaction (psycopg, COPY, staging) and
ADBC reads. Imported when a session opens, so loading the code location never imports psycopg."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import psycopg.errors
import pyarrow as pa

from plumbing_dagster.tables import qualified, quote
from plumbing_dagster.warehouses.base import WarehouseSession
from plumbing_dagster.warehouses.landed import DayCounts, LandedRows
from plumbing_dagster.warehouses.postgres import staging
from plumbing_dagster.warehouses.postgres.connection import PostgresLockTimeout
from plumbing_dagster.warehouses.postgres.copy import copy_rows, postgres_type

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


def begin(pg: psycopg.Connection, lock: str, lock_timeout_ms: int, location: str) -> None:
    """Start the write transaction: its settings, then the table's advisory lock."""
    # SET LOCAL: both settings end with the transaction. TimeZone=UTC is what COPY relies on
    # to read the zone-less timestamps `copy.py` sends into timestamptz columns.
    pg.execute(
        "SELECT set_config('lock_timeout', %s, true), set_config('TimeZone', 'UTC', true)",
        [f"{lock_timeout_ms}ms"],
    )
    try:
        pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock])
    except psycopg.errors.LockNotAvailable:
        raise PostgresLockTimeout(
            f"waited more than {lock_timeout_ms / 1000:g} s for the write lock on "
            f"{lock} at {location}: another run is writing this table"
        ) from None
