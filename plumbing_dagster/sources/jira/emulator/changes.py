"""One edit of an issue: the change-history items Jira records for it and what it does to the issue.

Each function below looks at the issue's state just before the edit and returns `(items, change)`:
`items` are the history's `{field, fieldtype, from, fromString, to, toString}` entries, exactly as
Data Center writes them, and `change` the fields the edit sets (applied by `history.apply`). It
returns None when the edit makes no sense for this issue (story points on a bug), and the caller
picks another.

Data Center's item conventions, kept here: system fields are `fieldtype: "jira"`, custom fields
`"custom"` under their display name; `from`/`to` hold ids (user *keys* for users, issue keys for
links) and `fromString`/`toString` the display values; labels are one item with the whole
space-separated set before and after; components and fix versions get one item per value added or
removed, so one edit can hold two items of the same field (one removed, one added).
"""

from __future__ import annotations

import random
from typing import Any

from plumbing_dagster.sources.jira.emulator.catalog import (
    DONE,
    IN_PROGRESS,
    LABELS,
    PEOPLE,
    PRIORITIES,
    PRIORITY_WEIGHTS,
    RESOLUTIONS,
    STATUSES,
    STORY,
    STORY_POINTS,
    TEAMS,
    TO_DO,
    TRANSITIONS,
    USERS,
    Project,
    text,
)
from plumbing_dagster.sources.jira.emulator.sprints import sprint_at

Item = str  # one change item, as JSON text
Change = tuple[tuple[str, Any], ...]
Edit = tuple[list[Item], Change]


def item(
    field: str, from_: str | None, from_string: str | None, to: str | None, to_string: str | None
) -> Item:
    fieldtype = "custom" if field in _CUSTOM else "jira"
    return (
        f'{{"field":{text(field)},"fieldtype":"{fieldtype}","from":{text(from_)},'
        f'"fromString":{text(from_string)},"to":{text(to)},"toString":{text(to_string)}}}'
    )


_CUSTOM = frozenset({"Story Points", "Team", "Sprint"})


def _user_item(field: str, before: int | None, after: int | None) -> Item:
    def key(user: int | None) -> str | None:
        return USERS[user].key if user is not None else None

    def name(user: int | None) -> str | None:
        return USERS[user].display_name if user is not None else None

    return item(field, key(before), name(before), key(after), name(after))


