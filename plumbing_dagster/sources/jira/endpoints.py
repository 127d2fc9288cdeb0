"""Jira's streams: the `issues` family (issues and what hangs off them, from one search) and two
snapshots, the field metadata (`fields`) and the projects.

Every stream of the family is windowed by the API on `updated` and shares one read per run;
their `options` (the JQL scope and the custom fields, `IssueScope`) must therefore be the same in
each of their `dag/streams` files. Field types are described, not sampled: the derived shapes are
fixed (`rows.py`) and custom fields are typed by their metadata.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.kit import Endpoint, Extract, Page, ServerFilter
from plumbing_dagster.kit.streams import Fetch, Member, family_endpoints
from plumbing_dagster.sources.jira.client import JiraClient
from plumbing_dagster.sources.jira.custom_fields import column_names, resolve
from plumbing_dagster.sources.jira.rows import (
    COLUMNS,
    DERIVE,
    DESCRIPTIONS,
    ISSUE_COLUMNS,
    KEYS,
    SNAPSHOT_COLUMNS,
    SYSTEM_COLUMNS,
)
from plumbing_dagster.sources.jira.search import read_issues

PROJECT_PATH = "/project"
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


class IssueScope(BaseModel):
    """`options` of the issues family's stream configs: which issues, which custom fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    projects: list[str] = []  # project keys; none: every project the token can see
    issue_types: list[str] = []  # issue type names; none: every type
    # Custom fields to land, by name (as GET /field names them) or id. Left out: none are read,
    # and discovery offers every custom field to choose from.
    custom_fields: list[str] | None = None

    @field_validator("projects")
    @classmethod
    def _project_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not _PROJECT_KEY.match(key):
                raise ValueError(f"{key!r} is not a Jira project key (upper-case letters, digits, _)")
        return keys

    @field_validator("issue_types", "custom_fields")
    @classmethod
    def _names(cls, names: list[str] | None) -> list[str] | None:
        if any(not name.strip() for name in names or ()):
            raise ValueError("names must not be empty")
        return names


def _specs(columns: Mapping[str, Mapping[str, Any]]) -> dict[str, FieldSpec]:
    return {name: FieldSpec.model_validate(spec) for name, spec in columns.items()}


Describe = Callable[[JiraClient, BaseModel | None], Mapping[str, FieldSpec]]


def _describer(stream: str) -> Describe:
    def describe(client: JiraClient, options: BaseModel | None) -> Mapping[str, FieldSpec]:
        specs = _specs(COLUMNS[stream])
        if stream == "issues":
            fields = client.field_metadata()
            # `custom_fields` left out: every custom field is on offer (see `IssueScope`).
            wanted = getattr(options, "custom_fields", None)
            if wanted is None:
                wanted = [str(f["id"]) for f in fields if f.get("custom")]
            for custom in resolve(fields, wanted, ISSUE_COLUMNS):
                specs[custom.column] = custom.field_spec()
        return specs

    return describe


def _issue_family() -> dict[str, Endpoint]:
    family = family_endpoints(
        "issues",
        raw=read_issues,
        members={name: Member(DERIVE[name], KEYS[name], DESCRIPTIONS[name]) for name in DERIVE},
        cursors={"updated": ServerFilter()},
        snapshot=False,  # every issue ever, every day: a backfill of days does that better
        options=IssueScope,
    )
    return {name: replace(endpoint, describe=_describer(name)) for name, endpoint in family.items()}


def _field_rows(client: JiraClient, extract: Extract) -> Iterator[Page]:
    client.myself()
    fields = client.field_metadata()
    columns = {**SYSTEM_COLUMNS, **column_names(fields, ISSUE_COLUMNS)}
    rows = []
    for field in fields:
        schema = field.get("schema") or {}
        custom_id = schema.get("customId")
        rows.append(
            {
                "id": field.get("id"),
                "name": field.get("name"),
                "custom": bool(field.get("custom")),
                "orderable": field.get("orderable"),
                "navigable": field.get("navigable"),
                "searchable": field.get("searchable"),
                "clause_names": field.get("clauseNames"),
                "schema_type": schema.get("type"),
                "schema_items": schema.get("items"),
                "schema_system": schema.get("system"),
                "schema_custom": schema.get("custom"),
                "schema_custom_id": custom_id if isinstance(custom_id, int) else None,
                "column_name": columns.get(field.get("id")),
            }
        )
    yield rows


def _project_rows(client: JiraClient, extract: Extract) -> Iterator[Page]:
    client.myself()
    projects = client.api.get_json(
        PROJECT_PATH, {"expand": "description,lead"}, where="projects, page 1"
    )  # one page: Jira does not page it
    if not isinstance(projects, list) or not all(isinstance(p, dict) for p in projects):
        raise client.api.error("GET", PROJECT_PATH, 200, "malformed page: expected a list of projects")
    yield [
        {
            "id": int(project["id"]),
            "key": project.get("key"),
            "name": project.get("name"),
            "project_type_key": project.get("projectTypeKey"),
            "archived": project.get("archived"),
            "lead": (project.get("lead") or {}).get("name"),
            "description": project.get("description"),
        }
        for project in projects
    ]


def _snapshot(name: str, fetch: Fetch, description: str) -> Endpoint:
    return Endpoint(
        name=name,
        fetch=fetch,
        primary_key=("id",),
        description=description,
        describe=lambda client, options: _specs(SNAPSHOT_COLUMNS[name]),
    )


ENDPOINTS: dict[str, Endpoint] = {
    **_issue_family(),
    "fields": _snapshot(
        "fields",
        _field_rows,
        "The field metadata dump (`GET /rest/api/2/field`), a snapshot each day: every system and "
        "custom field with its schema, and the `issues` column it becomes (`column_name`).",
    ),
    "projects": _snapshot(
        "projects",
        _project_rows,
        "Projects (`GET /rest/api/2/project`, with lead and description), a snapshot each day.",
    ),
}
