"""The SQL of staging that both warehouses share: a stream's contract as expressions over the
relation of landed rows (`warehouses/landed.py`), spelled by each warehouse's `Dialect`.

- Each contract field is cast to its staged type (TRY_CAST in DuckDB; in Postgres a plain cast,
  or one guarded by `pg_input_is_valid` when a value may not parse); a field the landed files
  lack is NULL of that type, a nested field keeps its landed value.
- A record breaks the contract when a key is missing, when landing recorded a value of the
  wrong type (`_contract_violations`), or when a value does not parse as its staged type; the
  first of these is its reason, and the record goes aside as landed (JSON text).
- Of the versions of a key on one day, the newest wins: highest cursor (NULL cursors lose), then
  the one landed last — by the producer's extraction time when it has one (Airbyte), then by file
  order and row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN
from plumbing_dagster.tables import PARTITION_COLUMN, key_list, quote
from plumbing_dagster.warehouses.landed import FILE_COLUMN, LANDED_AT_COLUMN, ROW_COLUMN


class Dialect(Protocol):
    """How one warehouse spells the few things staging SQL needs beyond standard SQL."""

    def column_type(self, spec: FieldSpec) -> str | None:
        """The staged column's type (None: a nested field keeps its landed type)."""
        ...

    def cast_type(self, spec: FieldSpec) -> str | None:
        """The type landed values are cast to; None when the landed value is kept as it is."""
        ...

    def cast(self, expression: str, sql_type: str, guarded: bool) -> str:
        """`expression` as `sql_type`; NULL instead of an error where `guarded` (or always)."""
        ...

    def does_not_parse(self, expression: str, sql_type: str) -> str:
        """True where a non-NULL `expression` is no valid `sql_type`."""
        ...

    def as_text(self, expression: str) -> str: ...

    def record_json(self, alias: str, columns: Sequence[str]) -> str:
        """The named columns of a row as one JSON object, as text."""
        ...


