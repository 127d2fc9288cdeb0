"""Names of warehouse tables and their SQL spelling, shared by staging, marts, checks and the
warehouses. Identifiers are always quoted, and were checked to be lowercase identifiers by the
config models before they got here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

PARTITION_COLUMN = "partition_date"  # DATE; the IO managers' `partition_expr`
REJECTED_SUFFIX = "__rejected"  # <table>__rejected: records put aside, with their reason
CURRENT_SUFFIX = "__current"  # <table>__current: view with the current version per key
KEYS_SUFFIX = "__keys"  # <table>__keys: key snapshots by day, for streams whose API hides deletes
DELETED_ON_COLUMN = "deleted_on"  # in <table>__current: the first snapshot day a key was missing
REJECT_REASON_COLUMN = "_reject_reason"
REJECT_RECORD_COLUMN = "_record"  # the record as landed, JSON text


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def key_list(columns: Sequence[str]) -> str:
    return ", ".join(quote(c) for c in columns)


def staging_schema(source: str) -> str:
    """Staging tables of a source live in a schema named after it: `<source>.<stream>`."""
    return source


def mart_schema(source: str) -> str:
    """Marts of a source: `marts_<source>.<mart>`, as their asset keys read `marts/<source>/<mart>`."""
    return f"marts_{source}"


def days_filter(days: Sequence[date], table_alias: str | None = None) -> str:
    """`WHERE` body selecting the partitions of `days` (consecutive, in order)."""
    column = f"{table_alias}.{quote(PARTITION_COLUMN)}" if table_alias else quote(PARTITION_COLUMN)
    return f"{column} >= DATE '{days[0]:%Y-%m-%d}' AND {column} <= DATE '{days[-1]:%Y-%m-%d}'"
