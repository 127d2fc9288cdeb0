"""The `issues` family's read: `POST /rest/api/2/search` over a window of `updated`, every page once.

- The window goes into the JQL as epoch milliseconds, `updated >= <ms> AND updated < <ms>`: exact,
  and immune to the searching user's time zone and to the minute resolution of quoted dates. The
  stream config's scope (projects, issue types) is ANDed to it; `ORDER BY updated ASC, key ASC`.
- Pages: `startAt`/`maxResults` in the body; the server may lower `maxResults`, so the next
  `startAt` is this one plus the issues the page held, and the read ends at `total`.
- The search window: Data Center refuses to page past 10,000 results (500 "Search limit
  exceeded"). A window is counted first (`maxResults: 0`); one holding more is halved in time until
  every part fits, and a 500 of that kind halves the limit and reads the part again. Never truncated.
- Issues leave a past window while it is paged (edited now, their `updated` moves on): the ones
  behind them move up a place. When `total` shrinks, the read steps back by as many and skips what
  it has seen, so none is missed and none is yielded twice.
- Only what the selected streams need is asked for: their system fields, the custom fields the
  config names (resolved by `GET /field`), `expand=changelog` for `changelog_items`. A changelog
  with fewer histories than its `total` is completed with `GET /issue/{id}?expand=changelog`
  (histories after the issue's `updated` — made after the search — are left for a later day).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from plumbing_dagster.kit import ApiError, Extract, Record
from plumbing_dagster.sources.jira.client import SEARCH_LIMIT_TEXT, JiraClient
from plumbing_dagster.sources.jira.custom_fields import CustomField, resolve
from plumbing_dagster.sources.jira.rows import CUSTOM_KEY, ISSUE_COLUMNS, SYSTEM_FIELDS

logger = logging.getLogger(__name__)

SEARCH_PATH = "/search"
PAGE_SIZE = 1000  # what we ask for; Data Center's default cap (jira.search.views.default.max)
SEARCH_WINDOW = 10_000  # jira.search.platform.max.result.window, Data Center's default
ORDER = "ORDER BY updated ASC, key ASC"
_JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def jql_text(value: str) -> str:
    """A JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_jql(options: BaseModel | None) -> str:
    """The stream config's scope as JQL clauses ('' for every issue the token can see)."""
    clauses = []
    projects = getattr(options, "projects", None) or ()
    issue_types = getattr(options, "issue_types", None) or ()
    if projects:
        clauses.append(f"project in ({', '.join(jql_text(p) for p in projects)})")
    if issue_types:
        clauses.append(f"issuetype in ({', '.join(jql_text(t) for t in issue_types)})")
    return " AND ".join(clauses)


def window_jql(start_ms: int, end_ms: int, scope: str) -> str:
    jql = f"updated >= {start_ms} AND updated < {end_ms}"
    return f"{jql} AND {scope} {ORDER}" if scope else f"{jql} {ORDER}"


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as integer epoch milliseconds (no float rounding at the bounds)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class SearchSpec:
    """What each search request asks for."""

    scope: str
    fields: tuple[str, ...]
    changelog: bool
    custom: tuple[CustomField, ...] = ()


def search_spec(client: JiraClient, options: BaseModel | None, streams: Sequence[str]) -> SearchSpec:
    """The fields and expansions the selected family streams need."""
    wanted = getattr(options, "custom_fields", None) or ()
    custom = tuple(resolve(client.field_metadata(), wanted, ISSUE_COLUMNS)) if "issues" in streams else ()
    fields = ["updated"]
    for stream in streams:
        fields += [f for f in SYSTEM_FIELDS[stream] if f not in fields]
    fields += [c.id for c in custom]
    return SearchSpec(scope_jql(options), tuple(fields), "changelog_items" in streams, custom)


class _Narrow(Exception):
    """The window holds more than the search window allows: split it and read its parts."""


