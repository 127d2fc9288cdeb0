"""Staging in Postgres, inside the write transaction that replaces the days.

The landed rows are streamed — record batches, never a whole day in memory — into the server,
and staged on one of two paths, in the same transaction:

1. Directly, as nearly every day comes (`direct.py`), inside a savepoint: the rows are COPYed
   in binary straight into `<table>`, the versions of keys that may be landed more than once
   that day into a temporary table, where they are ranked and the newest of each inserted. It
   declines (before or while writing) when a record is to be put aside — a missing key or a
   recorded violation — or when it cannot give exactly what the casts below give; and a value
   the server refuses fails its COPY. Then the savepoint is rolled back and:
2. In SQL: the rows are COPYed (CSV, FREEZE) into a temporary table that holds them as landed —
   text for date-times and decimals, JSON text for nested fields — and typed from there.
   Optimistically, values are cast plainly, parsing each once; versions are ranked only for the
   keys landed more than once that day (`StagingSql.losers`), and every other row without a
   missing key or a recorded violation is cast and inserted by name. When a value does not
   parse (or the direct path found one that does not), the same statements run guarded: a value
   is cast only where `pg_input_is_valid` says it parses (Postgres 16+; before, a temporary
   function that traps the cast's error), and rows with one that does not go aside with the
   reason. Records put aside go into `<table>__rejected` as landed (JSON text); when the stream
   showed no missing key and no violation and every value parsed, there are none, and no scan
   looks.

Both paths give the same rows and counts (`test_postgres_staging_paths.py`).
`benchmarks/staging.py --warehouse postgres` measures this against `psql \\copy` of the rows it
produces; see the README for the figures and where the time goes.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import psycopg
import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN
from plumbing_dagster.contract.types import contract_type, is_nested_type
from plumbing_dagster.tables import (
    PARTITION_COLUMN,
    REJECT_REASON_COLUMN,
    REJECT_RECORD_COLUMN,
    key_list,
    qualified,
    quote,
)
from plumbing_dagster.warehouses.landed import FILE_COLUMN, ROW_COLUMN, DayCounts, LandedRows
from plumbing_dagster.warehouses.postgres.copy import copy_batches, postgres_type
from plumbing_dagster.warehouses.postgres.direct import NotDirect, goes_aside, stage_direct
from plumbing_dagster.warehouses.postgres.text_values import NotEncodable
from plumbing_dagster.warehouses.staging_sql import StagingSql

if TYPE_CHECKING:
    from plumbing_dagster.warehouses.postgres.sessions import PostgresWriteSession

logger = logging.getLogger(__name__)

LANDED = "_plumbing_landed"
LOSERS = "_plumbing_losers"
REJECTED_COLUMNS = {PARTITION_COLUMN: "date", REJECT_REASON_COLUMN: "text", REJECT_RECORD_COLUMN: "text"}
# For this transaction only: a day's temporary table is a few hundred MiB per million rows, and
# the grouping of repeated keys holds one entry per key (the server defaults, 8 MB and 4 MB,
# make both spill to files).
TEMP_BUFFERS = "256MB"
WORK_MEM = "64MB"
# pg_input_is_valid (soft input errors) exists from Postgres 16 on.
NATIVE_CHECKS_FROM = 160000


class PostgresDialect:
    def __init__(self, native_checks: bool = True):
        self.native_checks = native_checks

    def column_type(self, spec: FieldSpec) -> str:
        return contract_type(spec).postgres

    def cast_type(self, spec: FieldSpec) -> str | None:
        # Only text lands as something else than it is staged as (date-times, dates, decimals);
        # numbers, booleans, nested values are landed typed and copied as they are.
        row = contract_type(spec)
        if row.landing is None:  # nested: copied as JSON text, parsed here into jsonb
            return row.postgres
        if row.landing != pa.string() or row.postgres == "text":
            return None
        return row.postgres_cast or row.postgres

    def cast(self, expression: str, sql_type: str, guarded: bool) -> str:
        cast = f"CAST({expression} AS {sql_type})"
        return f"CASE WHEN {self.parses(expression, sql_type)} THEN {cast} END" if guarded else cast

    def parses(self, expression: str, sql_type: str) -> str:
        if self.native_checks:
            return f"pg_input_is_valid({expression}, '{sql_type}')"
        return f"pg_temp.{check_function(sql_type)}({expression})"

    def does_not_parse(self, expression: str, sql_type: str) -> str:
        return f"NOT {self.parses(expression, sql_type)}"

    def as_text(self, expression: str) -> str:
        return f"CAST({expression} AS text)"

    def record_json(self, alias: str, columns: list[str]) -> str:
        # row_to_json names the fields after the columns of the row it is given.
        listed = ", ".join(f"{alias}.{quote(c)}" for c in columns)
        return f"(SELECT CAST(row_to_json(r) AS text) FROM (SELECT {listed}) AS r)"


def check_function(sql_type: str) -> str:
    return "plumbing_parses_" + re.sub(r"\W+", "_", sql_type).strip("_")


def _create_check_functions(pg: psycopg.Connection, types: Iterable[str]) -> None:
    """Before Postgres 16: `pg_temp.plumbing_parses_<type>(text)`, which traps the cast's error."""
    for sql_type in sorted(set(types)):
        pg.execute(
            f"""CREATE OR REPLACE FUNCTION pg_temp.{check_function(sql_type)}(value text)
                RETURNS boolean LANGUAGE plpgsql AS $check$
                BEGIN PERFORM CAST(value AS {sql_type}); RETURN true;
                EXCEPTION WHEN data_exception THEN RETURN false; END $check$"""
        )


