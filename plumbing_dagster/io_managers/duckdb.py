"""DuckDB IO manager: dagster-duckdb with its known gaps fixed.

- delete + insert run in one transaction, so a failing re-run keeps the previous rows
  (stock dagster-duckdb runs in autocommit and leaves the partition empty);
- inserts go by column **name** and missing columns are added first (stock inserts by
  position: dagster #13098);
- `dagster/column_schema` and `dagster/row_count` are reported;
- `StagedTable` outputs also replace the partition in `<table>__rejected` and keep the
  `<table>__current` view up to date.

Built on dagster's private `db_io_manager` module like dagster-duckdb itself: the dagster minor
version is pinned and `plumbing_dagster_tests/io_managers/test_db_io_manager_contract.py` breaks
if that module changes shape.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient, DuckDBIOManager

from plumbing_dagster.io_managers import sql
from plumbing_dagster.io_managers.pandas import PandasViaArrowHandler
from plumbing_dagster.io_managers.staged import (
    CURRENT_SUFFIX,
    META_CURRENT_VIEW,
    META_CURSOR,
    PARTITION_COLUMN,
    REJECTED_SUFFIX,
    StagedTable,
    key_columns,
)

LOCK_RETRY_SECONDS = (0.2, 0.5, 1, 2, 4, 8, 15)


@contextmanager
def connect_duckdb(path: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection that is always closed, retried while another process holds the file.

    Hand-written because dagster-duckdb's `connect` (and `DuckDBResource.get_connection`) close
    the connection only on success: after a failed write the file stays locked in the process.
    """
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


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return found is not None


def table_columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def write_arrow(conn: duckdb.DuckDBPyConnection, schema: str, table: str, data: pa.Table) -> None:
    """Create the table if needed, add missing columns, then insert by name."""
    target = sql.qualified(schema, table)
    view = f"_plumbing_incoming_{table}"
    conn.register(view, data)
    try:
        incoming = dict(
            (row[0], row[1]) for row in conn.execute(f"DESCRIBE SELECT * FROM {sql.quote(view)}").fetchall()
        )
        if not table_exists(conn, schema, table):
            conn.execute(f"CREATE TABLE {target} AS SELECT * FROM {sql.quote(view)} LIMIT 0")
        else:
            existing = table_columns(conn, schema, table)
            for name, column_type in incoming.items():
                if name not in existing:
                    conn.execute(f"ALTER TABLE {target} ADD COLUMN {sql.quote(name)} {column_type}")
        if data.num_rows:
            conn.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {sql.quote(view)}")
    finally:
        conn.unregister(view)


def column_schema(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, column_type)
            for name, column_type in table_columns(conn, schema, table).items()
        ]
    )


def table_metadata(conn: duckdb.DuckDBPyConnection, schema: str, table: str, rows: int) -> dict[str, Any]:
    return {
        "dagster/column_schema": column_schema(conn, schema, table),
        "dagster/row_count": rows,
    }


def _current_view_sql(schema: str, table: str, keys: Sequence[str], cursor: str | None, mode: str) -> str:
    source = sql.qualified(schema, table)
    view = sql.qualified(schema, table + CURRENT_SUFFIX)
    if mode == "latest_partition":
        body = (
            f"SELECT * FROM {source} WHERE {sql.quote(PARTITION_COLUMN)} = "
            f"(SELECT max({sql.quote(PARTITION_COLUMN)}) FROM {source})"
        )
    else:
        order = f"{sql.quote(cursor)} DESC NULLS LAST, " if cursor else ""
        body = (
            f"SELECT * EXCLUDE (_plumbing_rank) FROM (SELECT *, row_number() OVER ("
            f"PARTITION BY {sql.key_list(keys)} ORDER BY {order}{sql.quote(PARTITION_COLUMN)} DESC"
            f") AS _plumbing_rank FROM {source}) WHERE _plumbing_rank = 1"
        )
    return f"CREATE OR REPLACE VIEW {view} AS {body}"


class StagedTableDuckDBHandler(DbTypeHandler[StagedTable]):
    """Writes a staged day: rows, records put aside, and the `__current` view, in the open transaction."""

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: StagedTable, connection: Any
    ) -> Mapping[str, Any]:
        schema, table = table_slice.schema, table_slice.table
        rejected_table = table + REJECTED_SUFFIX
        write_arrow(connection, schema, table, obj.rows)
        if table_exists(connection, schema, rejected_table):
            connection.execute(sql.delete_statement(table_slice, rejected_table))
        write_arrow(connection, schema, rejected_table, obj.rejected)

        metadata = context.definition_metadata or {}
        view_mode = metadata.get(META_CURRENT_VIEW)
        if view_mode:
            connection.execute(
                _current_view_sql(schema, table, key_columns(metadata), metadata.get(META_CURSOR), view_mode)
            )
        return {
            **table_metadata(connection, schema, table, obj.rows.num_rows),
            "plumbing/rejected_count": obj.rejected.num_rows,
            **obj.metadata,
        }

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> StagedTable:
        rows = connection.execute(sql.select_statement(table_slice)).to_arrow_table()
        return StagedTable(rows=rows, rejected=pa.table({}))

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [StagedTable]


class ArrowDuckDBHandler(DbTypeHandler[pa.Table]):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pa.Table, connection: Any
    ) -> Mapping[str, Any]:
        write_arrow(connection, table_slice.schema, table_slice.table, obj)
        return table_metadata(connection, table_slice.schema, table_slice.table, obj.num_rows)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pa.Table:
        return connection.execute(sql.select_statement(table_slice)).to_arrow_table()

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pa.Table]


class TransactionalDuckDbClient(DuckDbClient):
    """dagster-duckdb's client, with outputs written in one transaction and safe first deletes."""

    @staticmethod
    @contextmanager
    def connect(context: dg.OutputContext | dg.InputContext, table_slice: TableSlice) -> Iterator[Any]:
        with connect_duckdb(context.resource_config["database"]) as conn:
            if not isinstance(context, dg.OutputContext):
                yield conn
                return
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @staticmethod
    def delete_table_slice(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        # Checking first: a swallowed catalog error would abort the open transaction.
        if table_exists(connection, table_slice.schema, table_slice.table):
            connection.execute(sql.delete_statement(table_slice))

    @staticmethod
    def ensure_schema_exists(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {sql.quote(table_slice.schema)}")

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        return sql.select_statement(table_slice)


class WarehouseDuckDBIOManager(DuckDBIOManager):
    """The project's DuckDB IO manager (see module docstring)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [StagedTableDuckDBHandler(), ArrowDuckDBHandler(), PandasViaArrowHandler(ArrowDuckDBHandler())]

    @staticmethod
    def default_load_type() -> type | None:
        return pa.Table

    def create_io_manager(self, context: dg.InitResourceContext) -> DbIOManager:
        return DbIOManager(
            db_client=TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="WarehouseDuckDBIOManager",
        )
