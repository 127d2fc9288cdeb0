"""Time as Jira Data Center renders and reads it.

The server renders every date-time in its own zone (`SERVER_ZONE`, Europe/Berlin: +0100 in winter,
+0200 in summer) with milliseconds and an offset without a colon: `2026-11-02T01:30:00.000+0100`.
JQL date literals (`"2026/11/02 23:30"`) are read in the *searching user's* zone, at minute
resolution. Everything inside the world is integer epoch milliseconds, so windows compare exactly.

Formatting is on the hot path (every issue carries several date-times and a busy day holds 20,000
issues), hence the caches: the zone offset is looked up once per UTC hour (zone transitions fall on
whole UTC hours for every zone the emulator uses) and the date part once per local day.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SERVER_ZONE_NAME = "Europe/Berlin"
SERVER_ZONE = ZoneInfo(SERVER_ZONE_NAME)
SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
_EPOCH = date(1970, 1, 1)


@functools.cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@functools.lru_cache(maxsize=200_000)
def _offset_ms(zone_name: str, utc_hour: int) -> int:
    offset = datetime.fromtimestamp(utc_hour * 3600, zone(zone_name)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) * SECOND_MS


@functools.lru_cache(maxsize=20_000)
def _date_text(epoch_day: int) -> str:
    return (_EPOCH + timedelta(days=epoch_day)).isoformat()


@functools.lru_cache(maxsize=512)
def _offset_text(offset_ms: int, colon: bool) -> str:
    sign = "-" if offset_ms < 0 else "+"
    minutes = abs(offset_ms) // MINUTE_MS
    return f"{sign}{minutes // 60:02d}{':' if colon else ''}{minutes % 60:02d}"


def jira_datetime(ms: int, zone_name: str = SERVER_ZONE_NAME, *, colon: bool = False) -> str:
    """Epoch milliseconds as Jira renders them: `2026-11-02T01:30:00.000+0100` (in `zone_name`).

    `colon=True` gives `+01:00`, the form Jira Software uses inside its sprint strings."""
    offset = _offset_ms(zone_name, ms // HOUR_MS)
    local = ms + offset
    day, rest = divmod(local, DAY_MS)
    seconds, millis = divmod(rest, SECOND_MS)
    return (
        f"{_date_text(day)}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        f".{millis:03d}{_offset_text(offset, colon)}"
    )


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as integer epoch milliseconds (no float rounding at window bounds)."""
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * SECOND_MS + delta.microseconds // 1000


def epoch_day(ms: int) -> int:
    return ms // DAY_MS


def day_of(ms: int) -> date:
    return _EPOCH + timedelta(days=ms // DAY_MS)


def day_start_ms(day: date) -> int:
    return (day - _EPOCH).days * DAY_MS


# JQL date literal formats (Jira's JqlDateSupport), each read in the searching user's zone.
_JQL_DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_JQL_PERIOD = re.compile(r"([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
_PERIOD_MS = {"w": 7 * DAY_MS, "d": DAY_MS, "h": HOUR_MS, "m": MINUTE_MS}


def parse_jql_date(text: str, zone_name: str, now_ms: int) -> int | None:
    """A JQL date-time literal as epoch ms, or None when it is not one.

    `yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd` and `yyyy-MM-dd` are wall-clock times in
    the user's zone (so minute resolution); periods like `-1d`, `-4w 2d` count from now."""
    text = text.strip()
    found = _JQL_DATE.fullmatch(text)
    if found:
        year, month, day, hour, minute = found.groups()
        try:
            local = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=zone(zone_name)
            )
        except ValueError:
            return None
        if int(hour or 0) > 23:
            return None
        return epoch_ms(local)
    found = _JQL_PERIOD.fullmatch(text)
    if found:
        sign = -1 if found.group(1) == "-" else 1
        total = sum(int(n) * _PERIOD_MS[unit] for n, unit in _PERIOD_PART.findall(found.group(2)))
        return now_ms + sign * total
    return None
