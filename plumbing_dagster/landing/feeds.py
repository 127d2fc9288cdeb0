"""What a landing sensor lists ("feeds"): keys that grow with time, each resolvable to the
(stream, day) it changed. Each producer says which feeds its streams have.

- `ManifestLogFeed`: `_manifests/log/<source>/<write date>/<timestamp>_<load_id>_<stream>_<YYYYMMDD>.json`,
  one entry per landing of our raw assets, in one folder per write date so a listing never walks
  the whole history, whatever the store's listing costs.
- `AirbyteFeed`: Airbyte's `<source>/<stream>/<YYYY>_<MM>_<DD>_<epoch_ms>_<part>.parquet`, whose keys
  also grow with time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from plumbing_dagster.landing.airbyte import parse_airbyte_key
from plumbing_dagster.landing.zone import LandingZone, Manifest

_DATE_FOLDER = re.compile(r"^\d{8}$")
_LOG_NAME = re.compile(r"^(?P<ts>\d{8}T\d{12}Z)_(?P<rest>.+)_(?P<day>\d{8})\.json$")


class Skip(Exception):
    """A listed key that is not a landing the sensor can act on; the reason goes to the tick log."""


class Feed(Protocol):
    prefix: str

    def key_at(self, moment: datetime) -> str:
        """A key that sorts before every key of this feed stamped at `moment` or later."""
        ...

    def is_positioned(self, key: str) -> bool:
        """Whether `key` has the feed's time-ordered shape (only those may move the cursor)."""
        ...

    def resolve(self, zone: LandingZone, key: str) -> tuple[str, date]:
        """(stream, day) of a new key; raises Skip when it is not one."""
        ...

    def listing_prefixes(self, zone: LandingZone, start: str | None, now: datetime) -> list[str]:
        """The prefixes to list, in key order, for keys after `start`."""
        ...


@dataclass(frozen=True)
class ManifestLogFeed:
    source: str
    streams: frozenset[str]  # the streams our raw assets land

    @property
    def prefix(self) -> str:
        return f"{LandingZone.log_prefix(self.source)}/"

    def key_at(self, moment: datetime) -> str:
        moment = moment.astimezone(UTC)
        return f"{self.prefix}{moment:%Y%m%d}/{moment:%Y%m%dT%H%M%S%fZ}"

    def _name(self, key: str) -> str:
        """The entry's name below its write-date folder ('' when the key is not in one)."""
        folder, _, name = key[len(self.prefix) :].partition("/")
        return name if _DATE_FOLDER.match(folder) else ""

    def is_positioned(self, key: str) -> bool:
        match = _LOG_NAME.match(self._name(key))
        return match is not None and key[len(self.prefix) : len(self.prefix) + 8] == match["ts"][:8]

    def listing_prefixes(self, zone: LandingZone, start: str | None, now: datetime) -> list[str]:
        # One folder per write date: list the dates from the cursor's to tomorrow (clock skew);
        # only the first tick ever looks at which date folders exist.
        first = _DATE_FOLDER.match(start[len(self.prefix) : len(self.prefix) + 8]) if start else None
        if first is None:
            folders = [f for f in zone.list_folders(self.prefix.rstrip("/")) if _DATE_FOLDER.match(f)]
            return [f"{self.prefix}{folder}/" for folder in folders]
        day = datetime.strptime(first.group(0), "%Y%m%d").date()
        last = (now.astimezone(UTC) + timedelta(days=1)).date()
        return [f"{self.prefix}{day + timedelta(days=i):%Y%m%d}/" for i in range((last - day).days + 1)]

    def resolve(self, zone: LandingZone, key: str) -> tuple[str, date]:
        match = _LOG_NAME.match(self._name(key))
        if match is None:
            raise Skip("not a manifest log entry (<timestamp>_<load_id>_<stream>_<YYYYMMDD>.json)")
        try:
            day = datetime.strptime(match["day"], "%Y%m%d").date()
        except ValueError as exc:
            raise Skip(f"{match['day']!r} is not a date") from exc
        rest = match["rest"]
        # The load id comes first and stream names may contain '_': match known streams.
        candidates = [s for s in self.streams if rest.endswith(f"_{s}") and len(rest) > len(s) + 1]
        if len(candidates) == 1:
            return candidates[0], day
        if len(candidates) > 1:  # e.g. streams `orders` and `line_orders`: the manifest knows
            try:
                stream = Manifest.from_json(zone.read_text(key)).stream
            except (FileNotFoundError, ValueError, TypeError) as exc:
                raise Skip(f"ambiguous stream and unreadable entry ({exc})") from exc
            if stream in candidates:
                return stream, day
        raise Skip("names no dlt-produced stream of this source")


@dataclass(frozen=True)
class AirbyteFeed:
    source: str
    stream: str

    @property
    def prefix(self) -> str:
        return f"{self.source}/{self.stream}/"

    def key_at(self, moment: datetime) -> str:
        moment = moment.astimezone(UTC)
        return f"{self.prefix}{moment:%Y_%m_%d}_{int(moment.timestamp() * 1000)}"

    def is_positioned(self, key: str) -> bool:
        return parse_airbyte_key(key) is not None

    def resolve(self, zone: LandingZone, key: str) -> tuple[str, date]:
        parsed = parse_airbyte_key(key)
        if parsed is None:
            raise Skip("not an Airbyte file (<YYYY>_<MM>_<DD>_<epoch_ms>_<part>.parquet)")
        if parsed.namespace != self.source or parsed.stream != self.stream:
            raise Skip(f"belongs to {parsed.namespace}/{parsed.stream}")
        return self.stream, parsed.day

    def listing_prefixes(self, zone: LandingZone, start: str | None, now: datetime) -> list[str]:
        return [self.prefix]  # Airbyte's keys start with the sync date already
