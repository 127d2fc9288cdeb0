"""The direct path of Postgres staging: landed rows COPYed straight into the staged table.

`INSERT … SELECT` from a temporary table writes rows one by one after they were copied once
already, and parses their text there. So when nothing is put aside, the rows the SQL path would
insert are COPYed into `<table>` in binary (`binary_copy.py`: the server stores values instead
of parsing text), streaming record batches — never a whole day in memory — in one pass, or two
for merge streams:

1. The key columns only: rows per day, whether any record lacks its key or carries a violation
   (then this path declines: records go aside, which the SQL path does), and which rows may
   share their day and key with another row (`RepeatedKeys`, fixed memory; a few percent).
2. Every column: the other rows go by COPY into the table; those rows into a temporary table of
   the same column types (plus file, row and extraction moment), where their versions are ranked
   as the SQL path ranks them (`StagingSql`), and the newest of each key inserted from there.
   Older versions are read as strictly as the rest: the SQL path puts aside a version whose value
   does not parse, even one that would lose.

Each value must reach the table as the SQL path's cast would make it. Binary values are Arrow's,
and text landed for date-times, dates and decimals is read by `text_values.py` in the strict
shapes where it reads it exactly as Postgres does; a value in any other shape declines this
path (`NotEncodable`), as does a staged column whose type is not the contract's (the SQL path
converts the cast value on assignment) or a merge stream whose keys are cast. A value Postgres
refuses fails the COPY (`psycopg.DataError`). The caller runs this in a savepoint, rolls it back
on any of these, and stages in SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date

import psycopg
import pyarrow as pa

from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN
from plumbing_dagster.tables import PARTITION_COLUMN, key_list, qualified, quote
from plumbing_dagster.warehouses.landed import (
    BATCH_ROWS,
    FILE_COLUMN,
    LANDED_AT_COLUMN,
    ROW_COLUMN,
    DayCounts,
    LandedRows,
)
from plumbing_dagster.warehouses.postgres.binary_copy import Encoder, binary_format, encoder
from plumbing_dagster.warehouses.postgres.copy import copy_routed
from plumbing_dagster.warehouses.repeated_keys import RepeatedKeys
from plumbing_dagster.warehouses.staging_sql import StagingSql

VERSIONS = "_plumbing_versions"
# What orders versions beyond the cursor, as VERSIONS holds it.
ORDER_TYPES = {FILE_COLUMN: "integer", ROW_COLUMN: "bigint", LANDED_AT_COLUMN: "timestamp with time zone"}


class NotDirect(Exception):
    """The direct path cannot give what the SQL path gives for these rows (the message: why)."""


def stage_direct(
    pg: psycopg.Connection, sql: StagingSql, schema: str, table: str, landed: LandedRows
) -> dict[date, DayCounts]:
    """Stage `landed` into `<schema>.<table>` directly, or raise (see the module). Run it in a
    savepoint: on an error, what it wrote is to be rolled back."""
    types = _column_types(pg, sql, schema, table)
    staged = [*sql.config.fields, PARTITION_COLUMN]
    target = qualified(schema, table)
    zone = pg.execute("SELECT current_setting('TimeZone')").fetchone()
    zone_less_utc = zone is not None and zone[0] == "UTC"  # text without a zone is read in it
    arrow = landed.staging_schema()

    def encoders(columns: list[str]) -> list[Encoder]:
        return [encoder(types[name], arrow.field(name).type, zone_less_utc) for name in columns]

    if not sql.merge:
        per_day: Counter[date] = Counter()

        def counted() -> Iterator[tuple[str, pa.RecordBatch]]:
            for batch in landed.batches():
                _decline_records_put_aside(sql, batch)  # before a row of it is written
                per_day[batch.column(PARTITION_COLUMN)[0].as_py()] += batch.num_rows
                yield target, batch.select(staged)

        copy_routed(pg, {target: staged}, counted(), binary_format({target: encoders(staged)}))
        return {day: DayCounts(landed=n, staged=n, rejected=0) for day, n in sorted(per_day.items())}

    if not sql.keys or {key for key, _ in sql.casts_that_may_fail()} & set(sql.keys):
        # Versions are told apart by their keys as landed, and VERSIONS holds them as staged.
        raise NotDirect("a merge stream whose keys are not landed as they are staged")
    per_day, repeated = _first_pass(sql, landed)
    order = [FILE_COLUMN, ROW_COLUMN, *([LANDED_AT_COLUMN] if sql.landed_at else [])]
    added = ", ".join(f"CAST(NULL AS {ORDER_TYPES[name]}) AS {quote(name)}" for name in order)
    pg.execute(f"CREATE TEMP TABLE {VERSIONS} ON COMMIT DROP AS SELECT *, {added} FROM {target} WITH NO DATA")
    types.update(ORDER_TYPES)
    columns = [*staged, *order]
    form = binary_format({target: encoders(staged), VERSIONS: encoders(columns)})
    parts = _routed(landed.batches(columns=columns), repeated, target, staged)
    copy_routed(pg, {target: staged, VERSIONS: columns}, parts, form)
    older = _insert_newest(pg, sql, target, staged)
    pg.execute(f"DROP TABLE {VERSIONS}")
    return {
        day: DayCounts(landed=n, staged=n - older.get(day, 0), rejected=0)
        for day, n in sorted(per_day.items())
    }


def _column_types(pg: psycopg.Connection, sql: StagingSql, schema: str, table: str) -> dict[str, str]:
    """The table's column types; declines when a staged one is not the contract's: the SQL
    path's insert converts the cast value into it, COPY would not."""
    rows = pg.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped",
        [qualified(schema, table)],
    ).fetchall()
    existing = {str(name): str(kind) for name, kind in rows}
    for name, wanted in sql.column_types({}).items():
        if existing.get(name, "").lower() != wanted.lower():
            raise NotDirect(f"column {name} is {existing.get(name)}, the contract stages {wanted}")
    return existing


