"""How a Jira issue (as the search returns it) becomes the rows of each stream of the `issues` family.

Every row carries the issue's `id` (an integer; Jira sends it as a string), its key and its
`updated` — the family's cursor, so each stream lands in the day the issue was last updated.
Date-times get a colon in their offset (`+01:00`), so staging types them.

- `issues`: one row per issue, system fields flattened to scalars (names of status, priority,
  users ...) plus the custom fields the stream config names, by their metadata names (the search
  attaches them under `CUSTOM_KEY`, see `search.py`).
- `changelog_items`: one row per change item, keyed by history id + item index (one history can
  hold two items of one field: a component removed and another added).
- `issue_links`: one row per link and issue that carries it, with the direction kept (the issue
  on the other side carries the same link id in the other direction).
- `issue_labels`, `issue_components`, `issue_fix_versions`: bridges.

`COLUMNS` states each stream's contract (what discovery writes to `dag/sources`); the derive
functions produce exactly those keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from plumbing_dagster.kit import Record
from plumbing_dagster.sources.jira.custom_fields import jira_datetime

CUSTOM_KEY = "_custom_columns"  # {column: value} the search attaches to each issue
NULL_STRING: dict[str, Any] = {"type": ["null", "string"]}
STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
DATE_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
NULL_DATE_TIME: dict[str, Any] = {"type": ["null", "string"], "format": "date-time"}
ISSUE_REF = {"issue_id": INTEGER, "issue_key": STRING}

ISSUE_COLUMNS: dict[str, dict[str, Any]] = {
    "id": INTEGER,
    "key": STRING,
    "project_id": INTEGER,
    "project_key": STRING,
    "issue_type": STRING,
    "summary": NULL_STRING,
    "status": STRING,
    "status_category": NULL_STRING,
    "priority": NULL_STRING,
    "resolution": NULL_STRING,
    "resolved": NULL_DATE_TIME,
    "assignee": NULL_STRING,
    "assignee_display_name": NULL_STRING,
    "reporter": NULL_STRING,
    "creator": NULL_STRING,
    "created": DATE_TIME,
    "updated": DATE_TIME,
    "due_date": {"type": ["null", "string"], "format": "date"},
    "watch_count": {"type": ["null", "integer"]},
    "vote_count": {"type": ["null", "integer"]},
}
# The system fields each stream asks the search for (`updated` always: it is the cursor).
SYSTEM_FIELDS: dict[str, tuple[str, ...]] = {
    "issues": (
        "summary",
        "issuetype",
        "project",
        "status",
        "priority",
        "resolution",
        "resolutiondate",
        "assignee",
        "reporter",
        "creator",
        "created",
        "duedate",
        "watches",
        "votes",
    ),
    "changelog_items": (),
    "issue_links": ("issuelinks",),
    "issue_labels": ("labels",),
    "issue_components": ("components",),
    "issue_fix_versions": ("fixVersions",),
}
# Which issue column each system field becomes (for the field metadata dump).
SYSTEM_COLUMNS = {
    "issuekey": "key",
    "project": "project_key",
    "issuetype": "issue_type",
    "resolutiondate": "resolved",
    "duedate": "due_date",
    "watches": "watch_count",
    "votes": "vote_count",
    **{f: f for f in ("summary", "status", "priority", "resolution", "assignee", "reporter", "creator")},
    **{f: f for f in ("created", "updated")},
}

COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "issues": ISSUE_COLUMNS,
    "changelog_items": {
        "history_id": INTEGER,
        "item_index": INTEGER,
        **ISSUE_REF,
        "created": DATE_TIME,
        "author": NULL_STRING,
        "author_display_name": NULL_STRING,
        "field": STRING,
        "field_type": NULL_STRING,
        "field_id": NULL_STRING,
        "from_value": NULL_STRING,
        "from_string": NULL_STRING,
        "to_value": NULL_STRING,
        "to_string": NULL_STRING,
        "updated": DATE_TIME,
    },
    "issue_links": {
        "issue_id": INTEGER,
        "link_id": INTEGER,
        "issue_key": STRING,
        "direction": STRING,
        "link_type": STRING,
        "link_type_id": {"type": ["null", "integer"]},
        "relation": NULL_STRING,
        "other_issue_id": INTEGER,
        "other_issue_key": STRING,
        "other_issue_status": NULL_STRING,
        "updated": DATE_TIME,
    },
    "issue_labels": {"issue_id": INTEGER, "label": STRING, "issue_key": STRING, "updated": DATE_TIME},
    "issue_components": {
        "issue_id": INTEGER,
        "component_id": INTEGER,
        "issue_key": STRING,
        "component": NULL_STRING,
        "updated": DATE_TIME,
    },
    "issue_fix_versions": {
        "issue_id": INTEGER,
        "version_id": INTEGER,
        "issue_key": STRING,
        "version": NULL_STRING,
        "released": {"type": ["null", "boolean"]},
        "release_date": {"type": ["null", "string"], "format": "date"},
        "updated": DATE_TIME,
    },
}
KEYS: dict[str, tuple[str, ...]] = {
    "issues": ("id",),
    "changelog_items": ("history_id", "item_index"),
    "issue_links": ("issue_id", "link_id"),
    "issue_labels": ("issue_id", "label"),
    "issue_components": ("issue_id", "component_id"),
    "issue_fix_versions": ("issue_id", "version_id"),
}


def _name(value: Any, key: str = "name") -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def issue_row(issue: Record) -> Iterator[Record]:
    fields = issue.get("fields") or {}
    project = fields.get("project") or {}
    status = fields.get("status")
    assignee = fields.get("assignee")
    row = {
        "id": _int(issue.get("id")),
        "key": issue.get("key"),
        "project_id": _int(project.get("id")),
        "project_key": project.get("key"),
        "issue_type": _name(fields.get("issuetype")),
        "summary": fields.get("summary"),
        "status": _name(status),
        "status_category": _name(status.get("statusCategory")) if isinstance(status, dict) else None,
        "priority": _name(fields.get("priority")),
        "resolution": _name(fields.get("resolution")),
        "resolved": jira_datetime(fields.get("resolutiondate")),
        "assignee": _name(assignee),
        "assignee_display_name": _name(assignee, "displayName"),
        "reporter": _name(fields.get("reporter")),
        "creator": _name(fields.get("creator")),
        "created": jira_datetime(fields.get("created")),
        "updated": jira_datetime(fields.get("updated")),
        "due_date": fields.get("duedate"),
        "watch_count": _name(fields.get("watches"), "watchCount"),
        "vote_count": _name(fields.get("votes"), "votes"),
    }
    row.update(issue.get(CUSTOM_KEY) or {})
    yield row


def changelog_rows(issue: Record) -> Iterator[Record]:
    issue_id, key = _int(issue.get("id")), issue.get("key")
    updated = jira_datetime((issue.get("fields") or {}).get("updated"))
    for history in (issue.get("changelog") or {}).get("histories") or ():
        history_id = _int(history.get("id"))
        created = jira_datetime(history.get("created"))
        author = history.get("author")
        author_name, author_display = _name(author), _name(author, "displayName")
        for index, item in enumerate(history.get("items") or ()):
            yield {
                "history_id": history_id,
                "item_index": index,
                "issue_id": issue_id,
                "issue_key": key,
                "created": created,
                "author": author_name,
                "author_display_name": author_display,
                "field": item.get("field"),
                "field_type": item.get("fieldtype"),
                "field_id": item.get("fieldId"),
                "from_value": item.get("from"),
                "from_string": item.get("fromString"),
                "to_value": item.get("to"),
                "to_string": item.get("toString"),
                "updated": updated,
            }


def link_rows(issue: Record) -> Iterator[Record]:
    fields = issue.get("fields") or {}
    issue_id, key, updated = _int(issue.get("id")), issue.get("key"), jira_datetime(fields.get("updated"))
    for link in fields.get("issuelinks") or ():
        link_type = link.get("type") or {}
        outward = "outwardIssue" in link
        other = link.get("outwardIssue" if outward else "inwardIssue") or {}
        yield {
            "issue_id": issue_id,
            "link_id": _int(link.get("id")),
            "issue_key": key,
            "direction": "outward" if outward else "inward",
            "link_type": link_type.get("name"),
            "link_type_id": _int(link_type.get("id")),
            "relation": link_type.get("outward" if outward else "inward"),
            "other_issue_id": _int(other.get("id")),
            "other_issue_key": other.get("key"),
            "other_issue_status": _name((other.get("fields") or {}).get("status")),
            "updated": updated,
        }


def label_rows(issue: Record) -> Iterator[Record]:
    fields = issue.get("fields") or {}
    issue_id, key, updated = _int(issue.get("id")), issue.get("key"), jira_datetime(fields.get("updated"))
    for label in dict.fromkeys(fields.get("labels") or ()):
        yield {"issue_id": issue_id, "label": label, "issue_key": key, "updated": updated}


def component_rows(issue: Record) -> Iterator[Record]:
    fields = issue.get("fields") or {}
    issue_id, key, updated = _int(issue.get("id")), issue.get("key"), jira_datetime(fields.get("updated"))
    for component in fields.get("components") or ():
        yield {
            "issue_id": issue_id,
            "component_id": _int(component.get("id")),
            "issue_key": key,
            "component": component.get("name"),
            "updated": updated,
        }


def fix_version_rows(issue: Record) -> Iterator[Record]:
    fields = issue.get("fields") or {}
    issue_id, key, updated = _int(issue.get("id")), issue.get("key"), jira_datetime(fields.get("updated"))
    for version in fields.get("fixVersions") or ():
        yield {
            "issue_id": issue_id,
            "version_id": _int(version.get("id")),
            "issue_key": key,
            "version": version.get("name"),
            "released": version.get("released"),
            "release_date": version.get("releaseDate"),
            "updated": updated,
        }


DERIVE = {
    "issues": issue_row,
    "changelog_items": changelog_rows,
    "issue_links": link_rows,
    "issue_labels": label_rows,
    "issue_components": component_rows,
    "issue_fix_versions": fix_version_rows,
}
DESCRIPTIONS = {
    "issues": "Issues updated in the day (by `updated`), as they are when the day is read: system fields "
    "flattened (status, priority, user names ...) and the custom fields `options.custom_fields` names, "
    "each as a column named after its field metadata. Searched by JQL with epoch-millisecond bounds.",
    "changelog_items": "Every change item of the day's issues' whole history (a truncated search "
    "changelog is completed from the issue), keyed by history id and item index.",
    "issue_links": "Issue links of the day's issues, one row per link and issue, direction kept "
    "(outward: this issue <relation> the other).",
    "issue_labels": "Labels of the day's issues (bridge).",
    "issue_components": "Components of the day's issues (bridge).",
    "issue_fix_versions": "Fix versions of the day's issues (bridge).",
}
SNAPSHOT_COLUMNS: Mapping[str, Mapping[str, dict[str, Any]]] = {
    "fields": {
        "id": STRING,
        "name": STRING,
        "custom": {"type": "boolean"},
        "orderable": {"type": ["null", "boolean"]},
        "navigable": {"type": ["null", "boolean"]},
        "searchable": {"type": ["null", "boolean"]},
        "clause_names": {"type": ["null", "array"], "items": {"type": "string"}},
        "schema_type": NULL_STRING,
        "schema_items": NULL_STRING,
        "schema_system": NULL_STRING,
        "schema_custom": NULL_STRING,
        "schema_custom_id": {"type": ["null", "integer"]},
        "column_name": NULL_STRING,
    },
    "projects": {
        "id": INTEGER,
        "key": STRING,
        "name": STRING,
        "project_type_key": NULL_STRING,
        "archived": {"type": ["null", "boolean"]},
        "lead": NULL_STRING,
        "description": NULL_STRING,
    },
}
