"""Odoo's values as typed columns: the columns a model offers (from its `fields_get`), and how a
record as `search_read` returns it becomes a row of them. Discovery and extraction both use
`plan_columns`, so the catalog and the landed rows always agree.

- many2one `[id, "display name"]` → `<stem>_id` (integer) and `<stem>_name` (string), the stem
  being the field's name without its `_id` suffix: `partner_id` → `partner_id`, `partner_name`;
  Odoo 17's `product_uom` → `product_uom_id`, `product_uom_name` (the columns Odoo 19's
  `product_uom_id` gives too). A name another field already has is not reused: then the id column
  keeps the field's own name and the name column is `<field>_name` (`crm.lead` has a char
  `partner_name`, so its `partner_id` gives `partner_id` and `partner_id_name`). `false` → nulls.
- one2many / many2many: arrays of ids, as Odoo sends them.
- float and monetary: exact decimals (`format: decimal`: landed as text, staged as DECIMAL(38,9)
  in DuckDB and numeric in Postgres), never binary floats.
- datetime: Odoo's naive UTC `2026-01-14 05:00:00` → `2026-01-14T05:00:00Z`; date stays
  `YYYY-MM-DD`.
- `false` → null for every type but boolean: Odoo sends `false` for an empty string, date,
  selection or relation.
- json / properties: JSON text; any type not known here: a string.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plumbing_dagster.config.models import IDENTIFIER, FieldSpec
from plumbing_dagster.kit import Record

logger = logging.getLogger(__name__)

Convert = Callable[[Any], Any]

_SPECS: dict[str, dict[str, Any]] = {
    "integer": {"type": ["null", "integer"]},
    "many2one_reference": {"type": ["null", "integer"]},
    "float": {"type": ["null", "number"], "format": "decimal"},
    "monetary": {"type": ["null", "number"], "format": "decimal"},
    "boolean": {"type": ["null", "boolean"]},
    "date": {"type": ["null", "string"], "format": "date"},
    "datetime": {"type": ["null", "string"], "format": "date-time"},
    "one2many": {"type": ["null", "array"], "items": {"type": "integer"}},
    "many2many": {"type": ["null", "array"], "items": {"type": "integer"}},
    "json": {"type": ["null", "object"]},
    "properties": {"type": ["null", "object"]},
    "properties_definition": {"type": ["null", "object"]},
}
_TEXT: dict[str, Any] = {"type": ["null", "string"]}  # char, text, html, selection, reference, ...


def _value(value: Any) -> Any:
    return None if value is False else value


def _boolean(value: Any) -> Any:
    return value


def _ids(value: Any) -> Any:
    return value if isinstance(value, list) else None


def _datetime(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"
    return _value(value)


def _json(value: Any) -> Any:
    return None if value is False or value is None else value


def _text(value: Any) -> Any:
    if value is False or value is None or isinstance(value, str):
        return _value(value)
    return json.dumps(value, separators=(",", ":"))


def _many2one_id(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _many2one_name(value: Any) -> Any:
    return _value(value[1]) if isinstance(value, list) and len(value) > 1 else None


_CONVERT: dict[str, Convert] = {
    "integer": _value,
    "many2one_reference": _value,
    "float": _value,
    "monetary": _value,
    "boolean": _boolean,
    "date": _value,
    "datetime": _datetime,
    "one2many": _ids,
    "many2many": _ids,
    "json": _json,
    "properties": _json,
    "properties_definition": _json,
}
KNOWN_TYPES = frozenset({*_SPECS, "many2one", "char", "text", "html", "selection", "reference"})


@dataclass(frozen=True)
class Column:
    """One column a model offers: which Odoo field it comes from, its type, how a value becomes it."""

    name: str
    field: str
    spec: FieldSpec
    convert: Convert


def _spec(schema: Mapping[str, Any], label: Any, suffix: str = "") -> FieldSpec:
    description = f"{label}{suffix}" if isinstance(label, str) and label else None
    return FieldSpec.model_validate({**schema, **({"description": description} if description else {})})


def plan_columns(described: Mapping[str, Mapping[str, Any]]) -> dict[str, Column]:
    """Every column of a model, by name, from its `fields_get` (names with `type` and `string`).

    Real field names keep theirs; many2one columns take the names left (see the module docstring).
    Fields whose names cannot be columns (not lowercase identifiers) are left out, with a warning."""
    usable = {name: info for name, info in described.items() if IDENTIFIER.match(name)}
    for name in sorted(set(described) - set(usable)):
        logger.warning("odoo: field %r cannot be a column name; left out", name)
    taken = set(usable)
    columns: dict[str, Column] = {}
    for name in sorted(usable):
        info = usable[name]
        kind, label = info.get("type"), info.get("string")
        if kind == "id" or name == "id":
            columns[name] = Column(name, name, FieldSpec(type="integer", description="ID"), _value)
        elif kind == "many2one":
            stem = name.removesuffix("_id")
            id_column = f"{stem}_id" if f"{stem}_id" == name or f"{stem}_id" not in taken else name
            name_column = next((c for c in (f"{stem}_name", f"{name}_name") if c not in taken), None)
            if name_column is None or not IDENTIFIER.match(name_column) or not IDENTIFIER.match(id_column):
                logger.warning("odoo: no free column names for many2one %r; left out", name)
                continue
            taken |= {id_column, name_column}
            columns[id_column] = Column(
                id_column, name, _spec(_SPECS["integer"], label, " (id)"), _many2one_id
            )
            columns[name_column] = Column(name_column, name, _spec(_TEXT, label, " (name)"), _many2one_name)
        else:
            schema = _SPECS.get(kind, _TEXT)  # type: ignore[arg-type]
            columns[name] = Column(name, name, _spec(schema, label), _CONVERT.get(kind, _text))  # type: ignore[arg-type]
    return columns


def select(columns: Mapping[str, Column], names: Iterable[str], model: str) -> list[Column]:
    """The columns named (all of them for none), or an error naming those the model lacks."""
    names = list(names)
    if not names:
        return list(columns.values())
    missing = [n for n in names if n not in columns]
    if missing:
        raise ValueError(
            f"odoo: {model} has no field for column(s) {', '.join(missing)} "
            "(renamed in this Odoo version? re-run `plumbing discover odoo`)"
        )
    return [columns[n] for n in names]


def row_maker(columns: Sequence[Column]) -> Callable[[Record], Record]:
    """A function from an Odoo record to a row of `columns`."""
    plan = [(c.name, c.field, c.convert) for c in columns]

    def make(record: Record) -> Record:
        return {name: convert(record.get(field)) for name, field, convert in plan}

    return make
