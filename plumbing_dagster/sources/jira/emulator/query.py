"""What a parsed JQL query means for the emulator's issues: validation, filtering, ordering.

Searchable here: `project`, `issuetype` (alias `type`), `key` (aliases `issuekey`, `issue`, `id`),
`created` and `updated` (aliases `createdDate`, `updatedDate`). Orderable: `updated`, `created`,
`key`. Other fields Jira knows get a 400 saying the emulator does not emulate them; fields Jira
does not know get Jira's own "Field 'x' does not exist" message.

Dates follow Data Center: an unquoted number is epoch milliseconds (exact); a quoted or unquoted
`yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd`, `yyyy-MM-dd` is a wall-clock time in the
*searching user's* time zone (so minute resolution); `-1d`, `-4w 2d` are periods from now; `now()`
is now. A quoted number is not a date and is rejected, as on Data Center.

With `validateQuery` off, what Jira's validation would reject (an unknown field, an unknown project,
a bad date) becomes a warning and its clause matches nothing, as on Data Center. Issues tie-break on
id after the ORDER BY keys, so paging is stable; without ORDER BY the emulator orders by key
descending (a client should always send one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plumbing_dagster.sources.jira.emulator.catalog import ISSUE_TYPES, Project
from plumbing_dagster.sources.jira.emulator.fields import KNOWN_CLAUSES
from plumbing_dagster.sources.jira.emulator.jql import (
    Clause,
    JqlError,
    Junction,
    Negation,
    Node,
    Value,
    parse,
)
from plumbing_dagster.sources.jira.emulator.times import parse_jql_date
from plumbing_dagster.sources.jira.emulator.world import Row

FIELD_ALIASES = {
    "project": "project",
    "issuetype": "issuetype",
    "type": "issuetype",
    "key": "key",
    "issuekey": "key",
    "issue": "key",
    "id": "key",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
}
ORDERABLE = ("updated", "created", "key")
EQUALITY = ("=", "!=", "in", "not in", "is", "is not")
OPERATORS = {
    "project": EQUALITY,
    "issuetype": EQUALITY,
    "key": EQUALITY,
    "created": ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"),
    "updated": ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"),
}
DATE_FORMATS = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'."
)
DEFAULT_ORDER = (("key", True),)

Predicate = Callable[[Row], bool]


@dataclass(frozen=True)
class Bounds:
    """Half-open limits a query puts on every match (None: open), to read fewer creation days."""

    updated_from: int | None = None
    updated_before: int | None = None
    created_from: int | None = None
    created_before: int | None = None


@dataclass(frozen=True)
class Query:
    matches: Predicate
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    bounds: Bounds
    warnings: tuple[str, ...]

    def sort(self, rows: list[Row]) -> None:
        rows.sort(key=lambda r: r.id)
        for field, descending in reversed(self.order):
            rows.sort(key=_SORT_KEYS[field], reverse=descending)


_SORT_KEYS: dict[str, Callable[[Row], object]] = {
    "updated": lambda r: r.updated,
    "created": lambda r: r.created,
    "key": lambda r: r.key_order(),
}


class _Compiler:
    def __init__(
        self,
        projects: tuple[Project, ...],
        key_exists: Callable[[str], bool],
        zone: str,
        now_ms: int,
        validate: bool,
    ):
        self.projects = projects
        self.key_exists = key_exists
        self.zone = zone
        self.now_ms = now_ms
        self.validate = validate
        self.warnings: list[str] = []

    def invalid(self, message: str) -> None:
        """A value Jira rejects: an error when validating, else a warning (clause matches nothing)."""
        if self.validate:
            raise JqlError(message)
        self.warnings.append(message)

    def node(self, node: Node) -> Predicate:
        if isinstance(node, Junction):
            parts = [self.node(part) for part in node.parts]
            if node.kind == "and":
                return lambda row: all(part(row) for part in parts)
            return lambda row: any(part(row) for part in parts)
        if isinstance(node, Negation):
            inner = self.node(node.part)
            return lambda row: not inner(row)
        return self.clause(node)

    def field(self, name: str, sorting: bool = False) -> str | None:
        """The emulated field a clause or sort names; None for a field Jira does not have (a
        warning when not validating); a 400 for a field Jira has but the emulator does not emulate."""
        canonical = FIELD_ALIASES.get(name.lower())
        if canonical is not None:
            return canonical
        if name.lower() not in KNOWN_CLAUSES and not name.lower().startswith("cf["):
            self.invalid(f"Field '{name}' does not exist or you do not have permission to view it.")
            return None
        raise _not_emulated(name, sorting)

    def clause(self, clause: Clause) -> Predicate:
        field = self.field(clause.field)
        if field is None:
            return lambda row: False
        if clause.operator not in OPERATORS[field]:
            raise JqlError(
                f"The operator '{clause.operator.upper()}' is not supported by the '{clause.field}' field."
            )
        if clause.operator in ("is", "is not"):  # none of these fields is ever empty
            return lambda row: clause.operator == "is not"
        for value in clause.values:
            if value.function and not (field in ("created", "updated") and value.text.lower() == "now"):
                raise JqlError(f"Unable to find JQL function '{value.text}()'.")
        if field in ("created", "updated"):
            return self.date_clause(field, clause)
        wanted = self.resolve(field, clause)
        attribute = {"project": "project", "issuetype": "issuetype"}.get(field)
        positive: Predicate
        if attribute is None:  # by id or by any key the issue has had (moved issues keep old keys)
            positive = lambda row: row.id in wanted or any(k in wanted for k in row.keys)  # noqa: E731
        else:
            positive = lambda row: getattr(row, attribute) in wanted  # noqa: E731
        if clause.operator in ("!=", "not in"):
            return lambda row: not positive(row)
        return positive

    def resolve(self, field: str, clause: Clause) -> set[object]:
        """Project ids/keys/names → indexes, type ids/names → indexes, keys → upper-case keys or ids."""
        found: set[object] = set()
        for value in clause.values:
            text = value.text
            if field == "project":
                match = [
                    p.index for p in self.projects if text.lower() in (p.key.lower(), p.name.lower(), p.id)
                ]
            elif field == "issuetype":
                match = [n for n, t in enumerate(ISSUE_TYPES) if text.lower() in (t.name.lower(), t.id)]
            else:
                if not _is_key(text):
                    raise JqlError(f"The issue key '{text}' for field '{clause.field}' is invalid.")
                exists = self.key_exists(text)
                match = [int(text) if text.isdigit() else text.upper()] if exists else []
                if not match:
                    self.invalid(f"An issue with key '{text}' does not exist for field '{clause.field}'.")
                found.update(match)
                continue
            if not match:
                self.invalid(f"The value '{text}' does not exist for the field '{clause.field}'.")
            found.update(match)
        return found

    def date(self, clause: Clause, value: Value) -> int | None:
        if value.function:
            return self.now_ms
        if not value.quoted and value.text.lstrip("-").isdigit():
            return int(value.text)  # epoch milliseconds
        parsed = parse_jql_date(value.text, self.zone, self.now_ms)
        if parsed is None:
            self.invalid(f"Date value '{value.text}' for field '{clause.field}' is invalid. {DATE_FORMATS}")
        return parsed

    def date_clause(self, field: str, clause: Clause) -> Predicate:
        moments = [self.date(clause, value) for value in clause.values]
        if any(m is None for m in moments):
            return lambda row: False
        get: Callable[[Row], int] = (lambda r: r.updated) if field == "updated" else (lambda r: r.created)
        operator = clause.operator
        if operator in ("in", "not in"):
            wanted = set(moments)
            return (lambda r: get(r) in wanted) if operator == "in" else (lambda r: get(r) not in wanted)
        (moment,) = moments
        assert moment is not None
        compare: dict[str, Predicate] = {
            "=": lambda r: get(r) == moment,
            "!=": lambda r: get(r) != moment,
            ">": lambda r: get(r) > moment,
            ">=": lambda r: get(r) >= moment,
            "<": lambda r: get(r) < moment,
            "<=": lambda r: get(r) <= moment,
        }
        return compare[operator]

    def bounds(self, node: Node | None) -> Bounds:
        """Limits from the top-level AND's date clauses (anything under OR/NOT can widen them)."""
        limits: dict[str, int] = {}
        clauses = node.parts if isinstance(node, Junction) and node.kind == "and" else (node,)
        for part in clauses:
            if not isinstance(part, Clause) or FIELD_ALIASES.get(part.field.lower()) not in (
                "created",
                "updated",
            ):
                continue
            if part.operator not in ("=", ">", ">=", "<", "<=") or part.values[0].function:
                continue
            value = part.values[0]
            moment = int(value.text) if not value.quoted and value.text.lstrip("-").isdigit() else None
            if moment is None:
                moment = parse_jql_date(value.text, self.zone, self.now_ms)
            if moment is None:
                continue
            field = FIELD_ALIASES[part.field.lower()]
            low = {"=": moment, ">": moment + 1, ">=": moment}.get(part.operator)
            high = {"=": moment + 1, "<": moment, "<=": moment + 1}.get(part.operator)
            if low is not None:
                limits[field + "_from"] = max(limits.get(field + "_from", low), low)
            if high is not None:
                limits[field + "_before"] = min(limits.get(field + "_before", high), high)
        return Bounds(**limits)


