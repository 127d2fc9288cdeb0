"""Applying a stream's contract to landed rows: type, put aside, deduplicate.

Done in an in-memory DuckDB over Arrow: one SQL statement types every column with TRY_CAST (to
the contract's DuckDB types) and gives each record that breaks the contract a reason (missing key,
value of the wrong type). A `merge` stream then keeps one row per key per day among the records
that pass — the newest by cursor, and of versions with the same cursor the one landed last; an
`append` stream keeps every row as landed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN
from plumbing_dagster.contract.types import contract_type
from plumbing_dagster.io_managers.staged import StagedTable, rejected_schema
from plumbing_dagster.tables import PARTITION_COLUMN, REJECT_REASON_COLUMN, REJECT_RECORD_COLUMN, quote


def staging_sql_type(spec: FieldSpec) -> str | None:
    """The DuckDB type a field is staged as; None keeps the landed (nested) type as it is."""
    return contract_type(spec).duckdb


def _column_expression(name: str, spec: FieldSpec, present: bool) -> str:
    sql_type = staging_sql_type(spec)
    if not present:  # the contract grew after this day landed
        return f"CAST(NULL AS {sql_type or 'VARCHAR'}) AS {quote(name)}"
    if sql_type is None:
        return quote(name)
    return f"TRY_CAST({quote(name)} AS {sql_type}) AS {quote(name)}"


def _reject_reasons(config: StreamConfig, present: set[str]) -> list[str]:
    reasons = []
    for key in config.key_columns:
        column = quote(key) if key in present else "NULL"
        reasons.append(f"WHEN {column} IS NULL THEN 'missing primary key {key}'")
    if VIOLATIONS_COLUMN in present:
        reasons.append(
            f"WHEN {quote(VIOLATIONS_COLUMN)} IS NOT NULL THEN 'wrong type: ' || {quote(VIOLATIONS_COLUMN)}"
        )
    for name, spec in config.fields.items():
        sql_type = staging_sql_type(spec)
        if name in present and sql_type and sql_type != "VARCHAR":
            reasons.append(
                f"WHEN {quote(name)} IS NOT NULL AND TRY_CAST({quote(name)} AS {sql_type}) IS NULL "
                f"THEN 'field {name}: ' || CAST({quote(name)} AS VARCHAR) || ' is not {sql_type}'"
            )
    return reasons


def apply_contract(
    landed: pa.Table, config: StreamConfig, metadata: Mapping[str, object] | None = None
) -> StagedTable:
    """Typed, deduplicated rows and the records put aside, from the rows landed for some days.

    `landed` must carry a `partition_date` column (DATE) next to the landed fields.
    """
    present = set(landed.column_names)
    columns = [_column_expression(n, s, n in present) for n, s in config.fields.items()]
    reasons = _reject_reasons(config, present)
    reason_sql = f"CASE {' '.join(reasons)} END" if reasons else "CAST(NULL AS VARCHAR)"
    partition = quote(PARTITION_COLUMN)
    keys = ", ".join(quote(k) for k in config.key_columns)
    # Equal cursors: the version landed last wins (rows are numbered in landing order).
    newest_first = (
        f"{quote(config.cursor)} DESC NULLS LAST, " if config.cursor else ""
    ) + "_plumbing_row DESC"
    one_per_key = (
        f"QUALIFY row_number() OVER (PARTITION BY {partition}, {keys} ORDER BY {newest_first}) = 1"
        if config.destination_sync_mode == "merge"
        else ""
    )

    import duckdb  # only in processes that use DuckDB: see plumbing_dagster.exit

    conn = duckdb.connect()
    try:
        conn.execute("SET TimeZone = 'UTC'")
        # An explicit row number ties each rejected record back to its landed row.
        numbered = landed.append_column("_plumbing_row", pa.array(range(landed.num_rows), pa.int64()))
        conn.register("landed", numbered)
        conn.execute(
            f"""CREATE TEMP TABLE checked AS
                SELECT {", ".join(columns)}, {partition},
                       {reason_sql} AS {quote(REJECT_REASON_COLUMN)},
                       _plumbing_row
                FROM landed"""
        )
        rows = conn.sql(
            f"""SELECT * EXCLUDE ({quote(REJECT_REASON_COLUMN)}, _plumbing_row) FROM checked
                WHERE {quote(REJECT_REASON_COLUMN)} IS NULL
                {one_per_key}
                ORDER BY {partition}, {keys}, _plumbing_row"""
        ).to_arrow_table()
        record_columns = [c for c in landed.column_names if c != PARTITION_COLUMN]
        record_sql = (
            "to_json(struct_pack(" + ", ".join(f"{quote(c)} := n.{quote(c)}" for c in record_columns) + "))"
            if record_columns
            else "'{}'"
        )
        rejected = conn.sql(
            f"""SELECT n.{partition}, c.{quote(REJECT_REASON_COLUMN)},
                       {record_sql} AS {quote(REJECT_RECORD_COLUMN)}
                FROM landed AS n JOIN checked AS c ON n._plumbing_row = c._plumbing_row
                WHERE c.{quote(REJECT_REASON_COLUMN)} IS NOT NULL
                ORDER BY n._plumbing_row"""
        ).to_arrow_table()
    finally:
        conn.close()
    duplicates = landed.num_rows - rows.num_rows - rejected.num_rows
    return StagedTable(
        rows=rows,
        rejected=rejected.cast(rejected_schema()),
        metadata={
            "plumbing/landed_rows": landed.num_rows,
            "plumbing/duplicates_dropped": duplicates,
            **(metadata or {}),
        },
    )
