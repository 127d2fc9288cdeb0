"""Postgres IO manager on dagster's `DbIOManager` machinery, mirroring `io_managers/duckdb.py`.

There is no maintained Postgres IO manager (dagster-postgres is instance storage only), so this
one is built on dagster's private `db_io_manager` module like dagster-duckdb: the dagster minor
version is pinned and `plumbing_dagster_tests/io_managers/test_db_io_manager_contract.py` breaks
if that module changes shape.

- An output is written in ONE transaction: schema, delete of the slice, create/alter table, COPY,
  `__rejected`, `__current` view. It is committed at the end and rolled back on any error, so a
  failing re-run leaves the previous rows of its partition in place and readers never see a
  half-written partition.
- The transaction starts with `pg_advisory_xact_lock(hashtext('<schema>.<table>'))`: writers of
  the same table are serialised (held until commit), which is what we want. Parallel partition
  runs would otherwise race on CREATE TABLE / ALTER TABLE / DELETE. `lock_timeout_seconds` bounds
  the wait for that lock and every other lock of the transaction.
- Rows are loaded with `COPY <table> (<columns>) FROM STDIN (FORMAT CSV)` directly into the
  target, by column name, the CSV encoded chunk by chunk by pyarrow's C++ writer while the
  server parses the previous chunk. Measured here for 1M rows x 8 columns: 0.9-1.1x the time of
  `psql \\copy` (`plumbing_dagster_tests/benchmarks/postgres_load.py`). ADBC `adbc_ingest` is
  about as fast but runs on its own connection, outside the transaction that deleted the slice;
  INSERT ... VALUES and pandas.to_sql are 40-160x slower.
- Columns missing from the table are added (old rows NULL); column order in the data does not
  matter. Nested (list/struct/map) columns are stored as jsonb.
- The URL never reaches logs, metadata or errors: messages name `host:port/db` only
  (`pg_connect_info_safe`) and connection errors have the password scrubbed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_pg
import dagster as dg
import psycopg
import psycopg.errors
import pyarrow as pa
import pyarrow.csv as pa_csv
from dagster._core.definitions.metadata.metadata_set import TableMetadataSet
from dagster._core.storage.db_io_manager import DbClient, DbIOManager, DbTypeHandler, TableSlice
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field

from plumbing_dagster.io_managers import sql
from plumbing_dagster.io_managers.pandas import PandasViaArrowHandler
from plumbing_dagster.io_managers.staged import (
    CURRENT_SUFFIX,
    META_CURRENT_VIEW,
    META_CURSOR,
    META_PRIMARY_KEY,
    PARTITION_COLUMN,
    REJECTED_SUFFIX,
    StagedTable,
    key_columns,
)
from plumbing_dagster.sources.arrow import is_nested_type

# Rows per CSV chunk (~1.5 MB here): the server parses one while the next is encoded.
COPY_CHUNK_ROWS = 16_384
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "plumbing-dagster"


class PostgresConnectionError(ConnectionError):
    """Postgres could not be reached; the message names host:port/db, never credentials."""


class PostgresLockTimeout(TimeoutError):
    """Another run held the write lock of the table for longer than `lock_timeout_seconds`."""


# --- connection info -----------------------------------------------------------------------


def _conninfo(url: str) -> dict[str, Any]:
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


def _connect_psycopg(url: str) -> psycopg.Connection:
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
def _connect_adbc(url: str) -> Iterator[Any]:
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
    with _connect_adbc(url) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SET TimeZone = 'UTC'")
            if params is None:
                cursor.execute(statement)
            else:
                cursor.execute(statement, list(params))
            table = cursor.fetch_arrow_table()
        conn.rollback()
    return table


# --- Arrow -> Postgres ---------------------------------------------------------------------


def postgres_type(arrow_type: pa.DataType) -> str:
    """The column type a new Arrow column gets in Postgres."""
    if isinstance(arrow_type, pa.ExtensionType):
        return postgres_type(arrow_type.storage_type)
    if pa.types.is_dictionary(arrow_type):
        return postgres_type(arrow_type.value_type)
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type):
        return "smallint"
    if pa.types.is_uint8(arrow_type):
        return "smallint"
    if pa.types.is_int32(arrow_type) or pa.types.is_uint16(arrow_type):
        return "integer"
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return "bigint"
    if pa.types.is_uint64(arrow_type) or pa.types.is_decimal(arrow_type):
        # Unconstrained: a later run with a wider decimal must not overflow the column.
        return "numeric"
    if pa.types.is_float16(arrow_type) or pa.types.is_float32(arrow_type):
        return "real"
    if pa.types.is_float64(arrow_type):
        return "double precision"
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
        or pa.types.is_null(arrow_type)
    ):
        return "text"
    if (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_binary_view(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    ):
        return "bytea"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_time(arrow_type):
        return "time"
    if is_nested_type(arrow_type):
        return "jsonb"
    raise TypeError(f"no Postgres column type for Arrow type {arrow_type}")


def _json_text(array: pa.ChunkedArray) -> pa.Array:
    values = array.to_pylist()
    return pa.array(
        [None if v is None else json.dumps(v, default=str, ensure_ascii=False) for v in values],
        pa.string(),
    )


def _bytea_text(array: pa.ChunkedArray) -> pa.Array:
    values = array.to_pylist()
    return pa.array([None if v is None else "\\x" + v.hex() for v in values], pa.string())


def _copyable_column(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """The column as pyarrow's CSV writer renders it the way Postgres' COPY parses it."""
    arrow_type = column.type
    if isinstance(arrow_type, pa.ExtensionType):
        storage = [chunk.storage for chunk in column.chunks]
        column = pa.chunked_array(storage, arrow_type.storage_type)
        arrow_type = column.type
    if pa.types.is_dictionary(arrow_type):
        column = column.cast(arrow_type.value_type)
        arrow_type = column.type
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz:
        # Same UTC instants without the zone: formatting zoned timestamps is ~7x slower, and the
        # write transaction runs with TimeZone=UTC so Postgres reads them back as UTC.
        return column.cast(pa.timestamp(arrow_type.unit))
    if pa.types.is_date64(arrow_type):
        return column.cast(pa.date32())
    if pa.types.is_float16(arrow_type):
        return column.cast(pa.float32())
    if pa.types.is_string_view(arrow_type):
        return column.cast(pa.string())
    if is_nested_type(arrow_type):
        return _json_text(column)
    if (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_binary_view(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    ):
        return _bytea_text(column)
    return column


def _copyable(data: pa.Table) -> pa.Table:
    return pa.table([_copyable_column(column) for column in data.columns], names=data.column_names)


def _encode_csv(batch: pa.RecordBatch) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    # Strings are always quoted, nulls never: COPY CSV reads "" as '' and an empty field as NULL.
    pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue()


def _csv_chunks(data: pa.Table) -> Iterator[pa.Buffer]:
    """CSV chunks in order. Encoded inline: the server parses a chunk while the next one is
    encoded, and extra encoder threads measured slower (they compete with the backend for CPU)."""
    for batch in data.to_batches(max_chunksize=COPY_CHUNK_ROWS):
        yield _encode_csv(batch)


def copy_rows(pg: psycopg.Connection, schema: str, table: str, data: pa.Table) -> None:
    """COPY the rows into an existing table, by column name."""
    columns = sql.key_list(data.column_names)
    statement = f"COPY {sql.qualified(schema, table)} ({columns}) FROM STDIN (FORMAT CSV)"
    with pg.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in _csv_chunks(_copyable(data)):
            copy.write(memoryview(chunk))


# --- catalog -------------------------------------------------------------------------------


def table_exists(pg: psycopg.Connection, schema: str, table: str) -> bool:
    found = pg.execute("SELECT to_regclass(%s)", [sql.qualified(schema, table)]).fetchone()
    return found is not None and found[0] is not None


def table_columns(pg: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    rows = pg.execute(
        "SELECT column_name, CASE WHEN data_type IN ('USER-DEFINED', 'ARRAY') THEN udt_name "
        "ELSE data_type END FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {str(name): str(column_type) for name, column_type in rows}


def column_schema(pg: psycopg.Connection, schema: str, table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, column_type)
            for name, column_type in table_columns(pg, schema, table).items()
        ]
    )


def write_arrow(pg: psycopg.Connection, schema: str, table: str, data: pa.Table) -> None:
    """Create the table if needed, add missing columns, then COPY the rows in by name."""
    if data.num_columns == 0:
        return
    target = sql.qualified(schema, table)
    wanted = {field.name: postgres_type(field.type) for field in data.schema}
    if not table_exists(pg, schema, table):
        definition = ", ".join(f"{sql.quote(name)} {kind}" for name, kind in wanted.items())
        pg.execute(f"CREATE TABLE {target} ({definition})")
    else:
        existing = table_columns(pg, schema, table)
        for name, kind in wanted.items():
            if name not in existing:
                pg.execute(f"ALTER TABLE {target} ADD COLUMN {sql.quote(name)} {kind}")
    if data.num_rows:
        copy_rows(pg, schema, table, data)


def _current_view_body(schema: str, table: str, keys: Sequence[str], cursor: str | None, mode: str) -> str:
    source = sql.qualified(schema, table)
    partition = sql.quote(PARTITION_COLUMN)
    if mode == "latest_partition":
        return f"SELECT * FROM {source} WHERE {partition} = (SELECT max({partition}) FROM {source})"
    if mode != "latest_per_key":
        raise ValueError(f"unknown {META_CURRENT_VIEW} {mode!r} for {schema}.{table}")
    if not keys:
        raise ValueError(f"{META_CURRENT_VIEW} 'latest_per_key' on {schema}.{table} needs {META_PRIMARY_KEY}")
    order = f"{sql.quote(cursor)} DESC NULLS LAST, " if cursor else ""
    return (
        f"SELECT DISTINCT ON ({sql.key_list(keys)}) * FROM {source} "
        f"ORDER BY {sql.key_list(keys)}, {order}{partition} DESC"
    )


def replace_current_view(
    pg: psycopg.Connection,
    schema: str,
    table: str,
    keys: Sequence[str],
    cursor: str | None,
    mode: str,
) -> None:
    view = sql.qualified(schema, table + CURRENT_SUFFIX)
    body = _current_view_body(schema, table, keys, cursor, mode)
    try:
        # Savepoint: keeps views built on top of __current when only columns were appended.
        with pg.transaction():
            pg.execute(f"CREATE OR REPLACE VIEW {view} AS {body}")
    except psycopg.errors.InvalidTableDefinition:
        # Columns renamed, retyped, dropped or reordered: Postgres only replaces by drop + create.
        pg.execute(f"DROP VIEW IF EXISTS {view}")
        pg.execute(f"CREATE VIEW {view} AS {body}")


# --- the DbIOManager pieces ----------------------------------------------------------------


@dataclass
class PostgresSession:
    """What `PostgresClient.connect` hands the type handlers.

    For outputs `pg` is the open write transaction; inputs read through ADBC on `url`.
    """

    url: str
    transaction: psycopg.Connection | None = None

    @property
    def pg(self) -> psycopg.Connection:
        if self.transaction is None:
            raise dg.DagsterInvariantViolationError("no write transaction: this session reads only")
        return self.transaction

    def read_arrow(self, statement: str) -> pa.Table:
        return query_arrow(self.url, statement)


def _metadata(pg: psycopg.Connection, table_slice: TableSlice, row_count: int) -> dict[str, Any]:
    # Not exported as dg.TableMetadataSet in dagster 1.13; dagster-dlt imports it from here too.
    return dict(
        TableMetadataSet(
            column_schema=column_schema(pg, table_slice.schema, table_slice.table),
            row_count=row_count,
        )
    )


class StagedTablePostgresHandler(DbTypeHandler[StagedTable]):
    """Writes a staged day: rows, records put aside, and the `__current` view, in the open
    transaction."""

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: StagedTable, connection: Any
    ) -> Mapping[str, Any]:
        pg = connection.pg
        schema, table = table_slice.schema, table_slice.table
        rejected_table = table + REJECTED_SUFFIX
        write_arrow(pg, schema, table, obj.rows)
        if table_exists(pg, schema, rejected_table):
            pg.execute(sql.delete_statement(table_slice, rejected_table))
        write_arrow(pg, schema, rejected_table, obj.rejected)

        metadata = context.definition_metadata or {}
        view_mode = metadata.get(META_CURRENT_VIEW)
        if view_mode:
            replace_current_view(
                pg, schema, table, key_columns(metadata), metadata.get(META_CURSOR), view_mode
            )
        return {
            **_metadata(pg, table_slice, obj.rows.num_rows),
            "plumbing/rejected_count": obj.rejected.num_rows,
            **obj.metadata,
        }

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> StagedTable:
        rows = connection.read_arrow(sql.select_statement(table_slice))
        return StagedTable(rows=rows, rejected=pa.table({}))

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [StagedTable]


class ArrowPostgresHandler(DbTypeHandler[pa.Table]):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pa.Table, connection: Any
    ) -> Mapping[str, Any]:
        pg = connection.pg
        write_arrow(pg, table_slice.schema, table_slice.table, obj)
        return _metadata(pg, table_slice, obj.num_rows)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pa.Table:
        return connection.read_arrow(sql.select_statement(table_slice))

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pa.Table]


class PostgresClient(DbClient):
    """Opens one transaction per output (see the module docstring); inputs read through ADBC."""

    def __init__(self, url: str, lock_timeout_seconds: float = 60) -> None:
        self._url = url
        self._lock_timeout_ms = max(0, round(lock_timeout_seconds * 1000))

    @contextmanager
    def connect(
        self, context: dg.OutputContext | dg.InputContext, table_slice: TableSlice
    ) -> Iterator[PostgresSession]:
        if not isinstance(context, dg.OutputContext):
            yield PostgresSession(url=self._url)
            return
        pg = _connect_psycopg(self._url)
        try:
            self._begin(pg, table_slice)
            yield PostgresSession(url=self._url, transaction=pg)
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

    def _begin(self, pg: psycopg.Connection, table_slice: TableSlice) -> None:
        # SET LOCAL: both settings end with the transaction. TimeZone=UTC is what COPY relies on
        # to read the zone-less timestamps `_copyable_column` sends into timestamptz columns.
        pg.execute(
            "SELECT set_config('lock_timeout', %s, true), set_config('TimeZone', 'UTC', true)",
            [f"{self._lock_timeout_ms}ms"],
        )
        name = f"{table_slice.schema}.{table_slice.table}"
        try:
            pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        except psycopg.errors.LockNotAvailable:
            raise PostgresLockTimeout(
                f"waited more than {self._lock_timeout_ms / 1000:g} s for the write lock on "
                f"{name} at {pg_connect_info_safe(self._url)}: another run is writing this table"
            ) from None

    @staticmethod
    def ensure_schema_exists(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        pg = connection.pg
        schema = table_slice.schema
        if pg.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone():
            return
        try:
            # Savepoint: a writer of another table in the same new schema may create it first
            # (the advisory lock is per table); its commit turns ours into a duplicate error.
            with pg.transaction():
                pg.execute(f"CREATE SCHEMA IF NOT EXISTS {sql.quote(schema)}")
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema):
            pass

    @staticmethod
    def delete_table_slice(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        pg = connection.pg
        if table_exists(pg, table_slice.schema, table_slice.table):
            pg.execute(sql.delete_statement(table_slice))

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        return sql.select_statement(table_slice)


class WarehousePostgresIOManager(dg.ConfigurableIOManagerFactory):
    """The project's Postgres IO manager (see module docstring)."""

    url: str = Field(
        description="libpq URL of the warehouse database; pass a dg.EnvVar, it holds a password."
    )
    schema_: str | None = Field(
        default=None, alias="schema", description="Schema for tables without one of their own."
    )
    lock_timeout_seconds: float = Field(
        default=60,
        description="Longest wait for the per-table write lock or any other lock, in seconds.",
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> DbIOManager:
        return DbIOManager(
            db_client=PostgresClient(self.url, self.lock_timeout_seconds),
            database=database_name(self.url),
            schema=self.schema_,
            type_handlers=[
                StagedTablePostgresHandler(),
                ArrowPostgresHandler(),
                PandasViaArrowHandler(ArrowPostgresHandler()),
            ],
            default_load_type=pa.Table,
            io_manager_name="WarehousePostgresIOManager",
        )