def _not_emulated(name: str, sorting: bool) -> JqlError:
    if sorting:
        return JqlError(
            f"Error in the JQL Query: the emulator does not order by '{name}' (it orders by updated, "
            "created and key)."
        )
    return JqlError(
        f"Error in the JQL Query: the emulator does not search by '{name}' "
        "(it emulates project, issuetype, key, created and updated)."
    )


def _is_key(text: str) -> bool:
    if text.isdigit():
        return True
    project, _, number = text.partition("-")
    return project.isalnum() and number.isdigit()


def compile_query(
    text: str,
    *,
    projects: tuple[Project, ...],
    key_exists: Callable[[str], bool],
    zone: str,
    now_ms: int,
    validate: bool = True,
) -> Query:
    """The query for `text` as searched by a user in `zone`, or a `JqlError` with Jira's message."""
    parsed = parse(text)
    compiler = _Compiler(projects, key_exists, zone, now_ms, validate)
    matches: Predicate = compiler.node(parsed.where) if parsed.where is not None else (lambda row: True)
    order = []
    for name, _, descending in parsed.order:
        canonical = compiler.field(name, sorting=True)
        if canonical is None:  # no such field, and not validating: not sorted by it
            continue
        if canonical not in ORDERABLE:
            raise _not_emulated(name, sorting=True)
        order.append((canonical, descending))
    return Query(
        matches, tuple(order) or DEFAULT_ORDER, compiler.bounds(parsed.where), tuple(compiler.warnings)
    )
