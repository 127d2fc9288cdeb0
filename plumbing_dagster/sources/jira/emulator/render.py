"""Issues as JSON text, the way Data Center's REST v2 renders them.

An issue is rendered from its state at `now` (its creation state with every history up to `now`
applied) by joining pre-rendered pieces (`catalog.py`) rather than building dicts and dumping them:
a page of 1,000 issues with changelogs is a few megabytes, and this is the hot path of every
benchmark. Links in the text start with `catalog.BASE`; the app swaps in the URL the client called.

Shapes worth knowing for a client: `id` is a string; every requested field is present, `null`
when empty; `issuelinks` entries carry exactly one of `inwardIssue`/`outwardIssue`, with the other
issue's *current* key, summary, status, priority and type; `changelog` is
`{startAt, maxResults, total, histories}` with histories oldest first, and when truncated it holds
the *last* `maxResults` histories (`startAt = total - maxResults`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plumbing_dagster.sources.jira.emulator.catalog import (
    API,
    ISSUE_TYPES,
    LINK_TYPE_JSON,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    TEAMS,
    USER_JSON,
    js,
    text,
)
from plumbing_dagster.sources.jira.emulator.fields import FIELD_BY_ID
from plumbing_dagster.sources.jira.emulator.history import History, Life
from plumbing_dagster.sources.jira.emulator.ledger import Planned
from plumbing_dagster.sources.jira.emulator.sprints import sprint_by_id
from plumbing_dagster.sources.jira.emulator.times import jira_datetime

if TYPE_CHECKING:
    from plumbing_dagster.sources.jira.emulator.world import JiraWorld

ISSUE_EXPAND = "operations,versionedRepresentations,editmeta,changelog,renderedFields"
NULL = "null"


@dataclass(slots=True)
class _Issue:
    """One issue at `now`, as the field renderers see it."""

    plan: Planned
    life: Life
    state: dict[str, Any]
    updated: int
    now: int


def _datetime(ms: int | None) -> str:
    return NULL if ms is None else f'"{jira_datetime(ms)}"'


class Renderer:
    """Renders the world's issues; asks the world for linked issues' current state."""

    def __init__(self, world: JiraWorld):
        self.world = world
        project = world.project_list
        self._fields: dict[str, Callable[[_Issue], str]] = {
            "summary": lambda i: text(i.state["summary"]),
            "issuetype": lambda i: ISSUE_TYPES[i.plan.issuetype].json,
            "project": lambda i: project[i.state["project"]].json,
            "status": lambda i: STATUSES[i.state["status"]].json,
            "priority": lambda i: PRIORITIES[i.state["priority"]].json,
            "resolution": lambda i: (
                NULL if i.state["resolution"] is None else RESOLUTIONS[i.state["resolution"]].json
            ),
            "resolutiondate": lambda i: _datetime(i.state["resolutiondate"]),
            "assignee": lambda i: NULL if i.state["assignee"] is None else USER_JSON[i.state["assignee"]],
            "reporter": lambda i: USER_JSON[i.life.reporter],
            "creator": lambda i: USER_JSON[i.life.reporter],
            "created": lambda i: _datetime(i.plan.created),
            "updated": lambda i: _datetime(i.updated),
            "labels": lambda i: js(list(i.state["labels"])),
            "components": lambda i: self._list(project[i.state["project"]].components, i.state["components"]),
            "fixVersions": lambda i: self._list(project[i.state["project"]].versions, i.state["fixVersions"]),
            "versions": lambda i: "[]",
            "issuelinks": self._links,
            "description": lambda i: text(i.life.description),
            "environment": lambda i: NULL,
            "duedate": lambda i: text(i.life.duedate),
            "subtasks": lambda i: "[]",
            "watches": lambda i: (
                f'{{"self":"{API}/issue/{i.state["key"]}/watchers","watchCount":{i.life.watchers},'
                '"isWatching":false}'
            ),
            "votes": lambda i: f'{{"self":"{API}/issue/{i.state["key"]}/votes","votes":0,"hasVoted":false}}',
            "lastViewed": lambda i: NULL,
            "workratio": lambda i: "-1",
            "customfield_10010": lambda i: NULL if i.state["points"] is None else js(i.state["points"]),
            "customfield_10020": lambda i: NULL if i.state["team"] is None else TEAMS[i.state["team"]].json,
            "customfield_10030": self._sprints,
            "comment": lambda i: '{"comments":[],"maxResults":0,"total":0,"startAt":0}',
            "worklog": lambda i: '{"startAt":0,"maxResults":20,"total":0,"worklogs":[]}',
            "timetracking": lambda i: "{}",
            "attachment": lambda i: "[]",
        }

    def issue(
        self,
        plan: Planned,
        now: int,
        selection: tuple[str, ...],
        *,
        changelog: int | None = 0,
        names: bool = False,
        schema: bool = False,
    ) -> str:
        """The issue at `now` with the `selection` of fields. `changelog`: 0 for none, None for
        every history, n for the last n (with `total` telling how many there are)."""
        timeline, visible, state = self.world.state(plan, now)
        histories = timeline.histories[:visible]
        issue = _Issue(plan, timeline.life, state, histories[-1].at if histories else plan.created, now)
        fields = ",".join(f'"{name}":{self._fields[name](issue)}' for name in selection)
        text = (
            f'{{"expand":"{ISSUE_EXPAND}","id":"{plan.id}","self":"{API}/issue/{plan.id}",'
            f'"key":"{state["key"]}","fields":{{{fields}}}'
        )
        if changelog != 0:
            text += ',"changelog":' + self.changelog(histories, changelog)
        if names:
            text += ',"names":' + names_json(selection)
        if schema:
            text += ',"schema":' + schema_json(selection)
        return text + "}"

    def changelog(self, histories: tuple[History, ...], limit: int | None) -> str:
        total = len(histories)
        shown = histories if limit is None or limit >= total else histories[total - limit :]
        body = ",".join(
            f'{{"id":"{h.id}","author":{USER_JSON[h.author]},"created":"{jira_datetime(h.at)}","items":{h.items}}}'
            for h in shown
        )
        start = total - len(shown)
        return f'{{"startAt":{start},"maxResults":{len(shown)},"total":{total},"histories":[{body}]}}'

    @staticmethod
    def _list(named: Any, indexes: tuple[int, ...]) -> str:
        return "[" + ",".join(named[n].json for n in indexes) + "]"

    def _sprints(self, issue: _Issue) -> str:
        sprints = issue.state["sprints"]
        if not sprints:
            return NULL
        start = self.world.start_date
        return js([sprint_by_id(s, start).text(issue.now) for s in sprints])

    def _links(self, issue: _Issue) -> str:
        parts = []
        horizon = self.world.horizon(issue.now)
        for link in issue.state["links"]:
            other = self.world.ledger.plan_of_seq(link.other, horizon)
            if other is None:  # cannot happen: a link needs both issues
                continue
            side = "outwardIssue" if link.outward else "inwardIssue"
            parts.append(
                f'{{"id":"{link.id}","self":"{API}/issueLink/{link.id}","type":{LINK_TYPE_JSON[link.type]},'
                f'"{side}":{self.reference(other, issue.now)}}}'
            )
        return "[" + ",".join(parts) + "]"

    def reference(self, plan: Planned, now: int) -> str:
        """A linked issue as links show it: its current key, summary, status, priority and type."""
        _, _, state = self.world.state(plan, now)
        return (
            f'{{"id":"{plan.id}","key":"{state["key"]}","self":"{API}/issue/{plan.id}","fields":{{'
            f'"summary":{text(state["summary"])},"status":{STATUSES[state["status"]].json},'
            f'"priority":{PRIORITIES[state["priority"]].json},"issuetype":{ISSUE_TYPES[plan.issuetype].json}}}}}'
        )


def names_json(selection: tuple[str, ...]) -> str:
    """`expand=names`: each returned field's display name."""
    return js({name: FIELD_BY_ID[name].name for name in selection})


def schema_json(selection: tuple[str, ...]) -> str:
    """`expand=schema`: each returned field's type."""
    return js({name: FIELD_BY_ID[name].schema for name in selection if FIELD_BY_ID[name].schema})
