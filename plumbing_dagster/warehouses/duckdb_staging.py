"""Staging in DuckDB, inside the write transaction: the landed files are read where they lie.

Our own landings are parquet in the landed shape, so DuckDB reads them itself with
`read_parquet` (local paths, or through the landing zone's fsspec filesystem registered on the
connection: DuckDB cannot download its httpfs extension here). Rows of other producers (mapped
batch by batch in Python, e.g. Airbyte's) are streamed into a temporary table first.

Three statements over that relation, each one scan:
1. `_plumbing_checked`: per landed row only its file, row, day, key, cursor and reason (NULL
   when it keeps the contract) — narrow, so the big columns are never held twice;
2. `_plumbing_winners`: the newest version of each key per day among rows without a reason
   (`merge`; `append` keeps them all);
3. the winners, cast to the contract's types, inserted by name into the staged table; and only
   when some rows have a reason, those records as landed into `<table>__rejected`.
The day figures come from the two narrow tables. `benchmarks/staging.py` compares all this with
one `CREATE TABLE AS SELECT ... QUALIFY` over the same files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.contract.types import contract_type
from plumbing_dagster.tables import (
    PARTITION_COLUMN,
    REJECT_REASON_COLUMN,
    REJECT_RECORD_COLUMN,
    qualified,
    quote,
)
from plumbing_dagster.warehouses.landed import FILE_COLUMN, ROW_COLUMN, DayCounts, LandedRows
from plumbing_dagster.warehouses.staging_sql import StagingSql

if TYPE_CHECKING:
    import duckdb

    from plumbing_dagster.warehouses.duckdb import DuckDBSession

CHECKED = "_plumbing_checked"
WINNERS = "_plumbing_winners"
LANDED = "_plumbing_landed"


class DuckDBDialect:
    def column_type(self, spec: FieldSpec) -> str | None:
        return contract_type(spec).duckdb

    def cast_type(self, spec: FieldSpec) -> str | None:
        # Text stays text; other types are cast even when landed typed: a file of an older
        # contract may hold the field with another type.
        sql_type = contract_type(spec).duckdb
        return None if sql_type in (None, "VARCHAR") else sql_type

    def cast(self, expression: str, sql_type: str, guarded: bool) -> str:
        return f"TRY_CAST({expression} AS {sql_type})"

    def does_not_parse(self, expression: str, sql_type: str) -> str:
        return f"TRY_CAST({expression} AS {sql_type}) IS NULL"

    def as_text(self, expression: str) -> str:
        return f"CAST({expression} AS VARCHAR)"

    def record_json(self, alias: str, columns: list[str]) -> str:
        fields = ", ".join(f"{quote(c)} := {alias}.{quote(c)}" for c in columns)
        return f"to_json(struct_pack({fields}))"


DIALECT = DuckDBDialect()


def stage(session: DuckDBSession, schema: str, table: str, landed: LandedRows) -> dict[date, DayCounts]:
    conn = session.conn
    sql = StagingSql(landed.config, DIALECT, landed.landed_at)
    with landed_relation(conn, landed) as relation:
        landed_types = _types(conn, f"SELECT * FROM {relation}")
        session.ensure_columns(schema, table, sql.column_types(landed_types))
        session.ensure_columns(schema, table + "__rejected", REJECTED_COLUMNS)
        keep = [quote(k) for k in sql.keys] + ([quote(c)] if (c := landed.config.cursor) else [])
        extra = [quote(n) for n in landed.schema().names if n.startswith("_plumbing")]
        conn.execute(
            f"""CREATE TEMP TABLE {CHECKED} AS
                SELECT {sql.row_id("l")}, l.{quote(PARTITION_COLUMN)},
                       {", ".join(f"l.{c}" for c in dict.fromkeys(keep + extra))},
                       {sql.reason("l", guarded=True)} AS {quote(REJECT_REASON_COLUMN)}
                FROM {relation} AS l"""
        )
        newest = (
            f"QUALIFY row_number() OVER (PARTITION BY {sql.partition_by('c')} "
            f"ORDER BY {sql.newest_first('c', guarded=True)}) = 1"
            if sql.merge
            else ""
        )
        conn.execute(
            f"""CREATE TEMP TABLE {WINNERS} AS
                SELECT {sql.row_id("c")}, c.{quote(PARTITION_COLUMN)} FROM {CHECKED} AS c
                WHERE c.{quote(REJECT_REASON_COLUMN)} IS NULL {newest}"""
        )
        conn.execute(
            f"""INSERT INTO {qualified(schema, table)} BY NAME
                SELECT {", ".join(sql.typed_columns("l", guarded=True))}, l.{quote(PARTITION_COLUMN)}
                FROM {relation} AS l JOIN {WINNERS} AS w ON {sql.same_row("l", "w")}"""
        )
        counts = _day_counts(conn)
        if any(day.rejected for day in counts.values()):
            conn.execute(
                f"""INSERT INTO {qualified(schema, table + "__rejected")} BY NAME
                    SELECT c.{quote(PARTITION_COLUMN)}, c.{quote(REJECT_REASON_COLUMN)},
                           {sql.record("l")} AS {quote(REJECT_RECORD_COLUMN)}
                    FROM {relation} AS l JOIN {CHECKED} AS c ON {sql.same_row("l", "c")}
                    WHERE c.{quote(REJECT_REASON_COLUMN)} IS NOT NULL
                    ORDER BY c.{quote(FILE_COLUMN)}, c.{quote(ROW_COLUMN)}"""
            )
        for name in (CHECKED, WINNERS):
            conn.execute(f"DROP TABLE {name}")
    return counts


REJECTED_COLUMNS = {
    PARTITION_COLUMN: "DATE",
    REJECT_REASON_COLUMN: "VARCHAR",
    REJECT_RECORD_COLUMN: "VARCHAR",
}


def _day_counts(conn: duckdb.DuckDBPyConnection) -> dict[date, DayCounts]:
    partition = quote(PARTITION_COLUMN)
    landed = conn.execute(
        f"SELECT {partition}, count(*), count({quote(REJECT_REASON_COLUMN)}) FROM {CHECKED} GROUP BY 1"
    ).fetchall()
    staged = dict(conn.execute(f"SELECT {partition}, count(*) FROM {WINNERS} GROUP BY 1").fetchall())
    return {
        day: DayCounts(landed=rows, staged=staged.get(day, 0), rejected=rejected)
        for day, rows, rejected in landed
    }


def _types(conn: duckdb.DuckDBPyConnection, query: str) -> dict[str, str]:
    return {row[0]: row[1] for row in conn.execute(f"DESCRIBE {query}").fetchall()}


@contextmanager
def landed_relation(conn: duckdb.DuckDBPyConnection, landed: LandedRows) -> Iterator[str]:
    """A relation (SQL) of every landed row with the columns of `landed.staging_schema()`."""
    if landed.parquet and landed.files:
        with _filesystem(conn, landed.filesystem):
            yield _parquet_relation(conn, landed)
        return
    conn.register("_plumbing_incoming", landed.reader())
    try:
        conn.execute(f"CREATE TEMP TABLE {LANDED} AS SELECT * FROM _plumbing_incoming")
    finally:
        conn.unregister("_plumbing_incoming")
    try:
        yield LANDED
    finally:
        conn.execute(f"DROP TABLE {LANDED}")


def _parquet_relation(conn: duckdb.DuckDBPyConnection, landed: LandedRows) -> str:
    """The landed files read by DuckDB itself; a column no file has is NULL of its landed type."""
    files = "[" + ", ".join(_literal(f.url) for f in landed.files) + "]"
    scan = f"read_parquet({files}, union_by_name = true)"
    found = _types(conn, f"SELECT * FROM {scan}")
    wanted = landed.schema()
    conn.register("_plumbing_landed_shape", wanted.empty_table())
    try:
        landed_types = _types(conn, "SELECT * FROM _plumbing_landed_shape")
    finally:
        conn.unregister("_plumbing_landed_shape")
    columns = [
        quote(name) if name in found else f"CAST(NULL AS {landed_types[name]}) AS {quote(name)}"
        for name in wanted.names
    ]
    days = "[" + ", ".join(f"DATE '{f.day:%Y-%m-%d}'" for f in landed.files) + "]"
    return (
        f"(SELECT {', '.join(columns)}, "
        f"{days}[CAST(file_index AS BIGINT) + 1] AS {quote(PARTITION_COLUMN)}, "
        f"CAST(file_index AS INTEGER) AS {quote(FILE_COLUMN)}, "
        f"file_row_number AS {quote(ROW_COLUMN)} FROM {scan})"
    )


@contextmanager
def _filesystem(conn: duckdb.DuckDBPyConnection, filesystem: object) -> Iterator[None]:
    """The landing zone's fsspec filesystem registered on the connection while it is read."""
    if filesystem is None:
        yield
        return
    before = set(conn.list_filesystems())
    conn.register_filesystem(filesystem)
    try:
        yield
    finally:
        for name in set(conn.list_filesystems()) - before:
            conn.unregister_filesystem(name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
