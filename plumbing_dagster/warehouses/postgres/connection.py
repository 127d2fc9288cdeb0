"""Reaching Postgres: libpq URLs, psycopg connections for writes, ADBC for Arrow reads, and
messages that name `host:port/db` but never the user's password."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import psycopg

DEFAULT_CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "plumbing-dagster"


class PostgresConnectionError(ConnectionError):
    """Postgres could not be reached; the message names host:port/db, never credentials."""


class PostgresLockTimeout(TimeoutError):
    """Another run held the write lock of the table for longer than `lock_timeout_seconds`."""


def _conninfo(url: str) -> dict[str, Any]:
    # psycopg is imported where a URL is used, not with the code location (~0.1 s).
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        # The parser's message may quote the URL, password included.
        raise ValueError("the Postgres URL is not a valid libpq URL or connection string") from None


def pg_connect_info_safe(url: str) -> str:
    """`host:port/db` of a libpq URL, without user or password, for messages."""
    info = _conninfo(url)
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = info.get("port") or "5432"
    database = info.get("dbname") or info.get("user") or "postgres"
    return f"{host}:{port}/{database}"


def database_name(url: str) -> str:
    info = _conninfo(url)
    return str(info.get("dbname") or info.get("user") or "postgres")


def _scrub(message: str, url: str) -> str:
    info = _conninfo(url)
    message = message.replace(url, pg_connect_info_safe(url))
    password = info.get("password")
    if password:
        message = message.replace(str(password), "***")
    return message


def connect_psycopg(url: str) -> psycopg.Connection:
    import psycopg

    options: dict[str, Any] = {"autocommit": False, "client_encoding": "utf8"}
    info = _conninfo(url)
    if "connect_timeout" not in info:
        options["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT_SECONDS
    if "application_name" not in info:
        options["application_name"] = APPLICATION_NAME
    try:
        conn = psycopg.connect(url, **options)
    except psycopg.OperationalError as error:
        raise PostgresConnectionError(
            f"could not connect to Postgres at {pg_connect_info_safe(url)}: {_scrub(str(error), url).strip()}"
        ) from None
    # New statements must see tables committed by a writer we waited for on the advisory lock.
    conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
    return conn


@contextmanager
def connect_adbc(url: str) -> Iterator[Any]:
    # Imported on use: ADBC loads pyarrow.dataset (~1 s), which a code location pays only when it reads.
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc_pg

    _conninfo(url)
    try:
        conn = adbc_pg.connect(url)
    except adbc_driver_manager.Error as error:
        raise PostgresConnectionError(
            f"could not connect to Postgres at {pg_connect_info_safe(url)}: {_scrub(str(error), url).strip()}"
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def query_arrow(url: str, statement: str, params: Sequence[Any] | None = None) -> pa.Table:
    """Run one read-only statement (placeholders `$1`, `$2`, ...) and return the result as Arrow.

    Reads through ADBC (binary COPY to Arrow). The session runs in UTC, as the DuckDB side does,
    so casts of timestamptz to date or text give UTC days.
    """
    with connect_adbc(url) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SET TimeZone = 'UTC'")
            if params is None:
                cursor.execute(statement)
            else:
                cursor.execute(statement, list(params))
            table = cursor.fetch_arrow_table()
        conn.rollback()
    return table
