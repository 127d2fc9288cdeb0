"""SQL for a Dagster `TableSlice` (the partitions an IO manager reads or replaces)."""

from __future__ import annotations

from datetime import datetime

from dagster import TimeWindow
from dagster._core.storage.db_io_manager import TableSlice

from plumbing_dagster.tables import qualified, quote

# Asset metadata of a mart each of whose rows belongs to the day of a key's current version (a
# Jira issue's rows move to the day its newest version was landed): the column naming the key, and
# the `__current` view (its quoted SQL name) and key column it refers to. Writing days removes, from
# every other day, the rows of the keys whose current version is in the written days — in the
# same transaction.
META_ONE_DAY_PER = "plumbing/one_day_per"
META_ONE_DAY_PER_VIEW = "plumbing/one_day_per_view"
META_ONE_DAY_PER_KEY = "plumbing/one_day_per_key"


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


def superseded_filter(table_slice: TableSlice, column: str, view: str, key: str) -> str | None:
    """`WHERE` body selecting, outside the slice's partitions, the rows whose `column` names a key
    whose current version (`view`, partitioned like the slice) is in the slice's partitions; None
    for an unpartitioned table."""
    where = partition_filter(table_slice)
    if where is None:
        return None
    return f"NOT ({where}) AND {quote(column)} IN (SELECT {quote(key)} FROM {view} WHERE {where})"
