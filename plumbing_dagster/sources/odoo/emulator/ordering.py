"""The `order` of a search, and what PostgreSQL does with ties.

An order is Odoo's comma-separated `field [asc|desc] [nulls first|last]`; a many2one sorts by its
model's own `_order` (reversed for `desc`), as Odoo joins it. PostgreSQL's defaults hold: ascending
puts empty values last, descending first; booleans sort as `COALESCE(col, false)`.

Ties are where offset paging goes wrong (odoo/odoo#190412): rows equal on every ordered column come
back in no defined order, and with `LIMIT` PostgreSQL's top-N heapsort settles them differently for
each `(offset, limit)`. The emulator reproduces that deterministically: without a limit, ties keep
the scan order (by id); with one, each run of tied rows is shuffled by a generator seeded with the
query's model, order, offset and limit. Two pages of `order='write_date asc'` over records sharing
one second therefore overlap and leave gaps, while `order='write_date asc, id asc'` (no ties) pages
exactly. The same query always gives the same answer, over either protocol.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from plumbing_dagster.kit.emulator import derive_seed
from plumbing_dagster.sources.odoo.emulator.domain import Row, Source
from plumbing_dagster.sources.odoo.emulator.errors import user_error, value_error
from plumbing_dagster.sources.odoo.emulator.models import X2MANY

ORDER_TERM = re.compile(
    r'(?P<field>[a-z0-9_]+|"[a-z0-9_]+")(?:\.(?P<property>[a-z0-9_]+))?(?::(?P<func>[a-z_]+))?'
    r"(?:\s+(?P<direction>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?",
    re.IGNORECASE,
)
INVALID_ORDER = (
    'Invalid "order" specified (%s). A valid "order" specification is a comma-separated list of valid '
    "field names (optionally followed by asc/desc for the direction)"
)
MANY2ONE_DEPTH = 3  # how deep many2one orders are followed (Odoo stops at cycles)


@dataclass(frozen=True)
class Term:
    """One column of an order: its value for a row, and where it and empty values go."""

    value: Callable[[Row], Any]
    descending: bool
    nulls_first: bool

    def key(self, row: Row) -> tuple[int, Any]:
        # Sorted with reverse=descending; the flag puts empty values first or last either way.
        value = self.value(row)
        nulls_big = self.nulls_first == self.descending
        if value is None:
            return (1, 0) if nulls_big else (0, 0)
        return (0, value) if nulls_big else (1, value)


def _column(name: str, kind: str) -> Callable[[Row], Any]:
    if kind == "boolean":
        return lambda row: bool(row.get(name))
    return lambda row: row.get(name)


def parse_order(source: Source, model: str, order: Any, depth: int = 0) -> list[Term]:
    """The terms of `order` on `model`, or Odoo's error for an invalid one."""
    if not isinstance(order, str):
        raise value_error(f"Invalid order {order!r}")
    spec = source.spec(model)
    terms: list[Term] = []
    for part in order.split(","):
        match = ORDER_TERM.fullmatch(part.strip())
        if match is None:
            raise user_error(INVALID_ORDER % order)
        name = match["field"].strip('"')
        field = spec.fields.get(name)
        if field is None:
            raise value_error(f"Invalid field {name!r} on model {model!r}")
        if match["property"] or match["func"] or not field.store or field.type in X2MANY:
            raise value_error(f"Cannot convert {model}.{part.strip()} to SQL: unsupported in an order")
        descending = (match["direction"] or "asc").lower() == "desc"
        nulls = (match["nulls"] or "").lower()
        if field.type == "many2one" and field.relation and depth < MANY2ONE_DEPTH:
            comodel = field.relation
            for sub in parse_order(source, comodel, source.spec(comodel).order, depth + 1):
                reverse = sub.descending != descending

                def related(row: Row, sub: Term = sub, name: str = name, comodel: str = comodel) -> Any:
                    target = source.get(comodel, row.get(name))
                    return None if target is None else sub.value(target)

                terms.append(Term(related, reverse, nulls == "first" if nulls else reverse))
            continue
        terms.append(Term(_column(name, field.type), descending, nulls == "first" if nulls else descending))
    return terms


@dataclass(frozen=True)
class Ordered:
    """Rows in order (ties in scan order) and where each run of tied rows starts; `runs` ends
    with `len(rows)`. Computed once per state of the data, paged many times."""

    rows: list[Row]
    runs: list[int]

    def page(self, first: int, count: int, tie_seed: int | None) -> list[Row]:
        """Rows `first` to `first + count` (count 0: to the end). With `tie_seed`, each run of tied
        rows is shuffled by it; only the runs the page overlaps are, as the others are not returned."""
        stop = first + count if count else len(self.rows)
        if tie_seed is None:
            return self.rows[first:stop]
        out: list[Row] = []
        run = max(bisect.bisect_right(self.runs, first) - 1, 0)
        while run < len(self.runs) - 1 and self.runs[run] < stop:
            start, end = self.runs[run], self.runs[run + 1]
            tied = self.rows[start:end]
            if len(tied) > 1:
                random.Random(derive_seed(tie_seed, start)).shuffle(tied)
            out.extend(tied[max(first, start) - start : min(stop, end) - start])
            run += 1
        return out


def _sorted(rows: Iterable[Row], terms: Sequence[Term]) -> list[Row]:
    arranged = sorted(rows, key=lambda row: row["id"])
    for term in reversed(terms):  # stable sorts, least significant column first
        arranged.sort(key=term.key, reverse=term.descending)
    return arranged


def order_rows(rows: Iterable[Row], terms: Sequence[Term]) -> Ordered:
    arranged = _sorted(rows, terms)
    keys = [tuple(term.key(row) for term in terms) for row in arranged]
    runs = [i for i in range(len(arranged)) if i == 0 or keys[i] != keys[i - 1]]
    return Ordered(arranged, [*runs, len(arranged)])


def arrange(rows: Iterable[Row], terms: Sequence[Term], tie_seed: int | None) -> list[Row]:
    """`rows` in order. Ties stay in scan (id) order when `tie_seed` is None, else each run of tied
    rows is shuffled by it (what a LIMIT query does)."""
    if tie_seed is None:
        return _sorted(rows, terms)
    return order_rows(rows, terms).page(0, 0, tie_seed)


def tie_seed(seed: int, model: str, order: str, offset: int, limit: int) -> int | None:
    """The tie-breaking seed of a query: None without a limit (a full sort keeps scan order)."""
    return derive_seed("odoo-ties", seed, model, order, offset, limit) if limit else None
