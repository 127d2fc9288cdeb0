"""SQL for a Dagster `TableSlice` (the partitions an IO manager reads or replaces)."""

from __future__ import annotations

from datetime import datetime

from dagster import TimeWindow
from dagster._core.storage.db_io_manager import TableSlice

from plumbing_dagster.tables import qualified, quote


def _date_literal(moment: datetime) -> str:
    # Partition columns are DATEs: compare with plain dates, never with zoned timestamps.
    return f"DATE '{moment.strftime('%Y-%m-%d')}'"


def partition_filter(table_slice: TableSlice) -> str | None:
    """`WHERE` body selecting the slice's partitions, or None for an unpartitioned table."""
    clauses = []
    for dimension in table_slice.partition_dimensions or []:
        column = quote(dimension.partition_expr)
        if isinstance(dimension.partitions, TimeWindow):
            start, end = dimension.partitions
            clauses.append(f"{column} >= {_date_literal(start)} AND {column} < {_date_literal(end)}")
        else:
            values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in dimension.partitions)
            clauses.append(f"{column} IN ({values})" if values else "FALSE")
    return " AND ".join(clauses) if clauses else None


def select_statement(table_slice: TableSlice, table: str | None = None) -> str:
    columns = ", ".join(quote(c) for c in table_slice.columns) if table_slice.columns else "*"
    statement = f"SELECT {columns} FROM {qualified(table_slice.schema, table or table_slice.table)}"
    where = partition_filter(table_slice)
    return f"{statement} WHERE {where}" if where else statement


def delete_statement(table_slice: TableSlice, table: str | None = None) -> str:
    statement = f"DELETE FROM {qualified(table_slice.schema, table or table_slice.table)}"
    where = partition_filter(table_slice)
    return f"{statement} WHERE {where}" if where else statement