class IssueSearch:
    """Pages of issues whose `updated` lies in a window (see the module docstring)."""

    def __init__(self, client: JiraClient, spec: SearchSpec, page_size: int = PAGE_SIZE):
        self.client, self.api, self.spec = client, client.api, spec
        self.page_size = page_size
        self.limit = SEARCH_WINDOW
        self.seen: set[str] = set()
        self.requests = 0

    def pages(self, start_ms: int, end_ms: int) -> Iterator[list[Record]]:
        parts = [(start_ms, end_ms)]
        while parts:
            start, end = parts.pop()
            try:
                if self._count(start, end) > self.limit:
                    raise _Narrow
                yield from self._read(start, end)
            except _Narrow:
                if end - start < 2:
                    raise self.api.error(
                        "POST",
                        SEARCH_PATH,
                        None,
                        f"more than {self.limit} issues were updated in the millisecond {start}: "
                        "narrow the stream's scope (options.projects, options.issue_types)",
                    ) from None
                middle = (start + end) // 2
                parts += [(middle, end), (start, middle)]  # the earlier half is read first
                logger.info("jira: window [%d, %d) holds too many issues; split at %d", start, end, middle)

    def _search(self, jql: str, start_at: int, max_results: int, fields: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "jql": jql,
            "startAt": start_at,
            "maxResults": max_results,
            "fields": list(fields),
            "validateQuery": True,
        }
        if self.spec.changelog and max_results:
            body["expand"] = ["changelog"]
        where = f"offset {start_at}"  # the kit's word for it: startAt is an offset
        self.requests += 1
        try:
            response = self.api.request("POST", SEARCH_PATH, json=body, where=where)
        except ApiError as problem:
            if problem.status == 500 and SEARCH_LIMIT_TEXT in problem.detail.lower():
                # The server's window is smaller than ours: read this part in smaller pieces.
                self.limit = start_at if start_at > 0 else max(1, max_results // 2)
                raise _Narrow from None
            raise
        page = self.api.parse_json(response, where)
        if not (
            isinstance(page, dict)
            and isinstance(page.get("issues"), list)
            and isinstance(page.get("total"), int)
            and page.get("startAt") == start_at
        ):
            raise self.api.error(
                "POST",
                SEARCH_PATH,
                200,
                f"malformed page: expected issues, total and startAt {start_at}",
                where,
            )
        return page

    def _count(self, start: int, end: int) -> int:
        return self._search(window_jql(start, end, self.spec.scope), 0, 0, ["id"])["total"]

    def _read(self, start: int, end: int) -> Iterator[list[Record]]:
        jql = window_jql(start, end, self.spec.scope)
        start_at, total = 0, None
        while True:
            max_results = min(self.page_size, self.limit - start_at)
            if max_results < 1:
                raise _Narrow  # the window grew past the limit while it was read
            where = f"offset {start_at}"  # the kit's word for it: startAt is an offset
            page = self._search(jql, start_at, max_results, self.spec.fields)
            if page["total"] > self.limit:
                raise _Narrow
            if total is not None and page["total"] < total:
                # Issues left the window: the rest moved up. Step back, and skip what was seen.
                start_at, total = max(0, start_at - (total - page["total"])), page["total"]
                continue
            total = page["total"]
            issues = [issue for issue in page["issues"] if self._first_time(issue)]
            if issues:
                yield self._complete(issues)
            if not page["issues"]:
                if start_at < total:  # never end a read early on the server's word alone
                    raise self.api.error(
                        "POST", SEARCH_PATH, 200, f"an empty page before the total of {total}", where
                    )
                return
            start_at += len(page["issues"])
            if start_at >= total:
                return

    def _first_time(self, issue: Any) -> bool:
        if not isinstance(issue, dict) or not isinstance(issue.get("id"), str):
            raise self.api.error("POST", SEARCH_PATH, 200, "malformed page: an issue without an id")
        if issue["id"] in self.seen:
            return False
        self.seen.add(issue["id"])
        return True

    def _complete(self, issues: list[Record]) -> list[Record]:
        for issue in issues:
            changelog = issue.get("changelog")
            if self.spec.changelog and isinstance(changelog, dict):
                histories = changelog.get("histories") or []
                if isinstance(changelog.get("total"), int) and changelog["total"] > len(histories):
                    issue["changelog"] = self._full_changelog(issue)
            if self.spec.custom:
                fields = issue.get("fields") or {}
                issue[CUSTOM_KEY] = {c.column: c.convert(fields.get(c.id)) for c in self.spec.custom}
        return issues

    def _full_changelog(self, issue: Record) -> dict[str, Any]:
        path = f"/issue/{issue['id']}"
        self.requests += 1
        full = self.api.get_json(
            path,
            {"expand": "changelog", "fields": "updated"},
            where=f"changelog of {issue.get('key')}, page 1",
        )
        changelog = full.get("changelog") if isinstance(full, dict) else None
        if not isinstance(changelog, dict) or not isinstance(changelog.get("histories"), list):
            raise self.api.error("GET", path, 200, "malformed issue: expected its changelog")
        updated = (issue.get("fields") or {}).get("updated")
        if isinstance(updated, str):
            until = datetime.strptime(updated, _JIRA_TIME)
            kept = [h for h in changelog["histories"] if datetime.strptime(h["created"], _JIRA_TIME) <= until]
            changelog = {**changelog, "histories": kept, "total": len(kept), "maxResults": len(kept)}
        return changelog


def read_issues(client: JiraClient, extract: Extract) -> Iterator[list[Record]]:
    """The family's raw pages: issues updated in the window, with what `extract.streams` need."""
    if extract.window is None:
        raise ValueError("jira: issues are read by a window of `updated` (a day), never all at once")
    client.myself()  # the connectivity probe, before anything else
    streams = extract.streams or tuple(SYSTEM_FIELDS)
    spec = search_spec(client, extract.options, streams)
    search = IssueSearch(client, spec)
    yield from search.pages(epoch_ms(extract.window.start), epoch_ms(extract.window.end))
    logger.info(
        "jira: %d issues updated in [%s, %s) in %d requests",
        len(search.seen),
        extract.window.start.isoformat(),
        extract.window.end.isoformat(),
        search.requests,
    )
