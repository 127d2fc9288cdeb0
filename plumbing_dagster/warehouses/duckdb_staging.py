"""Staging in DuckDB, inside the write transaction: the landed files are read where they lie.

Our own landings are parquet in the landed shape, so DuckDB reads them itself with
`read_parquet` (local paths, or through the landing zone's fsspec filesystem registered on the
connection: DuckDB cannot download its httpfs extension here). Rows of other producers (mapped
batch by batch in Python, e.g. Airbyte's) are streamed into a temporary table first.

Over that relation:
1. `_plumbing_checked`: one scan keeps per landed row only its file, row, day, key, cursor and
   reason (NULL when it keeps the contract) — narrow, so the big columns are never held twice;
2. `_plumbing_dropped`: the rows that are not staged — those with a reason, and (`merge`) the
   older versions of keys landed more than once that day, usually few;
3. one scan casts every other row to the contract's types and inserts it by name into the staged
   table; only when some rows have a reason, a last one puts those records aside as landed.
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
DROPPED = "_plumbing_dropped"
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
    reason = quote(REJECT_REASON_COLUMN)
    with landed_relation(conn, landed) as relation:
        landed_types = _types(conn, f"SELECT * FROM {relation}")
        session.ensure_columns(schema, table, sql.column_types(landed_types))
        session.ensure_columns(schema, table + "__rejected", REJECTED_COLUMNS)
        keep = [*sql.keys, *([landed.config.cursor] if landed.config.cursor else [])]
        keep += [n for n in landed.schema().names if n.startswith("_plumbing")]
        conn.execute(
            f"""CREATE TEMP TABLE {CHECKED} AS
                SELECT {sql.row_id("l")}, l.{quote(PARTITION_COLUMN)},
                       {", ".join(f"l.{quote(c)}" for c in dict.fromkeys(keep))},
                       {sql.reason("l", guarded=True)} AS {reason}
                FROM {relation} AS l"""
        )
        row_and_day = f"{sql.row_id('c')}, c.{quote(PARTITION_COLUMN)}"
        older = (
            f"UNION ALL SELECT *, FALSE FROM ({sql.losers(CHECKED, f'l.{reason} IS NULL', guarded=True)})"
            if sql.merge
            else ""
        )
        conn.execute(
            f"""CREATE TEMP TABLE {DROPPED} AS
                SELECT {row_and_day}, TRUE AS rejected FROM {CHECKED} AS c WHERE c.{reason} IS NOT NULL
                {older}"""
        )
        conn.execute(
            f"""INSERT INTO {qualified(schema, table)} BY NAME
                SELECT {", ".join(sql.typed_columns("l", guarded=True))}, l.{quote(PARTITION_COLUMN)}
                FROM {relation} AS l
                WHERE NOT EXISTS (SELECT 1 FROM {DROPPED} AS x WHERE {sql.same_row("x", "l")})"""
        )
        counts = _day_counts(conn)
        if any(day.rejected for day in counts.values()):
            conn.execute(
                f"""INSERT INTO {qualified(schema, table + "__rejected")} BY NAME
                    SELECT c.{quote(PARTITION_COLUMN)}, c.{reason},
                           {sql.record("l")} AS {quote(REJECT_RECORD_COLUMN)}
                    FROM {relation} AS l JOIN {CHECKED} AS c ON {sql.same_row("l", "c")}
                    WHERE c.{reason} IS NOT NULL
                    ORDER BY c.{quote(FILE_COLUMN)}, c.{quote(ROW_COLUMN)}"""
            )
        for name in (CHECKED, DROPPED):
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
    older = dict(
        conn.execute(f"SELECT {partition}, count(*) FROM {DROPPED} WHERE NOT rejected GROUP BY 1").fetchall()
    )
    return {
        day: DayCounts(landed=rows, staged=rows - rejected - older.get(day, 0), rejected=rejected)
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
    missing = [name for name in wanted.names if name not in found]
    columns = [quote(name) if name in found else "" for name in wanted.names]
    if missing:  # only then: the first Arrow scan of a process costs ~0.15 s
        conn.register("_plumbing_landed_shape", wanted.empty_table())
        try:
            landed_types = _types(conn, "SELECT * FROM _plumbing_landed_shape")
        finally:
            conn.unregister("_plumbing_landed_shape")
        columns = [
            column or f"CAST(NULL AS {landed_types[name]}) AS {quote(name)}"
            for name, column in zip(wanted.names, columns, strict=True)
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