def status(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    """A workflow transition; into Done it sets a resolution, out of Done it clears it."""
    current = state["status"]
    targets, weights = TRANSITIONS[current]
    target = targets[weights.pick(rng)]
    before, after = STATUSES[current], STATUSES[target]
    items = [item("status", before.id, before.name, after.id, after.name)]
    change: list[tuple[str, Any]] = [("status", target)]
    if target == DONE:
        resolution = 0 if current != TO_DO else rng.choice((1, 2))  # from To Do: won't do, duplicate
        items.append(item("resolution", None, None, RESOLUTIONS[resolution].id, RESOLUTIONS[resolution].name))
        change += [("resolution", resolution), ("resolutiondate", at)]
    elif current == DONE:
        old = RESOLUTIONS[state["resolution"]]
        items.append(item("resolution", old.id, old.name, None, None))
        change += [("resolution", None), ("resolutiondate", None)]
    if target == IN_PROGRESS and state["assignee"] is None:  # whoever starts it takes it
        items.append(_user_item("assignee", None, author))
        change.append(("assignee", author))
    return items, tuple(change)


def assignee(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    current = state["assignee"]
    choices: list[int | None] = [p for p in PEOPLE if p != current]
    new = None if current is not None and rng.random() < 0.1 else rng.choice(choices)
    return [_user_item("assignee", current, new)], (("assignee", new),)


def labels(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    current: tuple[str, ...] = state["labels"]
    unused = [label for label in LABELS if label not in current]
    new = set(current)
    roll = rng.random()
    if current and (roll < 0.3 or not unused):
        new.discard(rng.choice(current))
    elif current and roll < 0.6:
        new.discard(rng.choice(current))
        new.add(rng.choice(unused))
    else:
        new.add(rng.choice(unused))
    after = tuple(sorted(new))
    return [item("labels", None, " ".join(current), None, " ".join(after))], (("labels", after),)


def _multi(
    rng: random.Random, current: tuple[int, ...], size: int, field: str, names: Any, state_key: str
) -> Edit | None:
    """Components and fix versions: one item per value removed or added."""
    unused = [n for n in range(size) if n not in current]
    removed: list[int] = []
    added: list[int] = []
    roll = rng.random()
    if current and unused and roll < 0.5:  # replaced: two items of the same field in one edit
        removed.append(rng.choice(current))
        added.append(rng.choice(unused))
    elif current and (roll < 0.75 or not unused):
        removed.append(rng.choice(current))
    elif unused:
        added.append(rng.choice(unused))
    else:
        return None
    items = [item(field, names[n].id, names[n].name, None, None) for n in removed]
    items += [item(field, None, None, names[n].id, names[n].name) for n in added]
    after = tuple(sorted(n for n in (*current, *added) if n not in removed))
    return items, ((state_key, after),)


def components(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    project: Project = ctx.projects[state["project"]]
    return _multi(
        rng, state["components"], len(project.components), "Component", project.components, "components"
    )


def fix_versions(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    project: Project = ctx.projects[state["project"]]
    return _multi(
        rng, state["fixVersions"], len(project.versions), "Fix Version", project.versions, "fixVersions"
    )


def story_points(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    if ctx.issuetype != STORY:
        return None
    current = state["points"]
    new = rng.choice([p for p in STORY_POINTS if p != current])
    return [item("Story Points", None, _points(current), None, _points(new))], (("points", new),)


def _points(points: float | None) -> str | None:
    return None if points is None else f"{points:g}"


def team(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    current = state["team"]
    new = rng.choice([n for n in range(len(TEAMS)) if n != current])
    before = TEAMS[current] if current is not None else None
    return [
        item(
            "Team",
            before.id if before else None,
            before.name if before else None,
            TEAMS[new].id,
            TEAMS[new].name,
        )
    ], (("team", new),)


def sprint(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    """Into the project's running sprint; Jira keeps earlier sprints in the field."""
    running = sprint_at(ctx.projects[state["project"]], ctx.start, at)
    current: tuple[int, ...] = state["sprints"]
    if running.id in current:
        return None
    after = (*current, running.id)

    def ids(sprints: tuple[int, ...]) -> str:
        return ", ".join(str(s) for s in sprints)

    def names(sprints: tuple[int, ...]) -> str:
        return ", ".join(ctx.sprint_name(s) for s in sprints)

    return [item("Sprint", ids(current), names(current), ids(after), names(after))], (("sprints", after),)


def priority(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    current = state["priority"]
    new = current
    while new == current:
        new = PRIORITY_WEIGHTS.pick(rng)
    before, after = PRIORITIES[current], PRIORITIES[new]
    return [item("priority", before.id, before.name, after.id, after.name)], (("priority", new),)


def summary(rng: random.Random, state: dict[str, Any], at: int, author: int, ctx: Any) -> Edit | None:
    new = state["summary"].split(" (")[0] + rng.choice(_SUFFIXES)
    if new == state["summary"]:
        return None
    return [item("summary", None, state["summary"], None, new)], (("summary", new),)


_SUFFIXES = (" (follow-up)", " (customer report)", " (from support)", " (see incident)")


def move(state: dict[str, Any], ctx: Any, to_project: int, new_key: str) -> Edit:
    """Moved to another project: new key; components and versions that do not exist there go."""
    before, after = ctx.projects[state["project"]], ctx.projects[to_project]
    items = [
        item("project", before.id, before.name, after.id, after.name),
        item("Key", None, state["key"], None, new_key),
    ]
    items += [
        item("Component", before.components[n].id, before.components[n].name, None, None)
        for n in state["components"]
    ]
    items += [
        item("Fix Version", before.versions[n].id, before.versions[n].name, None, None)
        for n in state["fixVersions"]
    ]
    change = (("project", to_project), ("key", new_key), ("components", ()), ("fixVersions", ()))
    return items, change


# What happens to issues, and how often (links are made by the day's generator, which knows
# the other issues; it picks "link" from this table too).
EDITS = (
    ("status", status, 0.36),
    ("assignee", assignee, 0.12),
    ("labels", labels, 0.10),
    ("components", components, 0.08),
    ("fixVersions", fix_versions, 0.07),
    ("link", None, 0.07),
    ("points", story_points, 0.05),
    ("team", team, 0.04),
    ("sprint", sprint, 0.04),
    ("priority", priority, 0.04),
    ("summary", summary, 0.03),
)
