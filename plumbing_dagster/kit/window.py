"""The extraction window: a partition's half-open UTC time range, as vendor code sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Window:
    """A half-open UTC time window `[start, end)`; extraction for one partition is one window."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError(f"empty window [{self.start}, {self.end})")

    @classmethod
    def for_day(cls, day: date) -> Window:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return cls(start, start + timedelta(days=1))

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def days(self) -> list[date]:
        """The UTC days the window touches, in order."""
        first = self.start.astimezone(UTC).date()
        count = (self.end - self.start + timedelta(microseconds=-1)).days + 1
        return [first + timedelta(days=i) for i in range(count)]

    def whole_days(self) -> tuple[date, date]:
        """`[first day, end day)` of a window that starts and ends at UTC midnight."""
        start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
        midnight = datetime.min.time()
        if start.time() != midnight or end.time() != midnight:
            # A day-valued cursor cannot be split; two part-day windows would both land the whole day.
            raise ValueError(f"a date cursor needs whole UTC days, got [{start}, {end})")
        return start.date(), end.date()
