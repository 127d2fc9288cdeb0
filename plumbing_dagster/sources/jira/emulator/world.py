"""The Jira world: the deterministic instance behind the Jira Data Center emulator (seed 002).

A pure function of the constructor arguments and the clock. Three projects (`ABC`, `OPS`, `WEB`)
get `issues_per_day` new issues a day from `start_date` (fewer at weekends); each issue changes
over the following two weeks — transitions through To Do → In Progress → In Review → Done with
reopenings, assignees, labels, components, fix versions, links, story points, team, sprint —
and about 3% are moved to another project, which gives them a new key while the old one keeps
resolving. `busy_days` adds, on given UTC days, that many issues whose whole history falls on
that day (an import, a bulk edit), so a test can have 12,000 issues updated in one day.

What the API serves is the state *at `now`*: histories after `now` have not happened yet, an issue's
`updated` is its last history by then, and a window `[start, end)` on `updated` holds the issues
whose latest change lies in it (an issue changed again later has left the window). Date-times are
rendered in the server's zone, Europe/Berlin (`times.py`).

Generation is cached per creation day: planning (`ledger.py`) is cheap, histories (`history.py`)
are generated for a day when an issue of it is needed, rendering (`render.py`) happens per request
from the cached histories. Tests ask the public views (`issues_updated_between`, `issue`,
`projects`, `fields`, `users`) what the API must have served.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from plumbing_dagster.kit.emulator import DayCache, World
from plumbing_dagster.sources.jira.emulator.catalog import BASE, PROJECT_SPECS, USERS, make_projects
from plumbing_dagster.sources.jira.emulator.fields import field_beans, select_fields
from plumbing_dagster.sources.jira.emulator.history import DayLives, History, Life, apply, generate_day
from plumbing_dagster.sources.jira.emulator.ledger import (
    FIRST_ISSUE_ID,
    LINK_LOOKBACK_DAYS,
    SPAN_DAYS,
    Ledger,
    Planned,
)
from plumbing_dagster.sources.jira.emulator.render import Renderer
from plumbing_dagster.sources.jira.emulator.times import day_of, epoch_ms

DEFAULT_BASE_URL = "http://localhost:8080"  # what the views put in `self` links unless told
SEARCH_CACHE_SIZE = 16


@dataclass(frozen=True, slots=True)
class Timeline:
    """An issue's histories (its own and the link halves later issues sent it), by time."""

    life: Life
    histories: tuple[History, ...]
    times: tuple[int, ...]


