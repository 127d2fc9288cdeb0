"""Landed text read as Postgres reads it, for the shapes where that is certain, a batch at a time.

Binary COPY (`binary_copy.py`) sends values, not text, so the date-times, dates and decimals that
land as text are read here, and must come out as `CAST(text AS <type>)` makes them. Postgres
reads many more spellings than these; only a strict, common subset is read here, each field
range-checked, and anything else is refused (`NotEncodable`), so that a value is either read
exactly as Postgres would read it or left to Postgres:

- date-time: `YYYY-MM-DD` `T` or space `HH:MM:SS`, 1 to 6 decimals of a second, then `Z`,
  `±HH`, `±HHMM`, `±HH:MM` or no zone (read in the session's time zone, UTC here); years 0001 to
  9999, valid calendar dates, hours to 23, seconds to 59, zone offsets to 15:59 as Postgres allows;
- date: `YYYY-MM-DD`, likewise;
- decimal: plain digits, a sign, at most 29 before the point and 9 after it, which
  `numeric(38,9)` holds without rounding.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (Postgres').
POSTGRES_EPOCH_DAYS = 10_957
PLAIN_DECIMAL = r"^[+-]?[0-9]{1,29}(\.[0-9]{1,9})?$"
_LONGEST = 32  # 2026-11-01T10:00:00.123456+01:00
_DIGITS_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int32)


class NotEncodable(ValueError):
    """A value this module does not read with certainty (see the module)."""


def timestamps(strings: pa.Array, zone_less_utc: bool) -> np.ndarray:
    """Microseconds since 2000-01-01 UTC of each date-time text (0 where null)."""
    grid, lengths, valid = _characters(strings, _LONGEST)
    if _like_first(grid, lengths, valid):  # one layout for all (the usual): the first row's
        decimals, zone_at, zone_length = (int(v[0]) for v in _layout(grid[:1], lengths[:1], valid[:1]))
        if (grid[:, zone_at:] == grid[:1, zone_at:]).all():  # and one zone (the usual too)
            east = _east(grid[:1], zone_at, np.array([zone_length]), valid[:1], zone_less_utc)
        else:
            east = _east(grid, zone_at, np.full(len(grid), zone_length), valid, zone_less_utc)
        layout: tuple[np.ndarray | int, ...] = (decimals, zone_at)
    else:
        decimals, zone_at, zone_length = _layout(grid, lengths, valid)
        east = _east(grid, zone_at, zone_length, valid, zone_less_utc)
        layout = (decimals, zone_at)
    days, digits = _date(grid, valid)
    hours, minutes, seconds = _number(digits, 8, 2), _number(digits, 10, 2), _number(digits, 12, 2)
    _expect(~valid | ((hours < 24) & (minutes < 60) & (seconds < 60)), "a time of day up to 23:59:59")
    places = (grid[:, 20:26] - np.uint8(ord("0"))) * (np.arange(6) < np.reshape(layout[0], (-1, 1)))
    micros = places.astype(np.int32) @ (10 ** np.arange(5, -1, -1, dtype=np.int32))
    seconds_of_day = hours * 3_600 + minutes * 60 + seconds - east
    moment = (days * 86_400 + seconds_of_day) * 1_000_000 + micros
    return np.where(valid, moment, 0)


def _east(
    grid: np.ndarray,
    zone_at: np.ndarray | int,
    zone_length: np.ndarray,
    valid: np.ndarray,
    zone_less_utc: bool,
) -> np.ndarray:
    """Seconds east of UTC of each row's zone: none, Z, ±HH, ±HHMM or ±HH:MM."""
    zone = _pick(grid, zone_at, 6)
    zone_length = np.where(valid, zone_length, 0)
    named = zone_length == 1
    _expect(~named | (zone[:, 0] == ord("Z")), "a zone as Z or an offset")
    offset = (zone_length == 3) | (zone_length == 5) | (zone_length == 6)
    _expect(~valid | named | offset | ((zone_length == 0) & zone_less_utc), "a date-time with its zone")
    colon = zone_length == 6
    with_minutes = zone_length >= 5
    zone_digits = np.column_stack([zone[:, 1:3], np.where(colon[:, None], zone[:, 4:6], zone[:, 3:5])])
    signed = (zone[:, 0] == ord("+")) | (zone[:, 0] == ord("-"))
    well_formed = signed & _is_digit(zone_digits[:, :2]).all(axis=1)
    well_formed &= ~with_minutes | _is_digit(zone_digits[:, 2:]).all(axis=1)
    well_formed &= ~colon | (zone[:, 3] == ord(":"))
    _expect(~offset | well_formed, "a zone offset as ±HH, ±HHMM or ±HH:MM")
    zone_values = (zone_digits - np.uint8(ord("0"))).astype(np.int32)
    hours = zone_values[:, 0] * 10 + zone_values[:, 1]
    minutes = np.where(with_minutes, zone_values[:, 2] * 10 + zone_values[:, 3], 0)
    _expect(~offset | ((hours <= 15) & (minutes < 60)), "a zone offset up to 15:59")
    return np.where(offset, np.where(zone[:, 0] == ord("-"), -1, 1) * (hours * 3_600 + minutes * 60), 0)


