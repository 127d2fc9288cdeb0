"""Issue lives: each issue's state at creation and every change history it gets afterwards.

A day's issues are generated together, from one generator seeded by the day, in creation order:
first the issue as created (Jira records no history for that), then its edits at increasing times
over the following `LIFE_DAYS` (all on the same UTC day for a busy day's issues), each a change
history of one or more items (`changes.py`). A move to another project happens when the ledger
planned it.

A link is one edit on two issues: the newer issue records "This issue blocks ABC-12" and the
older one, at the same moment, "This issue is blocked by OPS-3"; both get a history and both are
updated. The older issue's half is kept with the day that made it (`DayLives.incoming`), so an
issue's whole history is its own plus what later days (at most `LINK_LOOKBACK_DAYS`) sent it.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from plumbing_dagster.sources.jira.emulator import changes
from plumbing_dagster.sources.jira.emulator.catalog import (
    LABELS,
    LINK_TYPES,
    PEOPLE,
    PRIORITY_WEIGHTS,
    STORY,
    STORY_POINTS,
    TEAMS,
    TO_DO,
    Project,
    Weights,
)
from plumbing_dagster.sources.jira.emulator.changes import Change, item
from plumbing_dagster.sources.jira.emulator.ledger import LIFE_DAYS, LINK_LOOKBACK_DAYS, Ledger, Planned
from plumbing_dagster.sources.jira.emulator.sprints import sprint_by_id
from plumbing_dagster.sources.jira.emulator.times import DAY_MS, day_start_ms

FIRST_HISTORY_ID = 10000
HISTORY_SLOTS = 32  # history ids per issue: its own edits first, then the far halves of its links
MAX_LINKS = 8
OWN_SLOTS = HISTORY_SLOTS - MAX_LINKS
FIRST_LINK_ID = 10000
LINK_TYPE_WEIGHTS = Weights(0.5, 0.15, 0.35)  # blocks, duplicates, relates
EDIT_KINDS = tuple(kind for kind, _, _ in changes.EDITS)
EDIT_FUNCTIONS = tuple(function for _, function, _ in changes.EDITS)
EDIT_WEIGHTS = Weights(*(weight for _, _, weight in changes.EDITS))

_VERBS = ("Fix", "Add", "Improve", "Remove", "Refactor", "Investigate", "Document", "Speed up", "Migrate")
_THINGS = ("login", "invoice export", "search index", "checkout", "alerting", "rate limiter", "audit log")
_PLACES = ("in the API", "for mobile", "on staging", "in the nightly job", "for EU customers", "")


@dataclass(frozen=True, slots=True)
class Link:
    id: int
    type: int  # index into LINK_TYPES
    outward: bool  # the other issue is this one's `outwardIssue` ("this issue blocks <other>")
    other: int  # the other issue's seq


@dataclass(frozen=True, slots=True)
class History:
    at: int  # epoch ms
    id: int
    author: int  # index into USERS
    items: str  # the items, as a JSON array text
    change: Change


@dataclass(slots=True)
class Life:
    plan: Planned
    initial: dict[str, Any]
    reporter: int
    description: str | None
    duedate: str | None
    watchers: int
    own: list[History]


@dataclass(slots=True)
class DayLives:
    first_seq: int
    lives: list[Life]
    incoming: dict[int, list[History]] = field(default_factory=dict)  # by the linked issue's seq


def apply(state: dict[str, Any], change: Change) -> None:
    """The issue's fields after an edit (links accumulate, everything else is replaced)."""
    for name, value in change:
        if name == "+link":
            state["links"] = (*state["links"], value)
        else:
            state[name] = value


class _Context:
    """What the edit functions may look at besides the issue."""

    def __init__(self, ledger: Ledger, projects: tuple[Project, ...], start: date):
        self.ledger = ledger
        self.projects = projects
        self.start = start
        self.issuetype = 0
        self._regular: dict[date, tuple[list[int], list[Planned]]] = {}
        self._busy: dict[date, tuple[list[int], list[Planned]]] = {}

    def sprint_name(self, sprint_id: int) -> str:
        return sprint_by_id(sprint_id, self.start).name

    def pool(self, day: date, busy: bool) -> tuple[list[int], list[Planned]]:
        """Issues of `day` a new issue may link to (busy-day issues only among themselves), with
        their creation times for bisecting."""
        cache = self._busy if busy else self._regular
        if day not in cache:
            plans = [p for p in self.ledger.plans(day) if p.busy == busy]
            cache[day] = ([p.created for p in plans], plans)
        return cache[day]


def generate_day(
    rng: random.Random, day: date, ledger: Ledger, projects: tuple[Project, ...], start: date
) -> DayLives:
    """Every issue created on `day` with its own histories, and the link halves it sends back."""
    ctx = _Context(ledger, projects, start)
    plans = ledger.plans(day)
    result = DayLives(ledger.first_seq(day), [])
    for plan in plans:
        result.lives.append(_live(rng, plan, ctx, result.incoming))
    return result


def _summary(rng: random.Random) -> str:
    return " ".join(part for part in (rng.choice(_VERBS), rng.choice(_THINGS), rng.choice(_PLACES)) if part)