class StagingSql:
    """SQL fragments for staging one stream from a relation of landed rows, which has every
    column of `LandedRows.staging_schema()` (a file of an older, smaller contract gives NULLs for
    the newer fields). `guarded`: whether casts must survive values that do not parse."""

    def __init__(self, config: StreamConfig, dialect: Dialect, landed_at: bool = False):
        self.config = config
        self.dialect = dialect
        self.landed_at = landed_at
        self.keys = config.key_columns
        self.merge = config.destination_sync_mode == "merge"

    # -- columns ---------------------------------------------------------------------------------
    def record_columns(self) -> list[str]:
        """The landed columns a record put aside shows: the contract's, then the violations."""
        return [*self.config.fields, VIOLATIONS_COLUMN]

    def typed(self, name: str, alias: str, guarded: bool) -> str:
        """The staged value of field `name` of the row `alias`."""
        cast_type = self.dialect.cast_type(self.config.fields[name])
        column = f"{alias}.{quote(name)}"
        return column if cast_type is None else self.dialect.cast(column, cast_type, guarded)

    def typed_columns(self, alias: str, guarded: bool) -> list[str]:
        """Every contract field as staged, in contract order, named by the field."""
        return [f"{self.typed(name, alias, guarded)} AS {quote(name)}" for name in self.config.fields]

    def staged_names(self) -> list[str]:
        return [*self.config.fields, PARTITION_COLUMN]

    def column_types(self, landed_types: dict[str, str]) -> dict[str, str]:
        """The staged table's columns and types; nested fields take their landed type."""
        types = {}
        for name, spec in self.config.fields.items():
            kind = self.dialect.column_type(spec) or landed_types.get(name)
            if kind is None:
                raise TypeError(f"no column type for nested field {name!r}: it was not landed")
            types[name] = kind
        return {**types, PARTITION_COLUMN: "DATE"}

    # -- the contract ----------------------------------------------------------------------------
    def casts_that_may_fail(self) -> list[tuple[str, str]]:
        """(field, type) of the landed fields whose values may not parse as their staged type."""
        found = []
        for name, spec in self.config.fields.items():
            cast_type = self.dialect.cast_type(spec)
            if cast_type is not None:
                found.append((name, cast_type))
        return found

    def reason(self, alias: str, guarded: bool) -> str:
        """Why the row `alias` breaks the contract, or NULL. Unguarded, values that do not parse
        are not looked at: the casts themselves fail then (see the Postgres staging)."""
        whens = []
        for key in self.keys:
            whens.append(f"WHEN {alias}.{quote(key)} IS NULL THEN 'missing primary key {key}'")
        violations = f"{alias}.{quote(VIOLATIONS_COLUMN)}"
        whens.append(f"WHEN {violations} IS NOT NULL THEN 'wrong type: ' || {violations}")
        if guarded:
            for name, cast_type in self.casts_that_may_fail():
                column = f"{alias}.{quote(name)}"
                whens.append(
                    f"WHEN {column} IS NOT NULL AND {self.dialect.does_not_parse(column, cast_type)} "
                    f"THEN 'field {name}: ' || {self.dialect.as_text(column)} || ' is not {cast_type}'"
                )
        return f"CASE {' '.join(whens)} END"

    def keeps_contract(self, alias: str, guarded: bool) -> str:
        """True where the row `alias` has no reason to be put aside: `reason(...) IS NULL` spelled
        as a conjunction, whose selectivity a planner can estimate from column statistics."""
        conditions = [f"{alias}.{quote(key)} IS NOT NULL" for key in self.keys]
        conditions.append(f"{alias}.{quote(VIOLATIONS_COLUMN)} IS NULL")
        if guarded:
            for name, cast_type in self.casts_that_may_fail():
                column = f"{alias}.{quote(name)}"
                conditions.append(
                    f"({column} IS NULL OR NOT {self.dialect.does_not_parse(column, cast_type)})"
                )
        return " AND ".join(conditions)

    def record(self, alias: str) -> str:
        return self.dialect.record_json(alias, self.record_columns())

    # -- versions --------------------------------------------------------------------------------
    def partition_by(self, alias: str) -> str:
        return ", ".join(f"{alias}.{quote(c)}" for c in [PARTITION_COLUMN, *self.keys])

    def newest_first(self, alias: str, guarded: bool) -> str:
        """ORDER BY body putting the version that wins first."""
        order = []
        cursor = self.config.cursor
        if cursor:
            order.append(f"{self.typed(cursor, alias, guarded)} DESC NULLS LAST")
        if self.landed_at:
            order.append(f"{alias}.{quote(LANDED_AT_COLUMN)} DESC NULLS LAST")
        order += [f"{alias}.{quote(FILE_COLUMN)} DESC", f"{alias}.{quote(ROW_COLUMN)} DESC"]
        return ", ".join(order)

    def losers(self, relation: str, kept: str, guarded: bool, checked: str | None = None) -> str:
        """A SELECT of the row ids and day of the versions in `relation` (rows `l` where `kept`
        holds) that lose to a newer version of their key on their day. Only keys landed more
        than once that day are ranked: on a usual day that is a small share of the rows.
        `checked` (an expression over `l`) is selected too, as `_plumbing_checked`, so that it is
        evaluated for every ranked version."""
        keys = [quote(c) for c in (PARTITION_COLUMN, *self.keys)]
        # Counting every version with a key keeps this grouping cheap to plan and to run; the
        # versions put aside are left out of the ranking below.
        repeated = (
            f"SELECT {', '.join(keys)} FROM {relation} "
            f"WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)} "
            f"GROUP BY {', '.join(keys)} HAVING count(*) > 1"
        )
        selected = f", {checked} AS _plumbing_checked" if checked else ""
        return (
            f"SELECT {quote(FILE_COLUMN)}, {quote(ROW_COLUMN)}, {quote(PARTITION_COLUMN)}"
            f"{', _plumbing_checked' if checked else ''} FROM ("
            f"SELECT {self.row_id('l')}, l.{quote(PARTITION_COLUMN)}{selected}, "
            f"row_number() OVER (PARTITION BY {self.partition_by('l')} "
            f"ORDER BY {self.newest_first('l', guarded)}) AS _plumbing_rank "
            f"FROM {relation} AS l JOIN ({repeated}) AS d "
            f"ON {' AND '.join(f'l.{k} = d.{k}' for k in keys)} WHERE {kept}) AS ranked "
            "WHERE _plumbing_rank > 1"
        )

    def same_row(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{quote(c)} = {right}.{quote(c)}" for c in (FILE_COLUMN, ROW_COLUMN))

    def row_id(self, alias: str) -> str:
        return f"{alias}.{quote(FILE_COLUMN)}, {alias}.{quote(ROW_COLUMN)}"

    def key_list(self) -> str:
        return key_list(self.keys)