class Row:
    """An issue as a search sees it at `now`: what JQL filters and sorts on."""

    __slots__ = ("plan", "updated", "moved", "_ledger", "_key")

    def __init__(self, plan: Planned, updated: int, moved: bool, ledger: Ledger):
        self.plan, self.updated, self.moved, self._ledger = plan, updated, moved, ledger
        self._key: str | None = None

    @property
    def id(self) -> int:
        return self.plan.id

    @property
    def created(self) -> int:
        return self.plan.created

    @property
    def issuetype(self) -> int:
        return self.plan.issuetype

    @property
    def project(self) -> int:
        return self.plan.move_to if self.moved else self.plan.project

    @property
    def key(self) -> str:
        if self._key is None:
            plan = self.plan
            self._key = (self._ledger.moved_key(plan) if self.moved else None) or self._ledger.original_key(
                plan
            )
        return self._key

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key the issue has had by now (JQL `key = OLD-1` still finds a moved issue)."""
        return (self._ledger.original_key(self.plan), self.key) if self.moved else (self.key,)

    def key_order(self) -> tuple[str, int]:
        project, number = self.key.split("-")
        return project, int(number)


class JiraWorld(World):
    """A Jira Data Center instance's projects, users, fields and issues over time."""

    def __init__(
        self,
        seed: int = 2,
        start_date: date = date(2026, 1, 1),
        issues_per_day: int = 40,
        now: datetime | None = None,
        busy_days: Mapping[date, int] | None = None,
    ):
        super().__init__("jira", seed, start_date, now)
        if issues_per_day < 0 or any(n < 0 for n in (busy_days or {}).values()):
            raise ValueError("issue counts must not be negative")
        self.issues_per_day = issues_per_day
        self.busy_days = dict(busy_days or {})
        self.project_list = make_projects(start_date)
        self.ledger = Ledger(self, issues_per_day, self.busy_days)
        self.renderer = Renderer(self)
        self._lives = DayCache(self._generate)
        self._timelines: dict[int, tuple[date, Timeline]] = {}
        self._incoming_days: dict[tuple[date, date], dict[int, list[History]]] = {}
        self._lock = threading.Lock()
        self._searches: OrderedDict[tuple[Any, ...], list[Row]] = OrderedDict()

    # -- public views for tests: what the API serves now -------------------------------------------

    def projects(self, base_url: str = DEFAULT_BASE_URL) -> list[dict[str, Any]]:
        """`GET /rest/api/2/project`: every project, unpaged."""
        return _rebase([p.listed(frozenset()) for p in self.project_list], base_url)

    def fields(self) -> list[dict[str, Any]]:
        """`GET /rest/api/2/field`: system and custom fields."""
        return field_beans()

    def users(self, base_url: str = DEFAULT_BASE_URL) -> list[dict[str, Any]]:
        """Every user (the first is the service account that owns the sandbox PAT)."""
        return _rebase([user.bean() for user in USERS], base_url)

    def issue(
        self,
        id_or_key: str,
        *,
        fields: str = "*all",
        changelog: bool = True,
        base_url: str = DEFAULT_BASE_URL,
    ) -> dict[str, Any] | None:
        """The issue as `GET /rest/api/2/issue/{idOrKey}?expand=changelog` serves it (old keys of
        moved issues resolve), or None."""
        now = self.now_ms()
        plan = self.find(id_or_key, now)
        if plan is None:
            return None
        text = self.renderer.issue(
            plan, now, select_fields([fields], "*all"), changelog=None if changelog else 0
        )
        return json.loads(text.replace(BASE, base_url))

    def issues_updated_between(
        self,
        start_ms: int,
        end_ms: int,
        *,
        fields: str = "*navigable",
        changelog: bool = False,
        base_url: str = DEFAULT_BASE_URL,
    ) -> list[dict[str, Any]]:
        """Every issue whose `updated` lies in `[start_ms, end_ms)`, in its current state, sorted
        by updated then key: what `updated >= start AND updated < end ORDER BY updated, key` finds."""
        now = self.now_ms()
        rows = self.rows(start_ms, end_ms, None, None, now)
        rows.sort(key=lambda r: (r.updated, r.key_order()))
        selection = select_fields([fields], "*navigable")
        limit = None if changelog else 0
        docs = [self.renderer.issue(r.plan, now, selection, changelog=limit) for r in rows]
        return json.loads(("[" + ",".join(docs) + "]").replace(BASE, base_url))

    def move_clock(self, now: datetime) -> None:
        """Let time pass (a test's way to have issues edited while a client pages through them)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        self._fixed_now = now

    # -- what the app asks ------------------------------------------------------------------------

    def now_ms(self) -> int:
        return epoch_ms(self.now)

    def horizon(self, now_ms: int) -> date:
        """The last day with issues: nothing is planned beyond the clock's UTC day."""
        return day_of(now_ms)

    def find(self, id_or_key: str, now_ms: int) -> Planned | None:
        """The issue with this id or key (any key it has had, any case) if it exists at `now_ms`."""
        horizon = self.horizon(now_ms)
        text = id_or_key.strip()
        if text.isdigit():
            plan = self.ledger.plan_of_seq(int(text) - FIRST_ISSUE_ID, horizon)
            return plan if plan is not None and plan.created <= now_ms else None
        project_key, _, number = text.upper().partition("-")
        keys = [spec[0] for spec in PROJECT_SPECS]
        if project_key not in keys or not number.isdigit():
            return None
        found = self.ledger.find_key(keys.index(project_key), int(number), horizon)
        if found is None or found[1] > now_ms:  # that number is not handed out yet
            return None
        return found[0]

    def current_key(self, plan: Planned, now_ms: int) -> str:
        return self.ledger.key_at(plan, now_ms)

    def lives(self, day: date) -> DayLives:
        return self._lives(day)

    def _generate(self, day: date) -> DayLives:
        rng = self.seeded("life", day.isoformat())
        return generate_day(rng, day, self.ledger, self.project_list, self.start_date)

    def timeline(self, plan: Planned, now_ms: int) -> Timeline:
        """All the issue's histories that exist by the clock's day (later ones may exist after now)."""
        reach = min(plan.day + timedelta(days=LINK_LOOKBACK_DAYS), self.horizon(now_ms))
        cached = self._timelines.get(plan.seq)
        if cached is not None and cached[0] == reach:
            return cached[1]
        day_lives = self.lives(plan.day)
        life = day_lives.lives[plan.seq - day_lives.first_seq]
        histories = list(life.own)
        incoming = self._incoming(plan.day, reach).get(plan.seq)
        if incoming:
            histories.extend(incoming)
            histories.sort(key=lambda h: (h.at, h.id))
        timeline = Timeline(life, tuple(histories), tuple(h.at for h in histories))
        with self._lock:
            self._timelines[plan.seq] = (reach, timeline)
        return timeline

    def _incoming(self, day: date, reach: date) -> dict[int, list[History]]:
        """The link halves that issues created from `day` through `reach` sent to `day`'s issues."""
        cached = self._incoming_days.get((day, reach))
        if cached is not None:
            return cached
        lives = self.lives(day)
        last_seq = lives.first_seq + len(lives.lives)
        merged: dict[int, list[History]] = {}
        sender = day
        while sender <= reach:
            for seq, halves in self.lives(sender).incoming.items():
                if lives.first_seq <= seq < last_seq:
                    merged.setdefault(seq, []).extend(halves)
            sender += timedelta(days=1)
        with self._lock:
            self._incoming_days[(day, reach)] = merged
        return merged

    def state(self, plan: Planned, now_ms: int) -> tuple[Timeline, int, dict[str, Any]]:
        """(timeline, how many histories have happened by `now_ms`, the fields after them)."""
        timeline = self.timeline(plan, now_ms)
        visible = bisect_right(timeline.times, now_ms)
        state = dict(timeline.life.initial)
        for history in timeline.histories[:visible]:
            apply(state, history.change)
        return timeline, visible, state

    def row(self, plan: Planned, now_ms: int) -> Row:
        timeline = self.timeline(plan, now_ms)
        visible = bisect_right(timeline.times, now_ms)
        updated = timeline.times[visible - 1] if visible else plan.created
        moved = plan.move_at is not None and plan.move_at <= now_ms
        return Row(plan, updated, moved, self.ledger)

    def rows(
        self,
        updated_from: int | None,
        updated_before: int | None,
        created_from: int | None,
        created_before: int | None,
        now_ms: int,
    ) -> list[Row]:
        """Every issue existing at `now_ms` within the given bounds (None: open), unsorted.

        Only the creation days that can hold a match are read: an issue is updated at most
        `SPAN_DAYS` after it was created, and never before."""
        last = self.horizon(now_ms)
        if updated_before is not None:
            last = min(last, day_of(updated_before))
        if created_before is not None:
            last = min(last, day_of(created_before))
        first = self.start_date
        if updated_from is not None:
            first = max(first, day_of(updated_from) - timedelta(days=SPAN_DAYS))
        if created_from is not None:
            first = max(first, day_of(created_from))
        rows = []
        day = first
        while day <= last:
            for plan in self.ledger.plans(day):
                if plan.created > now_ms:
                    break
                if created_from is not None and plan.created < created_from:
                    continue
                if created_before is not None and plan.created >= created_before:
                    continue
                row = self.row(plan, now_ms)
                if updated_from is not None and row.updated < updated_from:
                    continue
                if updated_before is not None and row.updated >= updated_before:
                    continue
                rows.append(row)
            day += timedelta(days=1)
        return rows

    def cached_search(self, key: tuple[Any, ...], compute: Any) -> list[Row]:
        """A search's sorted matches, kept for the next pages of the same search at the same `now`."""
        with self._lock:
            if key in self._searches:
                self._searches.move_to_end(key)
                return self._searches[key]
        rows = compute()
        with self._lock:
            self._searches[key] = rows
            while len(self._searches) > SEARCH_CACHE_SIZE:
                self._searches.popitem(last=False)
        return rows


def _rebase(records: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    return json.loads(json.dumps(records).replace(BASE, base_url))
