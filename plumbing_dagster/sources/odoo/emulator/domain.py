"""Odoo search domains, evaluated in Python the way Odoo's SQL evaluates them.

A domain is a list in prefix notation: leaves `[field, operator, value]` and the operators `'&'`,
`'|'` (two operands) and `'!'` (one), with an implicit `'&'` between consecutive terms. What the
emulator reproduces of Odoo (17-19):

- `=`, `!=` (`<>`), `<`, `<=`, `>`, `>=`, `in`, `not in`, `like`, `ilike`, `not like`, `not ilike`,
  `=like`, `=ilike`, `=?`, `child_of`, `parent_of`, `any`, `not any`; dotted paths through
  relational fields (`partner_id.name`), rewritten to `any` as Odoo 17+ does.
- SQL's NULL logic: a negative operator matches what its positive one does not, NULL included
  (`!=`, `not in`, `not ilike` match empty values; `<`, `>` never do); `= False` means "is empty".
- `like`/`ilike` wrap the value in `%`; `%` and `_` in it are wildcards, as Odoo does not escape them.
- a many2one compared with text searches the related records by display name.
- datetime values are parsed as `fields.Datetime.to_datetime` does: naive `YYYY-MM-DD HH:MM:SS`
  (a date alone means its start, or its end for `>` and `<=`); anything else — a `T` separator, a
  time zone — is a `ValueError`, so a zoned literal is rejected rather than silently misread.
- an unknown field or operator is a `ValueError`, as in Odoo.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from plumbing_dagster.sources.odoo.emulator.errors import value_error
from plumbing_dagster.sources.odoo.emulator.models import NUMERIC, X2MANY, Field, ModelSpec

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

OPERATORS = frozenset(
    {
        "=",
        "!=",
        "<=",
        "<",
        ">",
        ">=",
        "=?",
        "=like",
        "=ilike",
        "like",
        "not like",
        "ilike",
        "not ilike",
        "in",
        "not in",
        "child_of",
        "parent_of",
        "any",
        "not any",
    }
)
NEGATIVE = {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike", "not any": "any"}
LIKE = frozenset({"like", "ilike", "=like", "=ilike"})
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


class Source(Protocol):
    """The records a domain is evaluated against (the emulator's database)."""

    def spec(self, model: str) -> ModelSpec: ...

    def rows(self, model: str) -> Iterable[Row]: ...

    def get(self, model: str, id_: Any) -> Row | None: ...

    def display_name(self, model: str, row: Row) -> str: ...

    def related_ids(self, model: str, field: Field, row: Row) -> list[int]: ...


def _always(_: Row) -> bool:
    return True


def _never(_: Row) -> bool:
    return False


def mentions(domain: Sequence[Any], field_name: str) -> bool:
    """Whether a leaf of `domain` is on `field_name` (Odoo then adds no `active` filter)."""
    return any(
        isinstance(item, (list, tuple)) and len(item) == 3 and item[0] == field_name for item in domain
    )


def compile_domain(source: Source, model: str, domain: Any) -> Predicate:
    """A predicate on `model`'s rows, or Odoo's `ValueError` for a domain it would refuse."""
    if domain is None or domain is False:
        return _always
    if not isinstance(domain, (list, tuple)):
        raise value_error(f"Invalid domain: {domain!r}")
    items, position = list(domain), 0

    def term() -> Predicate:
        nonlocal position
        if position >= len(items):
            raise value_error(f"Invalid domain: {domain!r}: an operator lacks an operand")
        item = items[position]
        position += 1
        if isinstance(item, str) and item in ("&", "|"):
            first, second = term(), term()
            if item == "&":
                return lambda row: first(row) and second(row)
            return lambda row: first(row) or second(row)
        if isinstance(item, str) and item == "!":
            operand = term()
            return lambda row: not operand(row)
        if isinstance(item, (list, tuple)) and len(item) == 3:
            return _leaf(source, model, tuple(item))
        raise value_error(f"Invalid leaf {item!r}")

    terms = []
    while position < len(items):
        terms.append(term())
    if not terms:
        return _always
    return terms[0] if len(terms) == 1 else lambda row: all(t(row) for t in terms)


def _leaf(source: Source, model: str, leaf: tuple[Any, Any, Any]) -> Predicate:
    path, operator, value = leaf
    if path in (0, 1) and operator == "=" and value == 1:  # Odoo's FALSE_LEAF and TRUE_LEAF
        return _always if path == 1 else _never
    if not isinstance(path, str) or not isinstance(operator, str):
        raise value_error(f"Invalid leaf {leaf!r}")
    operator = "!=" if operator.lower() == "<>" else operator.lower()
    if operator not in OPERATORS:
        raise value_error(f"Invalid leaf {leaf!r}")
    if operator == "=?":
        if value is None or value is False:
            return _always
        operator = "="
    spec = source.spec(model)
    name, _, rest = path.partition(".")
    field = spec.fields.get(name)
    if field is None:
        raise value_error(f"Invalid field {model}.{name} in leaf {leaf!r}")
    if rest:  # a path: `partner_id.name op v` is `partner_id any [(name, op, v)]`
        if field.relation is None:
            raise value_error(f"Invalid field {model}.{name} in leaf {leaf!r}: {name} is not relational")
        positive = NEGATIVE.get(operator, operator)
        matched = _any(source, field, [(rest, positive, value)])
        match = _relational_match(source, model, field, matched)
        return (lambda row: not match(row)) if operator in NEGATIVE else match
    if operator in NEGATIVE:
        positive_match = _positive(source, model, field, NEGATIVE[operator], value, leaf)
        return lambda row: not positive_match(row)
    return _positive(source, model, field, operator, value, leaf)


def _any(source: Source, field: Field, subdomain: Any) -> set[int]:
    """Ids of the related records matching `subdomain` (archived ones included, as Odoo does)."""
    assert field.relation is not None
    predicate = compile_domain(source, field.relation, subdomain)
    return {row["id"] for row in source.rows(field.relation) if predicate(row)}


def _relational_match(
    source: Source, model: str, field: Field, ids: set[int], empty: bool = False
) -> Predicate:
    """Rows whose relational `field` holds one of `ids` (or is empty, when `empty`)."""
    if field.type in X2MANY:

        def x2many(row: Row) -> bool:
            related = source.related_ids(model, field, row)
            return (empty and not related) or any(i in ids for i in related)

        return x2many
    name = field.name
    return lambda row: (row.get(name) is None and empty) or row.get(name) in ids


def _name_search(source: Source, comodel: str, operator: str, value: Any) -> set[int]:
    """Ids of `comodel` records whose display name matches (`name_search`, live records only)."""
    spec = source.spec(comodel)
    names = value if isinstance(value, (list, tuple)) else [value]
    if operator in LIKE:
        test = _like(operator, value)
    else:
        wanted = {str(n) for n in names}
        test = lambda text: text in wanted  # noqa: E731
    return {
        row["id"]
        for row in source.rows(comodel)
        if (not spec.has_active or row.get("active")) and test(source.display_name(comodel, row))
    }


def _hierarchy(source: Source, comodel: str, ids: set[int], down: bool) -> set[int]:
    """`ids` with their descendants (`child_of`) or ancestors (`parent_of`) via `parent_id`."""
    if "parent_id" not in source.spec(comodel).fields:
        return ids
    parent = {row["id"]: row.get("parent_id") for row in source.rows(comodel)}
    found = set(ids)
    while True:
        if down:
            more = {child for child, p in parent.items() if p in found} - found
        else:
            more = {parent[i] for i in found if parent.get(i) is not None} - found
        if not more:
            return found
        found |= more


def _positive(source: Source, model: str, field: Field, operator: str, value: Any, leaf: tuple) -> Predicate:
    name = field.name
    if operator == "any":
        if field.relation is None:
            raise value_error(f"Invalid leaf {leaf!r}: 'any' needs a relational field")
        return _relational_match(source, model, field, _any(source, field, value))
    if field.relation is not None or name == "id":
        return _relational(source, model, field, operator, value, leaf)
    if operator in ("child_of", "parent_of"):
        raise value_error(f"Invalid leaf {leaf!r}: {operator} needs a relational field")
    if field.type in ("date", "datetime"):
        return _temporal(field, operator, value)
    if field.type == "boolean":
        if operator not in ("=", "in"):
            return _compare(name, operator, value)
        values = value if operator == "in" and isinstance(value, (list, tuple)) else [value]
        wanted = {bool(v) for v in values}  # an unset boolean is false
        return lambda row: bool(row.get(name)) in wanted
    if field.type in NUMERIC and operator not in LIKE:
        return _compare(name, operator, _number(value, leaf))
    return _compare(name, operator, value)


def _relational(
    source: Source, model: str, field: Field, operator: str, value: Any, leaf: tuple
) -> Predicate:
    comodel = field.relation or model  # `id` relates a model to itself
    if operator in LIKE or isinstance(value, str):
        return _relational_match(source, model, field, _name_search(source, comodel, operator, value))
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if operator in ("child_of", "parent_of"):
        ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
        if any(isinstance(v, str) for v in values):
            ids |= _name_search(source, comodel, "ilike", [v for v in values if isinstance(v, str)])
        return _relational_match(
            source, model, field, _hierarchy(source, comodel, ids, operator == "child_of")
        )
    if operator in ("=", "in"):
        if any(isinstance(v, str) for v in values):
            names = {v for v in values if isinstance(v, str)}
            ids = _name_search(source, comodel, "=", list(names))
        else:
            ids = set()
        ids |= {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
        empty = any(v is False or v is None for v in values)
        if field.name == "id":
            return lambda row: row["id"] in ids
        return _relational_match(source, model, field, ids, empty)
    if field.type in X2MANY:
        raise value_error(f"Invalid leaf {leaf!r}: {operator} on a {field.type}")
    return _compare(field.name, operator, value)


def _number(value: Any, leaf: tuple) -> Any:
    if isinstance(value, str):  # PostgreSQL casts a numeric literal given as text
        try:
            return float(value)
        except ValueError:
            raise value_error(f"Invalid leaf {leaf!r}: {value!r} is not a number") from None
    if isinstance(value, (list, tuple)):
        return [_number(v, leaf) for v in value]
    return value


def _compare(name: str, operator: str, value: Any) -> Predicate:
    """A comparison on a plain column, with SQL's NULL logic (NULL matches nothing)."""
    if operator in LIKE:
        test = _like(operator, value)
        return lambda row: (v := row.get(name)) is not None and test(_text(v))
    if operator == "in":
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        empty = any(v is False or v is None for v in values)
        wanted = {v for v in values if v is not False and v is not None}

        def within(row: Row) -> bool:
            v = row.get(name)
            return empty if v is None else v in wanted

        return within
    if operator == "=":
        if value is False or value is None:
            return lambda row: row.get(name) is None
        return lambda row: row.get(name) == value
    if value is False or value is None:
        return _never
    compare = {
        "<": lambda a: a < value,
        "<=": lambda a: a <= value,
        ">": lambda a: a > value,
        ">=": lambda a: a >= value,
    }[operator]

    def test_order(row: Row) -> bool:
        v = row.get(name)
        try:
            return v is not None and compare(v)
        except TypeError:
            raise value_error(f"cannot compare {name} with {value!r}") from None

    return test_order


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _like(operator: str, value: Any) -> Callable[[str], bool]:
    """SQL LIKE: `like`/`ilike` look for the value anywhere, `=like`/`=ilike` take it as the pattern."""
    values = value if isinstance(value, (list, tuple)) else [value]
    patterns = []
    for text in values:
        pattern = _text(text)
        if operator in ("like", "ilike"):
            pattern = f"%{pattern}%"
        regex, i = [], 0
        while i < len(pattern):
            char = pattern[i]
            if char == "\\" and i + 1 < len(pattern):
                regex.append(re.escape(pattern[i + 1]))
                i += 1
            else:
                regex.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
            i += 1
        patterns.append(re.compile("".join(regex), re.DOTALL | (re.IGNORECASE if "ilike" in operator else 0)))
    return lambda text: any(p.fullmatch(text) for p in patterns)


def parse_datetime(value: Any, operator: str) -> str | None:
    """A domain value for a datetime field, as `fields.Datetime.to_datetime` reads it."""
    if value is False or value is None:
        return None
    if isinstance(value, str) and len(value) == 10:  # a date: its first (or, for > and <=, last) second
        value += " 23:59:59" if operator in (">", "<=") else " 00:00:00"
    if not isinstance(value, str):
        raise value_error(f"Failed to cast {value!r} into a datetime")
    try:
        return datetime.strptime(value, DATETIME_FORMAT[: len(value) - 2]).strftime(DATETIME_FORMAT)
    except ValueError as exc:
        raise value_error(str(exc)) from None


def parse_date(value: Any) -> str | None:
    if value is False or value is None:
        return None
    if not isinstance(value, str):
        raise value_error(f"Failed to cast {value!r} into a date")
    try:
        return datetime.strptime(value[:10], DATE_FORMAT).strftime(DATE_FORMAT)
    except ValueError as exc:
        raise value_error(str(exc)) from None


def _temporal(field: Field, operator: str, value: Any) -> Predicate:
    if operator in LIKE:  # PostgreSQL compares the text of the timestamp
        return _compare(field.name, operator, value)

    def parse(v: Any) -> str | None:
        return parse_datetime(v, operator) if field.type == "datetime" else parse_date(v)

    if operator == "in":
        values = value if isinstance(value, (list, tuple)) else [value]
        return _compare(field.name, "in", [parse(v) for v in values])
    return _compare(field.name, operator, parse(value))
