"""The instance's fields (`GET /rest/api/2/field`) and which of them a request asked for.

`fields` in search and get-issue follows Jira's rules: a list (or comma-separated text) of field
ids, `*all`, `*navigable`, and `-id` to leave one out. Unknown ids are ignored, as Jira does. Search
defaults to `*navigable`, get-issue to `*all`; the non-navigable fields (comments, work log, time
tracking, attachments) are the difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STORY_POINTS_FIELD = "customfield_10010"
TEAM_FIELD = "customfield_10020"
SPRINT_FIELD = "customfield_10030"


@dataclass(frozen=True)
class Field:
    id: str
    name: str
    navigable: bool
    orderable: bool
    searchable: bool
    clause_names: tuple[str, ...]
    schema: dict[str, Any] | None

    @property
    def custom(self) -> bool:
        return self.id.startswith("customfield_")

    def bean(self) -> dict[str, Any]:
        bean: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "custom": self.custom,
            "orderable": self.orderable,
            "navigable": self.navigable,
            "searchable": self.searchable,
            "clauseNames": list(self.clause_names),
        }
        if self.schema is not None:  # Jira gives `issuekey` and a few others no schema
            bean["schema"] = self.schema
        return bean


def _system(type_: str, system: str, items: str | None = None) -> dict[str, Any]:
    return {"type": type_, **({"items": items} if items else {}), "system": system}


def _custom(type_: str, plugin: str, custom_id: int, items: str | None = None) -> dict[str, Any]:
    return {"type": type_, **({"items": items} if items else {}), "custom": plugin, "customId": custom_id}


_PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"

# (id, name, navigable, orderable, searchable, clause names, schema), in the order fields are rendered.
FIELDS: tuple[Field, ...] = tuple(
    Field(*spec)
    for spec in (
        ("issuekey", "Key", True, False, False, ("id", "issue", "issuekey", "key"), None),
        ("summary", "Summary", True, True, True, ("summary",), _system("string", "summary")),
        (
            "issuetype",
            "Issue Type",
            True,
            True,
            True,
            ("issuetype", "type"),
            _system("issuetype", "issuetype"),
        ),
        ("project", "Project", True, False, True, ("project",), _system("project", "project")),
        ("status", "Status", True, False, True, ("status",), _system("status", "status")),
        ("priority", "Priority", True, True, True, ("priority",), _system("priority", "priority")),
        ("resolution", "Resolution", True, True, True, ("resolution",), _system("resolution", "resolution")),
        (
            "resolutiondate",
            "Resolved",
            True,
            False,
            True,
            ("resolutiondate", "resolved"),
            _system("datetime", "resolutiondate"),
        ),
        ("assignee", "Assignee", True, True, True, ("assignee",), _system("user", "assignee")),
        ("reporter", "Reporter", True, True, True, ("reporter",), _system("user", "reporter")),
        ("creator", "Creator", True, False, True, ("creator",), _system("user", "creator")),
        ("created", "Created", True, False, True, ("created", "createdDate"), _system("datetime", "created")),
        ("updated", "Updated", True, False, True, ("updated", "updatedDate"), _system("datetime", "updated")),
        ("labels", "Labels", True, True, True, ("labels",), _system("array", "labels", "string")),
        (
            "components",
            "Component/s",
            True,
            True,
            True,
            ("component",),
            _system("array", "components", "component"),
        ),
        (
            "fixVersions",
            "Fix Version/s",
            True,
            True,
            True,
            ("fixVersion",),
            _system("array", "fixVersions", "version"),
        ),
        (
            "versions",
            "Affects Version/s",
            True,
            True,
            True,
            ("affectedVersion",),
            _system("array", "versions", "version"),
        ),
        (
            "issuelinks",
            "Linked Issues",
            True,
            True,
            True,
            ("issueLink",),
            _system("array", "issuelinks", "issuelinks"),
        ),
        ("description", "Description", True, True, True, ("description",), _system("string", "description")),
        ("environment", "Environment", True, True, True, ("environment",), _system("string", "environment")),
        ("duedate", "Due Date", True, True, True, ("due", "duedate"), _system("date", "duedate")),
        (
            "subtasks",
            "Sub-Tasks",
            True,
            False,
            False,
            ("subtasks",),
            _system("array", "subtasks", "issuelinks"),
        ),
        ("watches", "Watchers", True, False, True, ("watcher", "watchers"), _system("watches", "watches")),
        ("votes", "Votes", True, False, True, ("votes",), _system("votes", "votes")),
        ("lastViewed", "Last Viewed", True, False, False, ("lastViewed",), _system("datetime", "lastViewed")),
        ("workratio", "Work Ratio", True, False, True, ("workratio",), _system("number", "workratio")),
        (
            STORY_POINTS_FIELD,
            "Story Points",
            True,
            True,
            True,
            ("cf[10010]", "Story Points"),
            _custom("number", _PLUGIN + "float", 10010),
        ),
        (
            TEAM_FIELD,
            "Team",
            True,
            True,
            True,
            ("cf[10020]", "Team"),
            _custom("option", _PLUGIN + "select", 10020),
        ),
        (
            SPRINT_FIELD,
            "Sprint",
            True,
            True,
            True,
            ("cf[10030]", "Sprint"),
            _custom("array", "com.pyxis.greenhopper.jira:gh-sprint", 10030, "string"),
        ),
        ("comment", "Comment", False, True, True, ("comment",), _system("comments-page", "comment")),
        (
            "worklog",
            "Log Work",
            False,
            True,
            True,
            ("worklogAuthor", "worklogComment", "worklogDate"),
            _system("array", "worklog", "worklog"),
        ),
        ("timetracking", "Time Tracking", False, True, True, (), _system("timetracking", "timetracking")),
        (
            "attachment",
            "Attachment",
            False,
            True,
            True,
            ("attachments",),
            _system("array", "attachment", "attachment"),
        ),
    )
)
FIELD_BY_ID = {f.id: f for f in FIELDS}
# Fields with a value under `fields` (the key is the issue's own `key`, not a field value).
RENDERED = tuple(f.id for f in FIELDS if f.id != "issuekey")
NAVIGABLE = tuple(f for f in RENDERED if FIELD_BY_ID[f].navigable)
# Every clause name Jira knows, lower-cased, to tell "no such field" from "not emulated".
KNOWN_CLAUSES = frozenset(name.lower() for f in FIELDS for name in f.clause_names) | {
    "text",
    "filter",
    "parent",
    "sprint",
    "epic link",
    "rank",
}


def field_beans() -> list[dict[str, Any]]:
    return [f.bean() for f in FIELDS]


def select_fields(requested: Iterable[str] | None, default: str) -> tuple[str, ...]:
    """The field ids to render, in rendering order, for a request's `fields` (see module doc)."""
    include: set[str] = set()
    exclude: set[str] = set()
    asked = False
    for chunk in requested or ():
        for token in str(chunk).split(","):
            token = token.strip()
            if not token:
                continue
            if token.startswith("-"):
                exclude.add(token[1:])
                continue
            asked = True
            if token == "*all":
                include.update(RENDERED)
            elif token == "*navigable":
                include.update(NAVIGABLE)
            else:
                include.add(token)
    if not asked:
        include.update(RENDERED if default == "*all" else NAVIGABLE)
    return tuple(f for f in RENDERED if f in include and f not in exclude)
