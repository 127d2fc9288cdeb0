"""Named points in a run where a test can kill or hold the process, set through the environment.

The crash worker (`worker.py`) wraps functions of the code location so that each passes a named
point (`publish.swap`, `warehouse.duckdb.commit`, ...) and calls `reached(point)` there:

- `PLUMBING_CRASH_AT=<point>@<n>`: SIGKILL ourselves the n-th time `point` is reached;
- `PLUMBING_CRASH_HOLD=<point>@<n>:<file>`: the n-th time, wait until `<file>` exists;
- `PLUMBING_CRASH_TRACE=<file>`: append `<point> <n>` for each point reached (flushed before a
  kill or a hold, so the test knows how far the run got).

Points are passed in the run's own process (the sandbox executes steps in process), so a kill
lands exactly there — no timing, no sleeps.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

KILL = "PLUMBING_CRASH_AT"
HOLD = "PLUMBING_CRASH_HOLD"
TRACE = "PLUMBING_CRASH_TRACE"
HOLD_TIMEOUT_SECONDS = 180

_counts: Counter[str] = Counter()


@dataclass(frozen=True)
class Target:
    point: str
    occurrence: int

    def __str__(self) -> str:
        return f"{self.point}@{self.occurrence}"

    @classmethod
    def parse(cls, text: str) -> Target:
        point, _, occurrence = text.partition("@")
        return cls(point, int(occurrence or 1))


def _trace(point: str, occurrence: int) -> None:
    if path := os.environ.get(TRACE):
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{point} {occurrence}\n")


def reached(point: str) -> None:
    """Called by wrapped code at `point`: trace it, and kill or hold the process if asked to."""
    _counts[point] += 1
    here = Target(point, _counts[point])
    _trace(point, here.occurrence)
    if (kill := os.environ.get(KILL)) and Target.parse(kill) == here:
        os.kill(os.getpid(), signal.SIGKILL)
    if hold := os.environ.get(HOLD):
        target, _, release = hold.partition(":")
        if Target.parse(target) == here:
            deadline = time.monotonic() + HOLD_TIMEOUT_SECONDS
            while not Path(release).exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"held at {here} for {HOLD_TIMEOUT_SECONDS} s: {release} never came")
                time.sleep(0.05)


def read_trace(path: Path) -> list[Target]:
    if not path.exists():
        return []
    return [Target(p, int(n)) for p, n in (line.split() for line in path.read_text().splitlines())]