def stage(
    session: PostgresWriteSession,
    schema: str,
    table: str,
    landed: LandedRows,
    native_checks: bool | None = None,
) -> dict[date, DayCounts]:
    """See the module; `native_checks=False` uses the functions of servers before 16 (tests)."""
    pg = session.pg
    if native_checks is None:
        native_checks = pg.info.server_version >= NATIVE_CHECKS_FROM
    sql = StagingSql(landed.config, PostgresDialect(native_checks), landed.landed_at)
    session.ensure_columns(schema, table, sql.column_types({}))
    session.ensure_columns(schema, table + "__rejected", REJECTED_COLUMNS)
    pg.execute(
        "SELECT set_config('temp_buffers', %s, true), set_config('work_mem', %s, true)",
        [TEMP_BUFFERS, WORK_MEM],
    )
    try:
        with pg.transaction():  # a savepoint: on an error, whatever the direct path wrote goes
            return stage_direct(pg, sql, schema, table, landed)
    except (NotDirect, NotEncodable) as reason:
        logger.info("%s.%s is staged in SQL: %s", schema, table, reason)
        guarded = False
    except psycopg.DataError as error:  # SQLSTATE class 22: a value that does not parse as its type
        logger.info("%s.%s is staged in SQL, a value does not parse: %s", schema, table, error)
        guarded = True
    if not native_checks:
        _create_check_functions(pg, (t for _, t in sql.casts_that_may_fail()))
    return _stage_in_sql(pg, sql, schema, table, landed, guarded)


def _stage_in_sql(
    pg: psycopg.Connection, sql: StagingSql, schema: str, table: str, landed: LandedRows, guarded: bool
) -> dict[date, DayCounts]:
    """The landed rows into LANDED, typed and inserted in SQL; `guarded`: a value is known not to
    parse, so the casts are guarded from the start."""
    columns = {
        f.name: "text" if is_nested_type(f.type) else postgres_type(f.type) for f in landed.staging_schema()
    }
    # The columns a narrow pass reads first: Postgres decodes a row only up to the last one needed.
    leading = [PARTITION_COLUMN, FILE_COLUMN, ROW_COLUMN, *sql.keys, VIOLATIONS_COLUMN]
    ordered = [*dict.fromkeys([*leading, *columns])]
    pg.execute(
        f"CREATE TEMP TABLE {LANDED} ({', '.join(f'{quote(n)} {columns[n]}' for n in ordered)}) "
        "ON COMMIT DROP"
    )
    seen = Seen(sql.keys)
    copy_batches(pg, LANDED, list(columns), seen.count(landed.batches()), freeze=True)

    if guarded:
        older, rejected = _stage_rows(pg, sql, schema, table, seen, guarded=True)
    else:
        try:
            with pg.transaction():  # a savepoint: a value that does not parse undoes only this
                older, rejected = _stage_rows(pg, sql, schema, table, seen, guarded=False)
        except psycopg.DataError:
            older, rejected = _stage_rows(pg, sql, schema, table, seen, guarded=True)
    pg.execute(f"DROP TABLE {LANDED}")
    return {
        day: DayCounts(
            landed=count,
            staged=count - rejected.get(day, 0) - older.get(day, 0),
            rejected=rejected.get(day, 0),
        )
        for day, count in sorted(seen.per_day.items())
    }


