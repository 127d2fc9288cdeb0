"""Custom fields by their metadata (`GET /rest/api/2/field`): which ones a stream config names, what
column each becomes, and how its value is flattened.

A custom field's column is its name in snake case ("Story Points" → `story_points`). Jira allows
two custom fields with one name, and a name may collide with a system column: then every field of
that name gets its custom id appended (`team_10020`). The rule looks at all custom fields, not only
the selected ones, so a column keeps its name when the selection changes, and the `fields` stream
(the field metadata dump) shows every field's column.

Values are flattened by the field's schema: numbers, strings and dates as they are (date-times
with a colon in the offset), options by their value, users by their name, arrays of those as
lists of strings, Jira Software's sprints by their names; anything else as JSON text. Lists land
as JSON text (`["ABC Sprint 3"]`, a `text` column to cast with `::jsonb`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plumbing_dagster.config.models import FieldSpec

SPRINT_PLUGIN = "com.pyxis.greenhopper.jira:gh-sprint"
_SPRINT_NAME = re.compile(
    r"[\[,]name=(.*?),(?:startDate|endDate|completeDate|activatedDate|goal|sequence|autoStartStop|synced)="
)
_SPRINT_NAME_LAST = re.compile(r"[\[,]name=([^,\]]*)")
MAX_COLUMN = 63  # the longest identifier the config models accept


def jira_datetime(value: Any) -> Any:
    """`2026-11-02T01:30:00.000+0100` → `2026-11-02T01:30:00.000+01:00` (ISO 8601, typable)."""
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        return f"{value[:-2]}:{value[-2:]}"
    return value


def snake(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if cleaned and cleaned[0].isdigit():
        cleaned = "cf_" + cleaned
    return cleaned[:MAX_COLUMN]


def sprint_name(value: Any) -> str | None:
    """A sprint as REST v2 gives it: the `Sprint@...[id=..,name=..]` text, or an object with a name."""
    if isinstance(value, Mapping):
        name = value.get("name")
        return name if isinstance(name, str) else None
    if not isinstance(value, str):
        return None
    found = _SPRINT_NAME.search(value) or _SPRINT_NAME_LAST.search(value)
    return found.group(1) if found else value


def _name_of(value: Any) -> Any:
    if isinstance(value, Mapping):
        for key in ("value", "name", "displayName"):
            if isinstance(value.get(key), str):
                return value[key]
        return None
    return value


def _list_of(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        return [converted for v in values if (converted := item(v)) is not None]

    return convert


def _json_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


_NULLABLE_STRING: dict[str, Any] = {"type": ["null", "string"]}
# Lists travel as JSON text (`["ABC Sprint 3"]`): a jsonb column could not pass through a mart.
_STRINGS: dict[str, Any] = {"type": ["null", "array"]}
# schema type -> (contract type, how a value becomes that)
_SCALARS: dict[str, tuple[dict[str, Any], Callable[[Any], Any]]] = {
    "number": ({"type": ["null", "number"]}, _number),
    "string": (_NULLABLE_STRING, lambda v: v if isinstance(v, str) else _json_text(v)),
    "option": (_NULLABLE_STRING, _name_of),
    "user": (_NULLABLE_STRING, _name_of),
    "group": (_NULLABLE_STRING, _name_of),
    "version": (_NULLABLE_STRING, _name_of),
    "project": (_NULLABLE_STRING, lambda v: v.get("key") if isinstance(v, Mapping) else v),
    "date": ({"type": ["null", "string"], "format": "date"}, lambda v: v),
    "datetime": ({"type": ["null", "string"], "format": "date-time"}, jira_datetime),
}


@dataclass(frozen=True)
class CustomField:
    id: str  # customfield_10010
    name: str  # Story Points
    column: str  # story_points
    spec: Mapping[str, Any]  # the column's contract type (JSON schema)
    convert: Callable[[Any], Any]

    def field_spec(self) -> FieldSpec:
        return FieldSpec.model_validate(self.spec)


def _shape(schema: Mapping[str, Any]) -> tuple[dict[str, Any], Callable[[Any], Any]]:
    kind, items = schema.get("type"), schema.get("items")
    if schema.get("custom") == SPRINT_PLUGIN:
        return _STRINGS, _list_of(sprint_name)
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array" and items in ("string", "option", "user", "group", "version"):
        return _STRINGS, _list_of(_name_of)
    return _NULLABLE_STRING, _json_text


def column_names(fields: Iterable[Mapping[str, Any]], taken: Iterable[str]) -> dict[str, str]:
    """Custom field id → its column (see the module docstring)."""
    customs = [f for f in fields if f.get("custom") and isinstance(f.get("id"), str)]
    plain = {f["id"]: snake(str(f.get("name") or "")) or f["id"] for f in customs}
    reserved = set(taken)
    counts: dict[str, int] = {}
    for name in plain.values():
        counts[name] = counts.get(name, 0) + 1
    columns = {}
    for field_id, name in plain.items():
        if counts[name] > 1 or name in reserved:
            suffix = "_" + field_id.removeprefix("customfield_")
            name = name[: MAX_COLUMN - len(suffix)] + suffix
        columns[field_id] = name
    return columns


def custom_field(field: Mapping[str, Any], column: str) -> CustomField:
    spec, convert = _shape(field.get("schema") or {})
    return CustomField(str(field["id"]), str(field.get("name") or field["id"]), column, spec, convert)


def resolve(
    fields: Sequence[Mapping[str, Any]], wanted: Sequence[str], taken: Iterable[str]
) -> list[CustomField]:
    """The custom fields a stream config names (by name, case-insensitively, or by id), in its order."""
    columns = column_names(fields, taken)
    customs = [f for f in fields if f.get("id") in columns]
    chosen = []
    for name in wanted:
        matches = [
            f for f in customs if name == f["id"] or name.casefold() == str(f.get("name") or "").casefold()
        ]
        if not matches:
            known = ", ".join(sorted(str(f.get("name")) for f in customs))
            raise ValueError(f"jira: no custom field {name!r} (custom fields: {known})")
        if len(matches) > 1:
            ids = ", ".join(f["id"] for f in matches)
            raise ValueError(f"jira: {len(matches)} custom fields are named {name!r} ({ids}); name one by id")
        chosen.append(custom_field(matches[0], columns[matches[0]["id"]]))
    return chosen
