"""Jira Software's sprints in the emulated instance: two weeks each per project from the world's
start, their state following the clock, and their text as REST v2's Sprint field gives it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from plumbing_dagster.sources.jira.emulator.catalog import PROJECT_SPECS, Project
from plumbing_dagster.sources.jira.emulator.times import (
    DAY_MS,
    HOUR_MS,
    SERVER_ZONE_NAME,
    day_start_ms,
    jira_datetime,
)

SPRINT_DAYS = 14


@dataclass(frozen=True)
class Sprint:
    """Two-week sprints per project from the world's start; their state follows the clock."""

    id: int
    board: int
    name: str
    start_ms: int
    end_ms: int

    def state(self, now_ms: int) -> str:
        return "CLOSED" if now_ms >= self.end_ms else "ACTIVE" if now_ms >= self.start_ms else "FUTURE"

    def text(self, now_ms: int) -> str:
        """The sprint as Jira Software's Sprint field shows it over REST v2: the bean's toString."""
        state = self.state(now_ms)
        start = jira_datetime(self.start_ms, SERVER_ZONE_NAME, colon=True)
        end = jira_datetime(self.end_ms, SERVER_ZONE_NAME, colon=True)
        complete = end if state == "CLOSED" else "<null>"
        activated = start if state != "FUTURE" else "<null>"
        return (
            f"com.atlassian.greenhopper.service.sprint.Sprint@{self.id * 7919 % 0xFFFFFF:06x}[id={self.id},"
            f"rapidViewId={self.board},state={state},name={self.name},startDate={start},endDate={end},"
            f"completeDate={complete},activatedDate={activated},sequence={self.id},goal=,"
            f"autoStartStop=false,synced=false]"
        )


def sprint_at(project: Project, start: date, at_ms: int) -> Sprint:
    """The sprint of `project` running at `at_ms` (sprints start at 09:00 UTC on the start date)."""
    number = max(0, (at_ms - _first_sprint_ms(start)) // (SPRINT_DAYS * DAY_MS))
    return sprint_by_id(1 + project.index * 1000 + number, start)


def sprint_by_id(sprint_id: int, start: date) -> Sprint:
    index, number = divmod(sprint_id - 1, 1000)
    begin = _first_sprint_ms(start) + number * SPRINT_DAYS * DAY_MS
    key = PROJECT_SPECS[index][0]
    return Sprint(sprint_id, index + 1, f"{key} Sprint {number + 1}", begin, begin + SPRINT_DAYS * DAY_MS)


def _first_sprint_ms(start: date) -> int:
    return day_start_ms(start) + 9 * HOUR_MS
