"""What a vendor package provides: its endpoints (streams), how to connect, and its emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from plumbing_dagster.config.models import DestinationSyncMode, FieldSpec, SyncMode
from plumbing_dagster.sources.emulator import EmulatorApp

Record = dict[str, Any]
Page = list[Record]


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
        first = self.start.astimezone(UTC).date()
        count = (self.end - self.start + timedelta(microseconds=-1)).days + 1
        return [first + timedelta(days=i) for i in range(count)]


class VendorClient(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class Connection:
    """Where and as whom to call a vendor. Which fields matter depends on the vendor."""

    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"Connection(base_url={self.base_url!r})"

    __str__ = __repr__


Fetch = Callable[[Any, "Window | None"], Iterator[Page]]
# Like Fetch, but may yield pages already parsed into Arrow tables of the given contract fields.
FetchArrow = Callable[[Any, "Window | None", Mapping[str, FieldSpec]], Iterator[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One stream a vendor offers.

    `fetch(client, window)` yields pages of records. For incremental streams it yields the records
    whose cursor lies in `window` (pushing the filter to the API where it can); for full-refresh
    streams it yields a snapshot. `window=None` (discovery) means no bounds.
    """

    name: str
    fetch: Fetch
    primary_key: tuple[str, ...]
    cursor_field: str | None
    sync_modes: tuple[SyncMode, ...]
    destination_sync_modes: tuple[DestinationSyncMode, ...] = ("append", "merge")
    description: str = ""
    fetch_arrow: FetchArrow | None = None  # optional fast path for large streams


@dataclass(frozen=True)
class Vendor:
    """Everything the Dagster side needs to know about one vendor."""

    name: str
    start_date: date
    endpoints: Mapping[str, Endpoint]
    connect: Callable[[Connection], VendorClient]
    make_emulator: Callable[[], EmulatorApp]
    # Credentials the emulator accepts; only ever used against the local emulator.
    sandbox_connection: Callable[[str], Connection] = field(default=lambda url: Connection(base_url=url))
    # Production settings: Connection field -> environment variable (read at run time only).
    prod_env: Mapping[str, str] = field(default_factory=dict)