def _first_pass(sql: StagingSql, landed: LandedRows) -> tuple[Counter[date], RepeatedKeys]:
    per_day: Counter[date] = Counter()
    repeated = RepeatedKeys(sql.keys)
    for batch in landed.batches(columns=[PARTITION_COLUMN, *sql.keys, VIOLATIONS_COLUMN]):
        _decline_records_put_aside(sql, batch)
        per_day[batch.column(PARTITION_COLUMN)[0].as_py()] += batch.num_rows  # a batch is one file's
        repeated.observe(batch)
    return per_day, repeated


def _decline_records_put_aside(sql: StagingSql, batch: pa.RecordBatch) -> None:
    reason = goes_aside(batch, sql.keys)
    if reason:
        raise NotDirect(reason)


def goes_aside(batch: pa.RecordBatch, keys: list[str]) -> str | None:
    """Why some record of the batch (its keys and violations) is put aside whatever its values
    hold, if one is."""
    if any(batch.column(key).null_count for key in keys):
        return "a record lacks its key"
    if batch.column(VIOLATIONS_COLUMN).null_count < batch.num_rows:
        return "a record has a value of the wrong type"
    return None


def _routed(
    batches: Iterator[pa.RecordBatch], repeated: RepeatedKeys, target: str, staged: list[str]
) -> Iterator[tuple[str, pa.RecordBatch | pa.Table]]:
    """Rows of keys landed once into the table; the others into VERSIONS, gathered into batches
    of BATCH_ROWS (fewer switches between the two COPY statements)."""
    waiting: list[pa.RecordBatch] = []
    for batch in batches:
        maybe = repeated.candidates(batch)
        if not maybe.any():
            yield target, batch.select(staged)
            continue
        yield target, batch.filter(pa.array(~maybe)).select(staged)
        waiting.append(batch.filter(pa.array(maybe)))
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
