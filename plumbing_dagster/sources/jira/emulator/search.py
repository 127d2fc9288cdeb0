"""`/rest/api/2/search`: reading the request (POST body or GET parameters alike) and rendering a page.

A search's sorted matches are computed once per (JQL, user zone, validation, `now`) and kept, so
paging through 20,000 issues re-reads nothing; each page renders only its own issues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from plumbing_dagster.kit.emulator import BadRequest, EmulatorRequest
from plumbing_dagster.sources.jira.emulator.catalog import js
from plumbing_dagster.sources.jira.emulator.fields import select_fields
from plumbing_dagster.sources.jira.emulator.jql import JqlError
from plumbing_dagster.sources.jira.emulator.query import Query, compile_query
from plumbing_dagster.sources.jira.emulator.render import names_json, schema_json
from plumbing_dagster.sources.jira.emulator.world import JiraWorld, Row


def expand_arg(raw: Iterable[Any] | str | None) -> frozenset[str]:
    """`expand` as a list or comma-separated text (both reach Jira), as a set of names."""
    if raw is None:
        return frozenset()
    chunks = [raw] if isinstance(raw, str) else list(raw)
    return frozenset(part.strip() for chunk in chunks for part in str(chunk).split(",") if part.strip())


def _integer(raw: Any, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or (
        not isinstance(raw, int) and not (isinstance(raw, str) and raw.lstrip("-").isdigit())
    ):
        raise BadRequest(f"{name} must be an integer")
    value = int(raw)
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return value


def _validation(raw: Any) -> bool:
    """`validateQuery`: a boolean (Data Center also takes strict / warn / none)."""
    if raw is None or raw is True:
        return True
    if raw is False:
        return False
    text = str(raw).lower()
    if text in ("true", "strict"):
        return True
    if text in ("false", "warn", "none"):
        return False
    raise BadRequest("validateQuery must be true or false")


@dataclass(frozen=True)
class SearchRequest:
    jql: str
    start_at: int
    max_results: int
    fields: tuple[str, ...] | None
    expand: frozenset[str]
    validate: bool

    @classmethod
    def of(cls, request: EmulatorRequest, default_max: int) -> SearchRequest:
        if request.method == "POST":
            try:
                body = request.json()
            except ValueError:
                raise BadRequest("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise BadRequest("The request body must be a JSON object (SearchRequestBean).")
            fields = body.get("fields")
            if isinstance(fields, str):
                fields = [fields]
            if fields is not None and not (
                isinstance(fields, list) and all(isinstance(f, str) for f in fields)
            ):
                raise BadRequest("fields must be a list of field ids")
            jql = body.get("jql") or ""
            if not isinstance(jql, str):
                raise BadRequest("jql must be a string")
            return cls(
                jql=jql,
                start_at=_integer(body.get("startAt"), "startAt", 0),
                max_results=_integer(body.get("maxResults"), "maxResults", default_max),
                fields=tuple(fields) if fields is not None else None,
                expand=expand_arg(body.get("expand")),
                validate=_validation(body.get("validateQuery")),
            )
        raw_fields = request.query.get("fields")
        return cls(
            jql=request.arg("jql") or "",
            start_at=_integer(request.arg("startAt"), "startAt", 0),
            max_results=_integer(request.arg("maxResults"), "maxResults", default_max),
            fields=tuple(raw_fields) if raw_fields else None,
            expand=expand_arg(request.query.get("expand")),
            validate=_validation(request.arg("validateQuery")),
        )

    def lowered(self, cap: int) -> SearchRequest:
        return replace(self, max_results=cap)

    def compile(self, world: JiraWorld, zone: str, now: int) -> Query:
        try:
            return compile_query(
                self.jql,
                projects=world.project_list,
                key_exists=lambda key: world.find(key, now) is not None,
                zone=zone,
                now_ms=now,
                validate=self.validate,
            )
        except JqlError as problem:
            raise BadRequest(str(problem)) from None


def matches(world: JiraWorld, query: Query, now: int) -> list[Row]:
    """Every issue the query finds at `now`, in its order."""
    bounds = query.bounds
    rows = [
        row
        for row in world.rows(
            bounds.updated_from, bounds.updated_before, bounds.created_from, bounds.created_before, now
        )
        if query.matches(row)
    ]
    query.sort(rows)
    return rows


def render_search(
    world: JiraWorld, search: SearchRequest, query: Query, now: int, changelog_limit: int | None, zone: str
) -> str:
    """The SearchResultsBean text for one page. `changelog_limit`: None for whole changelogs."""
    cache_key = (search.jql, zone, search.validate, now)
    rows = world.cached_search(cache_key, lambda: matches(world, query, now))
    page = rows[search.start_at : search.start_at + search.max_results]
    selection = select_fields(search.fields, "*navigable")
    changelog = changelog_limit if "changelog" in search.expand else 0  # None: every history
    issues = ",".join(world.renderer.issue(row.plan, now, selection, changelog=changelog) for row in page)
    text = (
        f'{{"expand":"schema,names","startAt":{search.start_at},"maxResults":{search.max_results},'
        f'"total":{len(rows)},"issues":[{issues}]'
    )
    if query.warnings:
        text += ',"warningMessages":' + js(list(query.warnings))
    if "names" in search.expand:
        text += ',"names":' + names_json(selection)
    if "schema" in search.expand:
        text += ',"schema":' + schema_json(selection)
    return text + "}"
