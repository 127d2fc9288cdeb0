"""What every emulator's world (its deterministic data) shares: seeds that are stable across
processes, a clock that is fixed in tests and real in the sandbox, and per-day caches."""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


def derive_seed(*parts: object) -> int:
    """A seed from `parts` that is stable across processes (Python's `hash` is salted per run)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


_horizon: datetime | None = None  # see fixed_horizon


@contextmanager
def fixed_horizon(now: datetime) -> Iterator[None]:
    """Worlds given no `now` of their own see `now` instead of the real time while this lasts.

    For tests of the sandbox's emulators (built by `Vendor.emulator()`, on the real clock): their
    data grows every day, and with it the time of every full read."""
    global _horizon
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    previous, _horizon = _horizon, now
    try:
        yield
    finally:
        _horizon = previous


class World:
    """Base of an emulator's data: `seeded(...)` generators, `now` and the days with data."""

    def __init__(self, name: str, seed: int, start_date: date, now: datetime | None = None):
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        self.name = name
        self.seed = seed
        self.start_date = start_date
        self._fixed_now = now

    @property
    def now(self) -> datetime:
        """The data horizon: fixed when given (or by `fixed_horizon`), else the real time (the
        data grows with it)."""
        return self._fixed_now or _horizon or datetime.now(UTC)

    def seeded(self, *parts: object) -> random.Random:
        return random.Random(derive_seed(self.name, self.seed, *parts))

    def days_until(self, last: date) -> list[date]:
        """The days from `start_date` through `last` (none before the start)."""
        return [self.start_date + timedelta(days=i) for i in range((last - self.start_date).days + 1)]


class DayCache(Generic[T]):
    """Thread-safe cache of data generated per day, keeping at most `size` days (None: all).

    Generation happens under the lock: a day is built once however many threads ask."""

    def __init__(self, build: Callable[[date], T], size: int | None = None):
        self._build = build
        self._size = size
        self._lock = threading.RLock()
        self._days: OrderedDict[date, T] = OrderedDict()

    def __call__(self, day: date) -> T:
        with self._lock:
            if day in self._days:
                self._days.move_to_end(day)
                return self._days[day]
            value = self._days[day] = self._build(day)
            if self._size is not None and len(self._days) > self._size:
                self._days.popitem(last=False)
            return value