def _like_first(grid: np.ndarray, lengths: np.ndarray, valid: np.ndarray) -> bool:
    """Whether every row is as long as the first and has its characters where it has no digit
    (and digits where it has them): then one layout, the first row's, holds for every row."""
    if not len(grid) or not valid.all() or not (lengths == lengths[0]).all():
        return False
    first = grid[:1, : int(lengths[0])]
    rows = grid[:, : int(lengths[0])]
    return bool(np.where(_is_digit(first), _is_digit(rows), rows == first).all())


def _layout(
    grid: np.ndarray, lengths: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decimals of the second, where the zone starts, its length) of each row, the date and
    time before them checked for their separators."""
    _expect(~valid | (lengths >= 19), "a date-time as YYYY-MM-DDTHH:MM:SS")
    _expect(
        ~valid | (grid[:, 10] == ord("T")) | (grid[:, 10] == ord(" ")), "a date-time as YYYY-MM-DDTHH:MM:SS"
    )
    _expect(~valid | ((grid[:, 13] == ord(":")) & (grid[:, 16] == ord(":"))), "a time as HH:MM:SS")
    fraction = valid & (lengths > 19) & (grid[:, 19] == ord("."))
    following = np.cumprod(_is_digit(grid[:, 20:27]), axis=1)  # 7 places: a 7th digit is refused
    decimals = np.where(fraction, following.sum(axis=1), 0)
    _expect(~fraction | ((decimals >= 1) & (decimals <= 6)), "a time with 1 to 6 decimals of a second")
    zone_at = 19 + np.where(fraction, decimals + 1, 0)
    return decimals, zone_at, lengths - zone_at


def _pick(grid: np.ndarray, start: np.ndarray | int, width: int) -> np.ndarray:
    """`width` characters of each row from `start` (one for all rows, or each row's)."""
    if isinstance(start, int):
        return grid[:, start : start + width]
    return np.take_along_axis(grid, np.minimum(start[:, None] + np.arange(width), grid.shape[1] - 1), axis=1)


def dates(strings: pa.Array) -> np.ndarray:
    """Days since 2000-01-01 of each `YYYY-MM-DD` text (0 where null)."""
    grid, lengths, valid = _characters(strings, 10)
    _expect(~valid | (lengths == 10), "a date as YYYY-MM-DD")
    days, _ = _date(grid, valid)
    return np.where(valid, days, 0)


def decimal_digits(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(negative, 11 base-10000 digits) of each plain decimal text: 8 before the point (weight
    7), 3 after it, of which the first 9 decimal digits count (scale 9), as `numeric` sends
    them; leading and trailing zero digits are stripped by Postgres as it stores the value."""
    if not pc.all(pc.match_substring_regex(strings, PLAIN_DECIMAL), min_count=0).as_py():  # nulls skipped
        raise NotEncodable("a decimal that is not plain digits with at most 29 + 9 of them")
    filled = pc.fill_null(strings, "0")
    negative = pc.starts_with(filled, "-").to_numpy(zero_copy_only=False)
    unsigned = pc.utf8_ltrim(filled, "+-")
    pointed = pc.if_else(
        pc.match_substring(unsigned, "."), unsigned, pc.binary_join_element_wise(unsigned, ".", "")
    )
    parts = pc.split_pattern(pointed, ".", max_splits=1)
    whole = pc.utf8_lpad(pc.list_element(parts, 0), 32, "0")
    fraction = pc.utf8_rpad(pc.list_element(parts, 1), 12, "0")
    grid, _, _ = _characters(pc.binary_join_element_wise(whole, fraction, ""), 44)
    values = grid.astype(np.int64) - ord("0")
    groups = values.reshape(len(values), 11, 4) @ np.array([1000, 100, 10, 1])
    return negative, groups


def _characters(strings: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first `width` bytes of each string as a grid (zero-padded), lengths, and validity."""
    count = len(strings)
    if not pa.types.is_string(strings.type):
        strings = strings.cast(pa.string())
    validity = strings.is_valid().to_numpy(zero_copy_only=False)
    _, offsets, characters = strings.buffers()
    bounds = np.frombuffer(offsets, np.int32, count + 1, strings.offset * 4).astype(np.int64)
    lengths = np.diff(bounds)
    _expect(~validity | (lengths <= width), "a value as long as the shapes read here at most")
    grid = np.zeros((count, width), np.uint8)
    if not count or characters is None:
        return grid, lengths, validity
    raw = np.frombuffer(characters, np.uint8)
    longest = int(lengths.max())
    if int(lengths.min()) == longest:  # one length (the usual): the characters are the grid
        grid[:, :longest] = raw[bounds[0] : bounds[-1]].reshape(count, longest)
        return grid, lengths, validity
    at = np.minimum(bounds[:-1, None] + np.arange(width), len(raw) - 1)
    grid[:] = raw[at]
    grid[np.arange(width) >= lengths[:, None]] = 0
    return grid, lengths, validity


def _date(grid: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 2000-01-01 of `YYYY-MM-DD` at the start of each row, and the row's digits at
    `_DIGITS_AT` (the time's too, where the grid is wide enough)."""
    at = [i for i in _DIGITS_AT if i < grid.shape[1]]
    digits = grid[:, at] - np.uint8(ord("0"))  # other characters wrap around past 9
    _expect(~valid | (digits <= 9).all(axis=1), "digits where a date-time has them")
    _expect(~valid | ((grid[:, 4] == ord("-")) & (grid[:, 7] == ord("-"))), "a date as YYYY-MM-DD")
    year, month, day = _number(digits, 0, 4), _number(digits, 4, 2), _number(digits, 6, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    longest = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    _expect(
        ~valid | ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= longest)),
        "a calendar date",
    )
    # Days from the civil date (H. Hinnant's algorithm), shifted to Postgres' epoch.
    shifted = year - (month <= 2)
    era = shifted // 400
    of_era = shifted - era * 400
    of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    of_era_days = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    days = era * 146_097 + of_era_days - 719_468 - POSTGRES_EPOCH_DAYS
    return days.astype(np.int64), digits


def _number(digits: np.ndarray, start: int, width: int) -> np.ndarray:
    """The decimal number of `width` digits from column `start` (32-bit: small numbers, and
    the memory they go through is what a batch's time goes to)."""
    value = digits[:, start].astype(np.int32)
    for index in range(start + 1, start + width):
        value = value * 10 + digits[:, index]
    return value


def _is_digit(grid: np.ndarray) -> np.ndarray:
    return (grid - np.uint8(ord("0"))) <= 9  # other characters wrap around past 9


def _expect(holds: np.ndarray, shape: str) -> None:
    if not bool(np.all(holds)):
        raise NotEncodable(f"a value is not {shape}")