class Seen:
    """What passed by while streaming: rows per day, and whether any row lacks a key or carries
    violations (if none does and every value parses, no record is put aside)."""

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.per_day: Counter[date] = Counter()
        self.suspect = False

    def count(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                self.per_day[batch.column(PARTITION_COLUMN)[0].as_py()] += batch.num_rows  # one file
                self.suspect = self.suspect or goes_aside(batch, self.keys) is not None
            yield batch


def _stage_rows(
    pg: psycopg.Connection, sql: StagingSql, schema: str, table: str, seen: Seen, guarded: bool
) -> tuple[dict[date, int], dict[date, int]]:
    """(older versions dropped, records put aside) per day."""
    kept = sql.keeps_contract("l", guarded)
    older: dict[date, int] = {}
    if sql.merge:
        older = _remember_losers(pg, sql, guarded)
        kept += f" AND NOT EXISTS (SELECT 1 FROM {LOSERS} AS x WHERE {sql.same_row('x', 'l')})"
    pg.execute(
        f"""INSERT INTO {qualified(schema, table)} ({key_list(sql.staged_names())})
            SELECT {", ".join(sql.typed_columns("l", guarded))}, l.{quote(PARTITION_COLUMN)}
            FROM {LANDED} AS l WHERE {kept}"""
    )
    if sql.merge:
        pg.execute(f"DROP TABLE {LOSERS}")
    if not (guarded or seen.suspect):  # every value parsed, no key missing, no violation
        return older, {}
    rejected = _per_day(
        pg,
        f"""INSERT INTO {qualified(schema, table + "__rejected")} ({key_list(list(REJECTED_COLUMNS))})
            SELECT c.{quote(PARTITION_COLUMN)}, c._plumbing_reason, {sql.record("c")}
            FROM (SELECT l.*, {sql.reason("l", guarded)} AS _plumbing_reason FROM {LANDED} AS l) AS c
            WHERE c._plumbing_reason IS NOT NULL
            ORDER BY c.{quote(FILE_COLUMN)}, c.{quote(ROW_COLUMN)}""",
    )
    return older, rejected


def _remember_losers(pg: psycopg.Connection, sql: StagingSql, guarded: bool) -> dict[date, int]:
    """The versions that lose to a newer one of the same key and day. Every value of the ranked
    versions is cast here, so that unguarded, a value that does not parse fails this statement
    even when its version loses (guarded, it would have put that version aside)."""
    parsed = [sql.typed(name, "l", guarded) for name, _ in sql.casts_that_may_fail()]
    kept = sql.keeps_contract("l", guarded)
    checked = f"num_nonnulls({', '.join(parsed)})" if parsed else None
    pg.execute(f"CREATE TEMP TABLE {LOSERS} ON COMMIT DROP AS {sql.losers(LANDED, kept, guarded, checked)}")
    pg.execute(f"ANALYZE {LOSERS}")
    partition = quote(PARTITION_COLUMN)
    rows = pg.execute(f"SELECT {partition}, count(*) FROM {LOSERS} GROUP BY 1").fetchall()
    return {day: int(count) for day, count in rows}


def _per_day(pg: psycopg.Connection, insert: str) -> dict[date, int]:
    rows = pg.execute(
        f"WITH written AS ({insert} RETURNING {quote(PARTITION_COLUMN)}) "
        f"SELECT {quote(PARTITION_COLUMN)}, count(*) FROM written GROUP BY 1"
    ).fetchall()
    return {day: int(count) for day, count in rows}