def _times(rng: random.Random, plan: Planned) -> list[int]:
    if plan.busy:  # the whole history on the busy day itself
        end = day_start_ms(plan.day) + DAY_MS
        count = rng.randint(1, 6)
        times = {plan.created + rng.randrange(1, end - plan.created) for _ in range(count)}
    else:
        roll = rng.random()
        count = (
            0 if roll < 0.1 else rng.randint(1, 3) if roll < 0.5 else rng.randint(4, 8) if roll < 0.9 else 16
        )
        span = LIFE_DAYS * DAY_MS - 1
        # Most edits soon after creation, a few up to two weeks later.
        times = {plan.created + 1 + int(rng.random() ** 2.5 * span) for _ in range(count)}
    if plan.move_at is not None:
        times.discard(plan.move_at)
    return sorted(times)


def _live(rng: random.Random, plan: Planned, ctx: _Context, incoming: dict[int, list[History]]) -> Life:
    ctx.issuetype = plan.issuetype
    reporter = rng.choice(PEOPLE)
    state: dict[str, Any] = {
        "summary": _summary(rng),
        "status": TO_DO,
        "resolution": None,
        "resolutiondate": None,
        "priority": PRIORITY_WEIGHTS.pick(rng),
        "assignee": None if rng.random() < 0.4 else rng.choice(PEOPLE),
        "labels": tuple(sorted(rng.sample(LABELS, rng.choice((0, 0, 1, 1, 2))))),
        "components": (rng.randrange(4),) if rng.random() < 0.5 else (),
        "fixVersions": (rng.randrange(4),) if rng.random() < 0.3 else (),
        "points": rng.choice(STORY_POINTS) if plan.issuetype == STORY and rng.random() < 0.5 else None,
        "team": rng.randrange(len(TEAMS)) if rng.random() < 0.5 else None,
        "sprints": (),
        "links": (),
        "project": plan.project,
        "key": ctx.ledger.original_key(plan),
    }
    description = f"{state['summary']}: steps and context from the reporter." if rng.random() < 0.6 else None
    due = plan.day + timedelta(days=rng.randint(7, 30))
    life = Life(
        plan=plan,
        initial=dict(state),
        reporter=reporter,
        description=description,
        duedate=due.isoformat() if rng.random() < 0.2 else None,
        watchers=rng.randint(1, 4),
        own=[],
    )
    events = [(at, False) for at in _times(rng, plan)]
    if plan.move_at is not None:
        events = sorted([*events, (plan.move_at, True)])
    linked: set[int] = set()
    for slot, (at, is_move) in enumerate(events):
        author = rng.choice(PEOPLE)
        edit: changes.Edit | None = None
        if is_move:
            edit = changes.move(state, ctx, plan.move_to, ctx.ledger.moved_key(plan) or "")
        for _ in range(4):
            if edit is not None:
                break
            choice = EDIT_WEIGHTS.pick(rng)
            if EDIT_KINDS[choice] == "link":
                edit = _link(rng, plan, state, at, author, ctx, linked, incoming)
            else:
                function = EDIT_FUNCTIONS[choice]
                assert function is not None
                edit = function(rng, state, at, author, ctx)
        if edit is None:
            edit = changes.labels(rng, state, at, author, ctx)
        items, change = edit
        life.own.append(
            History(
                at, FIRST_HISTORY_ID + plan.seq * HISTORY_SLOTS + slot, author, f"[{','.join(items)}]", change
            )
        )
        apply(state, change)
    return life


def _link(
    rng: random.Random,
    plan: Planned,
    state: dict[str, Any],
    at: int,
    author: int,
    ctx: _Context,
    linked: set[int],
    incoming: dict[int, list[History]],
) -> changes.Edit | None:
    """A link from this issue to an older one; the older one gets the mirrored history."""
    if len(linked) >= MAX_LINKS:
        return None
    day = plan.day if plan.busy else plan.day - timedelta(days=rng.randint(0, LINK_LOOKBACK_DAYS))
    created, pool = ctx.pool(day, plan.busy)
    existing = bisect_left(created, at)  # only issues that exist by then
    if not existing:
        return None
    target = pool[rng.randrange(existing)]
    if target.seq == plan.seq or target.seq in linked:
        return None
    index = len(linked)
    linked.add(target.seq)
    link_type = LINK_TYPE_WEIGHTS.pick(rng)
    kind = LINK_TYPES[link_type]
    outward = rng.random() < 0.5  # this issue is the link's source
    link_id = FIRST_LINK_ID + plan.seq * MAX_LINKS + index
    target_key = ctx.ledger.key_at(target, at)
    own_key = state["key"]
    mirror_items = item(
        "Link", None, None, own_key, f"This issue {kind.inward if outward else kind.outward} {own_key}"
    )
    mirror = History(
        at,
        FIRST_HISTORY_ID + plan.seq * HISTORY_SLOTS + OWN_SLOTS + index,
        author,
        f"[{mirror_items}]",
        (("+link", Link(link_id, link_type, not outward, plan.seq)),),
    )
    incoming.setdefault(target.seq, []).append(mirror)
    phrase = kind.outward if outward else kind.inward
    items = [item("Link", None, None, target_key, f"This issue {phrase} {target_key}")]
    return items, (("+link", Link(link_id, link_type, outward, target.seq)),)
