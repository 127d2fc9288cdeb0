"""The direct path of Postgres staging: landed rows COPYed straight into the staged table.

COPY parses each value with its column type's input function, as `CAST(text AS <type>)` does in
the SQL path, and writes rows in bulk; `INSERT … SELECT` from a temporary table writes them one
by one after copying them once more. So when nothing is put aside and every value parses, the
rows the SQL path would insert are COPYed into `<table>`, streaming record batches (never a
whole day in memory), in one pass, or two for merge streams:

1. The key columns only: rows per day, whether any record lacks its key or carries a violation
   (then this path declines: records go aside, which the SQL path does), and which rows may
   share their day and key with another row (`RepeatedKeys`, fixed memory; a few percent).
2. Every column: the other rows go by COPY into the table; those rows into a temporary table of
   the same column types (plus file, row and extraction moment), where their versions are ranked
   as the SQL path ranks them (`StagingSql`); the newest of each key are inserted from there.
   Older versions were parsed too on their way in: the SQL path puts aside a version whose value
   does not parse, even one that would lose.

A value that does not parse fails a statement (`psycopg.DataError`), and the caller rolls the
savepoint back. Where COPY would not give what the cast gives, the path declines (`NotDirect`)
before or while writing: a staged column whose type is not the contract's (the SQL path converts
the cast value on assignment) and a decimal that is not plain digits with at most 9 decimals
(the SQL path rounds it as `numeric(38,9)`; plain ones are padded to 9 decimals, which is what
that cast gives them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN
from plumbing_dagster.contract.types import contract_type
from plumbing_dagster.tables import PARTITION_COLUMN, key_list, qualified, quote
from plumbing_dagster.warehouses.landed import (
    BATCH_ROWS,
    FILE_COLUMN,
    LANDED_AT_COLUMN,
    ROW_COLUMN,
    DayCounts,
    LandedRows,
)
from plumbing_dagster.warehouses.postgres.copy import copy_routed
from plumbing_dagster.warehouses.repeated_keys import RepeatedKeys
from plumbing_dagster.warehouses.staging_sql import StagingSql

VERSIONS = "_plumbing_versions"
# Plain decimals: what `numeric(38,9)` holds without rounding (29 digits before the point).
PLAIN_DECIMAL = r"^[+-]?[0-9]{1,29}(\.[0-9]{1,9})?$"


class NotDirect(Exception):
    """The direct path cannot give what the SQL path gives for these rows (the message: why)."""


def stage_direct(
    pg: psycopg.Connection, sql: StagingSql, schema: str, table: str, landed: LandedRows
) -> dict[date, DayCounts]:
    """Stage `landed` into `<schema>.<table>` directly, or raise (see the module). Run it in a
    savepoint: on an error, what it wrote is to be rolled back."""
    _check_column_types(pg, sql, schema, table)
    decimals = _decimal_fields(sql)
    staged = [*sql.config.fields, PARTITION_COLUMN]
    target = qualified(schema, table)
    if not sql.merge:
        per_day: Counter[date] = Counter()

        def counted() -> Iterator[tuple[str, pa.RecordBatch]]:
            for batch in landed.batches():
                _decline_records_put_aside(sql, batch)  # before a row of it is written
                per_day[batch.column(PARTITION_COLUMN)[0].as_py()] += batch.num_rows
                yield target, _copyable(batch, staged, decimals)

        copy_routed(pg, {target: staged}, counted())
        return {day: DayCounts(landed=n, staged=n, rejected=0) for day, n in sorted(per_day.items())}

    cast = [name for name, _ in sql.casts_that_may_fail()]
    if not sql.keys or any(key in cast for key in sql.keys):
        # Versions are told apart by their keys as landed, and VERSIONS holds them as staged.
        raise NotDirect("a merge stream whose keys are not landed as they are staged")
    per_day, repeated = _first_pass(sql, landed)
    # The table's column types, and what orders versions beyond the cursor.
    order = {FILE_COLUMN: "integer", ROW_COLUMN: "bigint"}
    if sql.landed_at:
        order[LANDED_AT_COLUMN] = "timestamp with time zone"
    added = ", ".join(f"CAST(NULL AS {kind}) AS {quote(name)}" for name, kind in order.items())
    pg.execute(f"CREATE TEMP TABLE {VERSIONS} ON COMMIT DROP AS SELECT *, {added} FROM {target} WITH NO DATA")
    columns = [*staged, *order]
    parts = _routed(landed.batches(columns=columns), repeated, target, staged, decimals)
    copy_routed(pg, {target: staged, VERSIONS: columns}, parts)
    older = _insert_newest(pg, sql, target, staged)
    pg.execute(f"DROP TABLE {VERSIONS}")
    return {
        day: DayCounts(landed=n, staged=n - older.get(day, 0), rejected=0)
        for day, n in sorted(per_day.items())
    }


def _check_column_types(pg: psycopg.Connection, sql: StagingSql, schema: str, table: str) -> None:
    """Declines when a staged column has another type than the contract's: the SQL path's insert
    converts the cast value into it, COPY would parse the landed text as it."""
    rows = pg.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped",
        [qualified(schema, table)],
    ).fetchall()
    existing = {str(name): str(kind) for name, kind in rows}
    for name, wanted in sql.column_types({}).items():
        if existing.get(name, "").lower() != wanted.lower():
            raise NotDirect(f"column {name} is {existing.get(name)}, the contract stages {wanted}")


def _first_pass(sql: StagingSql, landed: LandedRows) -> tuple[Counter[date], RepeatedKeys]:
    per_day: Counter[date] = Counter()
    repeated = RepeatedKeys(sql.keys)
    for batch in landed.batches(columns=[PARTITION_COLUMN, *sql.keys, VIOLATIONS_COLUMN]):
        _decline_records_put_aside(sql, batch)
        per_day[batch.column(PARTITION_COLUMN)[0].as_py()] += batch.num_rows  # a batch is one file's
        repeated.observe(batch)
    return per_day, repeated


def _decline_records_put_aside(sql: StagingSql, batch: pa.RecordBatch) -> None:
    if any(batch.column(key).null_count for key in sql.keys):
        raise NotDirect("a record lacks its key")
    if batch.column(VIOLATIONS_COLUMN).null_count < batch.num_rows:
        raise NotDirect("a record has a value of the wrong type")


def _routed(
    batches: Iterator[pa.RecordBatch],
    repeated: RepeatedKeys,
    target: str,
    staged: list[str],
    decimals: set[str],
) -> Iterator[tuple[str, pa.RecordBatch | pa.Table]]:
    """Rows of keys landed once into the table; the others into VERSIONS, gathered into batches
    of BATCH_ROWS (fewer switches between the two COPY statements)."""
    waiting: list[pa.RecordBatch] = []
    for batch in batches:
        maybe = repeated.candidates(batch)
        if not maybe.any():
            yield target, _copyable(batch, staged, decimals)
            continue
        yield target, _copyable(batch.filter(pa.array(~maybe)), staged, decimals)
        waiting.append(_copyable(batch.filter(pa.array(maybe)), batch.schema.names, decimals))
        if sum(b.num_rows for b in waiting) >= BATCH_ROWS:
            yield VERSIONS, pa.Table.from_batches(waiting)
            waiting = []
    if waiting:
        yield VERSIONS, pa.Table.from_batches(waiting)


def _insert_newest(
    pg: psycopg.Connection, sql: StagingSql, target: str, staged: list[str]
) -> dict[date, int]:
    """The newest version of each key of VERSIONS into the table; the older ones per day."""
    listed = key_list(staged)
    partition = quote(PARTITION_COLUMN)
    rows = pg.execute(
        f"""WITH ranked AS (
                SELECT v.*, row_number() OVER (PARTITION BY {sql.partition_by("v")}
                                               ORDER BY {sql.newest_first("v", False)}) AS _plumbing_rank
                FROM {VERSIONS} AS v),
            written AS (INSERT INTO {target} ({listed}) SELECT {listed} FROM ranked WHERE _plumbing_rank = 1)
            SELECT {partition}, count(*) FROM ranked WHERE _plumbing_rank > 1 GROUP BY 1"""
    ).fetchall()
    return {day: int(count) for day, count in rows}


def _decimal_fields(sql: StagingSql) -> set[str]:
    """The fields whose landed text COPY must get as `_plain_decimal` makes it; declines for a
    type staged by a cast other than its column's type that has no such form here."""
    decimals = set()
    for name, spec in sql.config.fields.items():
        kind = contract_type(spec)
        if kind.name == "decimal":
            decimals.add(name)
        elif kind.postgres_cast is not None:
            raise NotDirect(f"field {name}: no direct form for {kind.name} values")
    return decimals


def _copyable(batch: pa.RecordBatch, columns: list[str], decimals: set[str]) -> pa.RecordBatch:
    """`columns` of the batch, with the values COPY is to read as the SQL path's casts."""
    arrays = [_plain_decimal(batch.column(n), n) if n in decimals else batch.column(n) for n in columns]
    return pa.RecordBatch.from_arrays(arrays, names=columns)


def _plain_decimal(values: pa.Array, name: str) -> pa.Array:
    """`12.5` as `12.500000000`, which COPY reads as what `CAST('12.5' AS numeric(38,9))` gives."""
    if not pc.all(pc.match_substring_regex(values, PLAIN_DECIMAL), min_count=0).as_py():  # nulls skipped
        raise NotDirect(f"field {name}: a decimal that numeric(38,9) rounds or reads otherwise")
    pointed = pc.if_else(
        pc.match_substring(values, "."), values, pc.binary_join_element_wise(values, ".", "")
    )
    padded = pc.binary_join_element_wise(pointed, "000000000", "")
    return pc.replace_substring_regex(padded, r"^([^.]*\.[0-9]{9})0*$", r"\1")
