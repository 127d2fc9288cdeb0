"""The warehouse interface: what staging, checks, marts and the IO managers need of a warehouse.

A `Warehouse` opens sessions; a `WarehouseSession` reads, writes Arrow tables by column name
(creating tables and adding missing columns), stages landed days (typing them by their contract,
putting records aside, deduplicating — in its own SQL, see `staging_sql.py`), answers catalog
questions and replaces views. DuckDB and Postgres implement it; nothing else in the project
branches on a warehouse's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar

import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.contract.types import contract_type
from plumbing_dagster.tables import DELETED_ON_COLUMN, PARTITION_COLUMN, key_list, qualified, quote
from plumbing_dagster.warehouses.landed import DayCounts, LandedRows


class WarehouseSession(ABC):
    """One open connection; a write session is one transaction. `location` says where it is
    connected (a file path, `host:port/db`), never with credentials."""

    location: str = ""

    @abstractmethod
    def execute(self, statement: str) -> None: ...

    @abstractmethod
    def read(self, statement: str) -> pa.Table: ...

    @abstractmethod
    def columns(self, schema: str, table: str) -> dict[str, str]:
        """Column name -> type name (as the contract table spells it), in table order; {} if absent."""

    @abstractmethod
    def ensure_schema(self, schema: str) -> None: ...

    @abstractmethod
    def write(self, schema: str, table: str, data: pa.Table) -> None:
        """Create the table if needed, add the columns it lacks, then insert the rows by name."""

    @abstractmethod
    def replace_view(self, schema: str, view: str, body: str) -> None: ...

    @abstractmethod
    def stage(self, schema: str, table: str, landed: LandedRows) -> dict[date, DayCounts]:
        """Type `landed` by its contract, put records that break it aside into
        `<table>__rejected`, keep one version per key and day (merge streams) and insert the rest
        into `<table>` by name — all in this session's transaction, creating both tables and
        adding the columns they lack. The caller has deleted the days' rows of both beforehand."""

    def ensure_columns(self, schema: str, table: str, columns: Mapping[str, str]) -> None:
        """Create the table with these columns (name -> type) if it does not exist, else add the
        ones it lacks; columns it has beyond them stay."""
        existing = self.columns(schema, table)
        target = qualified(schema, table)
        if not existing:
            listed = ", ".join(f"{quote(name)} {kind}" for name, kind in columns.items())
            self.execute(f"CREATE TABLE {target} ({listed})")
            return
        for name, kind in columns.items():
            if name not in existing:
                self.execute(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {kind}")

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.columns(schema, table))

    def rows(self, statement: str) -> list[dict[str, Any]]:
        return self.read(statement).to_pylist()


class Warehouse(ABC):
    """A place staging tables and marts live (the `warehouse` key of a stream config)."""

    name: ClassVar[str]
    # The Dagster pool steps that write to it share (DuckDB allows one writing process).
    write_pool: ClassVar[str | None] = None

    @abstractmethod
    def __init__(self, setting: str):
        """From the environment's one setting for this warehouse (a file path, a URL)."""

    @classmethod
    def type_name(cls, spec: FieldSpec) -> str | None:
        """The column type a contract field is staged as (None: the landed nested type is kept)."""
        return getattr(contract_type(spec), cls.name)

    @staticmethod
    @abstractmethod
    def io_manager(setting: Any) -> Any:
        """Its Dagster IO manager for the environment's setting (a value or a `dg.EnvVar`)."""

    @abstractmethod
    def location(self) -> str:
        """Where it is, without credentials: a file path, `host:port/db`."""

    @abstractmethod
    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """A session for reads."""

    @abstractmethod
    @contextmanager
    def transaction(self, lock: str) -> Iterator[WarehouseSession]:
        """A write session, committed at the end and rolled back on any error; writers holding
        the same `lock` name run one after the other."""

    def query(self, statement: str) -> pa.Table:
        with self.session() as session:
            return session.read(statement)

    def rows(self, statement: str) -> list[dict[str, Any]]:
        return self.query(statement).to_pylist()

    def columns(self, schema: str, table: str) -> dict[str, str]:
        with self.session() as session:
            return session.columns(schema, table)


def current_view_sql(
    schema: str,
    table: str,
    columns: Sequence[str],
    keys: Sequence[str],
    cursor: str | None,
    mode: str,
    keys_table: str | None = None,
) -> str:
    """The body of `<table>__current`, in SQL both warehouses speak.

    `latest_per_key`: the newest version of each key (by cursor, then by the later partition);
    `latest_partition`: the newest day (a snapshot stream's current state). With `keys_table`
    (key snapshots by day), `latest_per_key` adds `deleted_on`: the first snapshot day after the
    key was last seen (in a snapshot, or landed) — null while it still exists."""
    source = qualified(schema, table)
    partition = quote(PARTITION_COLUMN)
    listed = key_list(columns)
    if mode == "latest_partition":
        return f"SELECT {listed} FROM {source} WHERE {partition} = (SELECT max({partition}) FROM {source})"
    if mode != "latest_per_key":
        raise ValueError(f"unknown current-view mode {mode!r} for {schema}.{table}")
    if not keys:
        raise ValueError(f"the current view of {schema}.{table} needs a primary key")
    newest = f"{quote(cursor)} DESC NULLS LAST, " if cursor else ""
    ranked = (
        f"SELECT *, row_number() OVER (PARTITION BY {key_list(keys)} "
        f"ORDER BY {newest}{partition} DESC) AS _plumbing_rank FROM {source}"
    )
    if keys_table is None:
        return f"SELECT {listed} FROM ({ranked}) AS ranked WHERE _plumbing_rank = 1"
    snapshots = qualified(schema, keys_table)
    joined = " AND ".join(f"r.{quote(k)} = s.{quote(k)}" for k in keys)
    return (
        f"SELECT {', '.join(f'r.{quote(c)}' for c in columns)}, "
        f"(SELECT min(d.{partition}) FROM {snapshots} AS d "
        f"WHERE d.{partition} > coalesce(s.last_seen, r.{partition})) AS {quote(DELETED_ON_COLUMN)} "
        f"FROM ({ranked}) AS r "
        f"LEFT JOIN (SELECT {key_list(keys)}, max({partition}) AS last_seen FROM {snapshots} "
        f"GROUP BY {key_list(keys)}) AS s ON {joined} "
        "WHERE r._plumbing_rank = 1"
    )
