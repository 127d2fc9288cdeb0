"""Who exists when: the cheap skeleton of the world, and the ids and keys that follow from it.

Each day's issues are *planned* here (creation time, project, type, and whether and when the issue
is moved to another project) from a generator seeded by the day alone, without generating their
histories. That is enough to number everything the way Jira does:

- issue ids count up over all projects in creation order (`10000 + sequence`);
- a project's key counter counts up over the issues created in it *and* the issues moved into it,
  in time order, so a moved issue gets the next free number of its new project (`ABC-7` becomes
  `OPS-31`) and its old key keeps resolving to it.

A key or an id is found again by bisecting per-day running totals, so any key resolves without
generating more than the skeletons of the days up to the horizon.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from plumbing_dagster.kit.emulator import DayCache, World
from plumbing_dagster.sources.jira.emulator.catalog import ISSUE_TYPE_WEIGHTS, PROJECT_SPECS, PROJECT_WEIGHTS
from plumbing_dagster.sources.jira.emulator.times import DAY_MS, HOUR_MS, MINUTE_MS, day_start_ms

FIRST_ISSUE_ID = 10000
LIFE_DAYS = 14  # an issue's own changes happen within this many days of its creation
LINK_LOOKBACK_DAYS = 7  # a new issue links only to issues created at most this many days before it
# The last history an issue can get: an incoming link from an issue created LINK_LOOKBACK_DAYS
# later, made at the end of that issue's life.
SPAN_DAYS = LIFE_DAYS + LINK_LOOKBACK_DAYS + 1
BUSY_DAY_END_MS = 18 * HOUR_MS  # issues of a busy day are created before 18:00 UTC ...
MOVE_SHARE = 0.03  # of the ordinary issues, moved to another project once
CREATION, MOVE_IN = 0, 1  # what advances a project's key counter


@dataclass(frozen=True, slots=True)
class Planned:
    """An issue as planned: enough to number it and to find it, not its history."""

    seq: int  # creation order over the whole instance
    created: int  # epoch ms
    project: int  # index of the project it was created in
    issuetype: int
    busy: bool  # one of a busy day's issues, whose whole history falls on that UTC day
    day: date  # of creation (UTC)
    move_at: int | None = None
    move_to: int = -1

    @property
    def id(self) -> int:
        return FIRST_ISSUE_ID + self.seq


@dataclass(frozen=True, slots=True)
class _Counters:
    """A day's key-counter events per project, in time order, and each event's rank among them."""

    events: tuple[tuple[tuple[int, int, int], ...], ...]  # per project: (time, seq, kind)
    rank: Mapping[tuple[int, int], int]  # (seq, kind) -> rank within its project's day


class Ledger:
    """Issue plans per creation day, ids and keys. Thread-safe; plans are cached per day."""

    def __init__(self, world: World, issues_per_day: int, busy_days: Mapping[date, int]):
        self._world = world
        self.start = world.start_date
        self.issues_per_day = issues_per_day
        self.busy_days = dict(busy_days)
        self._plans = DayCache(self._plan_day)
        self._counters = DayCache(self._count_day)
        self._lock = threading.RLock()
        self._firsts: list[int] = [0]  # first seq of start+i, for i up to len - 1
        self._cum: list[list[int]] = [[0] for _ in PROJECT_SPECS]  # key counter before start+i

    # -- counts and plans ---------------------------------------------------------------------------

    def regular_count(self, day: date) -> int:
        """Ordinary issues created on `day`: fewer at weekends, ±20% from day to day."""
        rng = self._world.seeded("count", day.isoformat())
        share = rng.uniform(0.15, 0.35) if day.weekday() >= 5 else rng.uniform(0.8, 1.2)
        return round(self.issues_per_day * share)

    def count(self, day: date) -> int:
        if day < self.start:
            return 0
        return self.regular_count(day) + self.busy_days.get(day, 0)

    def first_seq(self, day: date) -> int:
        index = (day - self.start).days
        with self._lock:
            while len(self._firsts) <= index:
                last = self.start + timedelta(days=len(self._firsts) - 1)
                self._firsts.append(self._firsts[-1] + self.count(last))
        return self._firsts[max(index, 0)]

    def plans(self, day: date) -> list[Planned]:
        """The issues created on `day`, in creation order."""
        if day < self.start:
            return []
        with self._lock:  # one lock for every cache here: no lock-order cycles between them
            return self._plans(day)

    def _plan_day(self, day: date) -> list[Planned]:
        rng = self._world.seeded("plan", day.isoformat())
        base = day_start_ms(day)
        drafts: list[tuple[int, bool]] = []
        for _ in range(self.regular_count(day)):
            # Mostly European and American working hours (UTC), some at any hour.
            if rng.random() < 0.75:
                offset = rng.randrange(6 * HOUR_MS, 18 * HOUR_MS)
            else:
                offset = rng.randrange(DAY_MS)
            drafts.append((base + offset, False))
        for _ in range(self.busy_days.get(day, 0)):
            drafts.append((base + rng.randrange(BUSY_DAY_END_MS), True))
        drafts.sort()
        first = self.first_seq(day)
        plans = []
        for n, (created, busy) in enumerate(drafts):
            project = PROJECT_WEIGHTS.pick(rng)
            issuetype = ISSUE_TYPE_WEIGHTS.pick(rng)
            move_at: int | None = None
            move_to = -1
            if rng.random() < (MOVE_SHARE if not busy else MOVE_SHARE / 2):
                if busy:  # moved later the same day, so the day keeps its issue
                    move_at = created + rng.randrange(10 * MINUTE_MS, base + DAY_MS - created - 2 * HOUR_MS)
                else:
                    move_at = created + rng.randrange(2 * HOUR_MS, (LIFE_DAYS - 1) * DAY_MS)
                move_to = rng.choice([p for p in range(len(PROJECT_SPECS)) if p != project])
            plans.append(Planned(first + n, created, project, issuetype, busy, day, move_at, move_to))
        return plans

    # -- numbering ------------------------------------------------------------------------------------

    def _count_day(self, day: date) -> _Counters:
        events: list[list[tuple[int, int, int]]] = [[] for _ in PROJECT_SPECS]
        for plan in self.plans(day):
            events[plan.project].append((plan.created, plan.seq, CREATION))
        day_start = day_start_ms(day)
        for back in range(LIFE_DAYS + 1):
            for plan in self.plans(day - timedelta(days=back)):
                if plan.move_at is not None and day_start <= plan.move_at < day_start + DAY_MS:
                    events[plan.move_to].append((plan.move_at, plan.seq, MOVE_IN))
        ordered = tuple(tuple(sorted(project_events)) for project_events in events)
        rank = {
            (seq, kind): n for project_events in ordered for n, (_, seq, kind) in enumerate(project_events)
        }
        return _Counters(ordered, rank)

    def _counter_base(self, project: int, day: date) -> int:
        """How many numbers `project` had handed out before `day`."""
        index = (day - self.start).days
        with self._lock:
            while len(self._cum[0]) <= index:
                last = self.start + timedelta(days=len(self._cum[0]) - 1)
                counters = self._counters(last)
                for p, series in enumerate(self._cum):
                    series.append(series[-1] + len(counters.events[p]))
            return self._cum[project][index]

    def _number(self, project: int, day: date, seq: int, kind: int) -> int:
        with self._lock:
            return self._counter_base(project, day) + self._counters(day).rank[(seq, kind)] + 1

    def original_key(self, plan: Planned) -> str:
        return f"{PROJECT_SPECS[plan.project][0]}-{self._number(plan.project, plan.day, plan.seq, CREATION)}"

    def moved_key(self, plan: Planned) -> str | None:
        if plan.move_at is None:
            return None
        move_day = date(1970, 1, 1) + timedelta(days=plan.move_at // DAY_MS)
        return f"{PROJECT_SPECS[plan.move_to][0]}-{self._number(plan.move_to, move_day, plan.seq, MOVE_IN)}"

    def key_at(self, plan: Planned, at_ms: int) -> str:
        """The issue's key at `at_ms` (its new one once it has been moved)."""
        if plan.move_at is not None and plan.move_at <= at_ms:
            return self.moved_key(plan) or ""
        return self.original_key(plan)

    # -- finding issues again ---------------------------------------------------------------------

    def plan_of_seq(self, seq: int, horizon: date) -> Planned | None:
        """The issue with sequence number `seq`, if it was planned on a day up to `horizon`."""
        if seq < 0 or horizon < self.start:
            return None
        last = (horizon - self.start).days
        with self._lock:
            self.first_seq(horizon + timedelta(days=1))
            index = bisect_right(self._firsts, seq, 0, last + 1) - 1
            plans = self.plans(self.start + timedelta(days=index))
            offset = seq - self._firsts[index]
        return plans[offset] if offset < len(plans) else None

    def find_key(self, project: int, number: int, horizon: date) -> tuple[Planned, int] | None:
        """(plan, time) of the event that handed out `<project>-<number>`, if planned by `horizon`."""
        if number < 1 or horizon < self.start:
            return None
        last = (horizon - self.start).days
        with self._lock:
            self._counter_base(project, horizon + timedelta(days=1))
            cum = self._cum[project]
            index = bisect_right(cum, number - 1, 0, last + 1) - 1
            events = self._counters(self.start + timedelta(days=index)).events[project]
            rank = number - 1 - cum[index]
        if rank >= len(events):
            return None
        at, seq, _ = events[rank]
        plan = self.plan_of_seq(seq, horizon)
        return (plan, at) if plan is not None else None
