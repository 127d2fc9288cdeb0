"""Arrow into Postgres: column types for Arrow types, and COPY of Arrow tables and streams of
record batches by column name.

Rows are loaded with `COPY <table> (<columns>) FROM STDIN (FORMAT CSV)`, the CSV encoded chunk by
chunk by pyarrow's C++ writer while the server parses the previous chunk; nested values go as
JSON text (`json_text.py`) into jsonb columns.
Measured here for 1M rows x 8 columns: 0.9-1.1x the time of `psql \\copy`
(`plumbing_dagster_tests/benchmarks/postgres_load.py`). ADBC `adbc_ingest` is about as fast but runs
on its own connection, outside the transaction that deleted the slice; INSERT ... VALUES and
pandas.to_sql are 40-160x slower. One stream of rows may feed several tables in turn
(`copy_routed`), and in another format (`CopyFormat`: staging's binary one, `binary_copy.py`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv

from plumbing_dagster.contract.types import CONTRACT_TYPES, is_nested_type
from plumbing_dagster.tables import key_list, qualified
from plumbing_dagster.warehouses.postgres.json_text import json_text

# Rows per CSV chunk (~1.5 MB here): the server parses one while the next is encoded.
COPY_CHUNK_ROWS = 16_384
# Encoded chunks waiting to be sent, at most: what bounds the memory of a streaming COPY.
AHEAD = 4
# The contract's staged Arrow types and their Postgres names, from the one table.
_CONTRACT_POSTGRES = {row.staged: row.postgres for row in CONTRACT_TYPES.values() if row.staged is not None}


def postgres_type(arrow_type: pa.DataType) -> str:
    """The column type a new Arrow column gets in Postgres: the contract's name for the contract's
    types, and the closest Postgres type for any other Arrow type a mart may produce."""
    if arrow_type in _CONTRACT_POSTGRES:
        return _CONTRACT_POSTGRES[arrow_type]
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
        return json_text(column)
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


def _encode_csv(batch: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    # Strings are always quoted, nulls never: COPY CSV reads "" as '' and an empty field as NULL.
    pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue()


@dataclass(frozen=True)
class CopyFormat:
    """How COPY data is written: the statement's options, what opens and closes the data, and
    the encoding of some rows for a target (the target's columns, in COPY's order)."""

    options: str
    encode: Callable[[str, pa.Table], pa.Buffer]
    header: bytes = b""
    trailer: bytes = b""


def _csv(_: str, rows: pa.Table) -> pa.Buffer:
    return _encode_csv(_copyable(rows))


CSV = CopyFormat("FORMAT CSV", _csv)


def _chunks(
    parts: Iterable[tuple[str, pa.RecordBatch | pa.Table]], form: CopyFormat
) -> Iterator[tuple[str, pa.Buffer]]:
    """Encoded chunks in order, each with the target of its rows. Encoded inline: the server
    parses a chunk while the next one is encoded, and extra encoder threads measured slower
    (they compete with the backend for CPU)."""
    for target, rows in parts:
        table = rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows])
        for start in range(0, table.num_rows, COPY_CHUNK_ROWS):
            yield target, form.encode(target, table.slice(start, COPY_CHUNK_ROWS))


def copy_batches(
    pg: psycopg.Connection,
    target: str,
    columns: list[str],
    batches: Iterable[pa.RecordBatch],
    freeze: bool = False,
) -> None:
    """COPY a stream of record batches (columns named `columns`) into the table `target` (SQL)
    as CSV. `freeze` (a table created in this transaction) writes the rows frozen, so that the
    first scan need not set their hint bits."""
    copy_routed(pg, {target: columns}, ((target, batch) for batch in batches), freeze=freeze)


def copy_routed(
    pg: psycopg.Connection,
    columns: Mapping[str, Sequence[str]],
    parts: Iterable[tuple[str, pa.RecordBatch | pa.Table]],
    form: CopyFormat = CSV,
    freeze: bool = False,
) -> None:
    """COPY a stream of (target, rows) parts, each part's rows into its table `target` (SQL)
    by the column names `columns[target]`: one COPY statement per run of parts with the same
    target, so that one stream can feed several tables in order.

    The next chunks are read and encoded in a thread while this one is sent (at most
    `AHEAD` chunks wait): encoded inline, the encoder waited for the server to take each chunk
    and server and client took turns.
    """
    options = f"{form.options}, FREEZE" if freeze else form.options
    with pg.cursor() as cursor, _ahead(_chunks(parts, form)) as chunks, ExitStack() as copying:
        current, copy = None, None
        for target, chunk in chunks:
            if target != current:
                if copy is not None and form.trailer:
                    copy.write(form.trailer)
                copying.close()  # ends the previous statement's COPY
                statement = f"COPY {target} ({key_list(list(columns[target]))}) FROM STDIN ({options})"
                copy = copying.enter_context(cursor.copy(statement))
                if form.header:
                    copy.write(form.header)
                current = target
            copy.write(memoryview(chunk))
        if copy is not None and form.trailer:
            copy.write(form.trailer)


@contextmanager
def _ahead(items: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """`items` produced by a thread, at most AHEAD of the consumer; errors reach the consumer,
    and a consumer that stops early stops the thread."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(("end", None))
        except BaseException as error:  # handed over to the consumer
            ready.put(("error", error))

    def consume() -> Iterator[Any]:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    thread = threading.Thread(target=produce, name="plumbing-copy-encoder", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with suppress(queue.Empty):
                ready.get(timeout=0.1)


def copy_rows(pg: psycopg.Connection, schema: str, table: str, data: pa.Table) -> None:
    """COPY the rows into an existing table, by column name."""
    copy_batches(pg, qualified(schema, table), data.column_names, data.to_batches(COPY_CHUNK_ROWS))
