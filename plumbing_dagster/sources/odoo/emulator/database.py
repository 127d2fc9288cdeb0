"""The emulated Odoo's tables as of the transactions applied so far, and the ORM's reads on them:
`search` (domain, `active_test`, order, offset, limit), `read` (field projection, `load`) and the
way values go on the wire.

Values as Odoo sends them: many2one as `[id, display_name]` (a bare id with `load=None`) or
`false`; one2many/many2many as id lists; `false` for an empty char, text, selection, date or
datetime; datetimes as naive UTC `YYYY-MM-DD HH:MM:SS`. Display names are computed when read, from
the related record as it is now — renaming a partner changes what its orders show without touching
their `write_date`, as in Odoo.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from plumbing_dagster.sources.odoo.emulator.domain import Row, compile_domain, mentions
from plumbing_dagster.sources.odoo.emulator.errors import OdooError, value_error
from plumbing_dagster.sources.odoo.emulator.models import Field, ModelSpec, first_line, model_specs
from plumbing_dagster.sources.odoo.emulator.ordering import (
    Ordered,
    arrange,
    order_rows,
    parse_order,
    tie_seed,
)
from plumbing_dagster.sources.odoo.emulator.timeline import Transaction, stamp

CLASSIC_READ = "_classic_read"
ORDERED_CACHED = 64  # searches kept sorted between two transactions (a backfill asks one per day)


def _bound(value: Any, clause: str) -> int:
    """An OFFSET or LIMIT as PostgreSQL takes it; 0, None and False mean none (Odoo adds no clause)."""
    if value is None or value is False:
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OdooError(
            "psycopg2.errors.InvalidTextRepresentation", f'invalid input syntax for type bigint: "{value}"\n'
        )
    if value < 0:
        exception = (
            "InvalidRowCountInLimitClause" if clause == "LIMIT" else "InvalidRowCountInResultOffsetClause"
        )
        raise OdooError(f"psycopg2.errors.{exception}", f"{clause} must not be negative\n")
    return value


class Database:
    """Rows by model and id (internal values: ids for many2one, `None` for empty), the rows
    deleted so far, and for each row the second its current version was committed."""

    def __init__(self, version: int, seed: int):
        self.version = version
        self.seed = seed
        self.specs: Mapping[str, ModelSpec] = model_specs(version)
        self.tables: dict[str, dict[int, Row]] = {model: {} for model in self.specs}
        self.deleted: dict[str, dict[int, str]] = {model: {} for model in self.specs}
        self.committed: dict[str, dict[int, int]] = {model: {} for model in self.specs}
        # One2many fields: (comodel, inverse many2one) -> parent id -> child ids.
        self._children: dict[tuple[str, str], dict[int, set[int]]] = {
            (field.relation, field.relation_field): {}
            for spec in self.specs.values()
            for field in spec.fields.values()
            if field.type == "one2many" and field.relation and field.relation_field
        }
        self._ordered: dict[tuple[str, str, Any], Ordered] = {}  # searches as of the last `apply`

    # -- transactions ----------------------------------------------------------------------------

    def apply(self, transaction: Transaction) -> None:
        """Make a committed transaction visible: rows it writes get its start as `write_date`."""
        when = stamp(transaction.started)
        self._ordered.clear()
        for change in transaction.changes:
            table = self.tables[change.model]
            if change.values is None:
                row = table.pop(change.id, None)
                if row is not None:
                    self.deleted[change.model][change.id] = stamp(transaction.committed)
                    self.committed[change.model].pop(change.id, None)
                    self._index(change.model, row, add=False)
                continue
            if change.create:
                row = {"id": change.id, **change.values, "create_uid": transaction.uid, "create_date": when}
                table[change.id] = row
                self._index(change.model, row, add=True)
            elif (row := table.get(change.id)) is not None:
                row.update(change.values)
            else:
                continue
            row["write_uid"], row["write_date"] = transaction.uid, when
            self.committed[change.model][change.id] = transaction.committed

    def _index(self, model: str, row: Row, add: bool) -> None:
        for (comodel, inverse), children in self._children.items():
            if comodel == model and row.get(inverse) is not None:
                kids = children.setdefault(row[inverse], set())
                (kids.add if add else kids.discard)(row["id"])

    # -- what domains and orders read (domain.Source) ----------------------------------------------

    def spec(self, model: str) -> ModelSpec:
        return self.specs[model]

    def rows(self, model: str) -> Iterable[Row]:
        return self.tables[model].values()

    def get(self, model: str, id_: Any) -> Row | None:
        return self.tables[model].get(id_) if isinstance(id_, int) else None

    def related_ids(self, model: str, field: Field, row: Row) -> list[int]:
        if field.type == "one2many" and field.relation and field.relation_field:
            return sorted(self._children[(field.relation, field.relation_field)].get(row["id"], ()))
        return list(row.get(field.name) or ())

    def display_name(self, model: str, row: Row) -> str:
        if model == "res.partner":
            return row.get("complete_name") or row.get("name") or ""
        if model == "product.product":
            code = row.get("default_code")
            return f"[{code}] {row['name']}" if code else row["name"]
        if model == "sale.order.line":
            order = self.get("sale.order", row.get("order_id"))
            product = self.get("product.product", row.get("product_id"))
            description = first_line(row.get("name")) or (
                self.display_name("product.product", product) if product else ""
            )
            return f"{order['name'] if order else ''} - {description}"
        return row.get("name") or f"{model},{row['id']}"

    # -- the ORM -----------------------------------------------------------------------------------

    def search_rows(
        self,
        model: str,
        domain: Any,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[Row]:
        """The rows `search` finds, in order, paged — as Odoo's `_search` builds its query."""
        spec = self.specs[model]
        domain = list(domain) if isinstance(domain, (list, tuple)) else domain
        if spec.has_active and (context or {}).get("active_test", True) and isinstance(domain, list):
            if not mentions(domain, "active"):  # Odoo filters archived rows unless told otherwise
                domain = [("active", "=", True), *domain]
        first, count = _bound(offset, "OFFSET"), _bound(limit, "LIMIT")
        order = order or spec.order
        # Paging a search asks the same query once per page: filter and sort once per state of the
        # data (every page re-sorting all rows made a full read quadratic).
        query = (model, repr(domain), order)
        ordered = self._ordered.get(query)
        if ordered is None:
            terms = parse_order(self, model, order)
            predicate = compile_domain(self, model, domain)
            ordered = order_rows((row for row in self.tables[model].values() if predicate(row)), terms)
            if len(self._ordered) >= ORDERED_CACHED:
                del self._ordered[next(iter(self._ordered))]  # the oldest query
            self._ordered[query] = ordered
        return ordered.page(first, count, tie_seed(self.seed, model, order, first, count))

    def count(
        self, model: str, domain: Any, limit: Any = None, context: Mapping[str, Any] | None = None
    ) -> int:
        found = len(self.search_rows(model, domain, 0, None, "id", context))
        cap = _bound(limit, "LIMIT")
        return min(found, cap) if cap else found

    def field_names(self, model: str, fields: Any) -> list[str]:
        """The fields a read returns, or Odoo's error for an unknown one (no fields: all)."""
        spec = self.specs[model]
        if not fields:
            return [name for name in spec.fields if name != "id"]
        if not isinstance(fields, (list, tuple, str)):
            raise OdooError("builtins.TypeError", f"'{type(fields).__name__}' object is not iterable")
        names = list(fields)
        for name in names:
            if not isinstance(name, str) or name not in spec.fields:
                raise value_error(f"Invalid field {name!r} on model {model!r}")
        return [name for name in dict.fromkeys(names) if name != "id"]

    def read_rows(self, model: str, ids: Any) -> list[Row]:
        """`browse(ids)`: existing rows in the order asked, deleted ones left out (archived kept)."""
        if isinstance(ids, int) and not isinstance(ids, bool):
            ids = [ids]
        if not isinstance(ids, (list, tuple)) or not all(isinstance(i, int) for i in ids):
            raise value_error(f"Invalid ids {ids!r}: expected a list of integers")
        table = self.tables[model]
        return [table[i] for i in ids if i in table]

    def render(
        self, model: str, rows: Sequence[Row], names: Sequence[str], load: Any
    ) -> list[dict[str, Any]]:
        """Rows as `read` returns them: `id` first, then the fields in the order asked."""
        fields = self.specs[model].fields
        with_names = load == CLASSIC_READ
        return [
            {"id": row["id"], **{name: self._value(model, fields[name], row, with_names) for name in names}}
            for row in rows
        ]

    def _value(self, model: str, field: Field, row: Row, with_names: bool) -> Any:
        value = row.get(field.name)
        kind = field.type
        if field.name == "display_name":
            return self.display_name(model, row)
        if kind == "many2one":
            target = self.get(field.relation or "", value)
            if target is None:
                return False
            return [value, self.display_name(field.relation or "", target)] if with_names else value
        if kind == "one2many":
            children = [self.tables[field.relation or ""][i] for i in self.related_ids(model, field, row)]
            terms = parse_order(self, field.relation or "", self.specs[field.relation or ""].order)
            return [child["id"] for child in arrange(children, terms, None)]
        if kind == "many2many":
            return sorted(value or [])
        if kind == "boolean":
            return bool(value)
        if kind == "integer":
            return int(value or 0)
        if kind in ("float", "monetary"):
            return float(value or 0.0)
        return value if value not in (None, "") else False
