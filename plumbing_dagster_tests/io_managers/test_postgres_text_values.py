"""Landed text that the direct path of Postgres staging reads itself (`text_values.py`) comes out
as Postgres' casts make it, or is left to Postgres: checked against the server on seeded spellings,
common and odd."""

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from plumbing_dagster.warehouses.postgres.binary_copy import binary_format, encoder
from plumbing_dagster.warehouses.postgres.copy import copy_routed
from plumbing_dagster.warehouses.postgres.text_values import NotEncodable, dates, timestamps

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


# Spellings of each part, the usual ones weighted up; together, common and odd date-times.
_PARTS = [
    ["2026", "0001", "9999", "0000", "2024", "1900", "12026", "2026", "2026"],
    ["-"],
    ["01", "02", "12", "13", "00", "1", "03", "03"],
    ["-"],
    ["01", "28", "29", "30", "31", "00", "15", "15"],
    ["T", " ", "t", "_", "T", "T"],
    ["00", "23", "24", "7", "10", "10"],
    [":"],
    ["00", "59", "60", "11", "11"],
    [":"],
    ["00", "59", "60", "12", "12"],
    ["", "", ".", ".1", ".123", ".123456", ".1234567", ".5"],
    ["", "Z", "z", "+00", "-00", "+0100", "+01:00", "-05:30", "+15:59", "+16:00", "+14:60", "+1", "UTC", "Z"],
]


def _date_time(pick: random.Random) -> str:
    text = "".join(pick.choice(choices) for choices in _PARTS)
    return text[: pick.randint(0, len(text))] if pick.random() < 0.05 else text


def _day(pick: random.Random) -> str:
    year = pick.choice(["2026", "0001", "0000", "9999", "12345"])
    return f"{year}-{pick.randint(0, 13):02}-{pick.randint(0, 32):02}"


def _read_alone(values: list[str], read: Callable[[pa.Array], np.ndarray]) -> dict[str, int]:
    """The values read one by one, those that are read at all."""
    found = {}
    for value in values:
        try:
            found[value] = int(read(pa.array([value]))[0])
        except NotEncodable:
            pass
    return found


def test_date_times_and_dates_read_here_are_what_postgres_reads(postgres_url: str) -> None:
    pick = random.Random(20261102)
    spelled = sorted({_date_time(pick) for _ in range(4000)})
    read = _read_alone(spelled, lambda values: timestamps(values, zone_less_utc=True))
    days = sorted({_day(pick) for _ in range(600)} | {"2024-02-29", "2023-02-29", "2026-1-01"})
    read_days = _read_alone(days, dates)
    assert len(read) > 200 and len(read_days) > 100  # enough of them are read here

    with psycopg.connect(postgres_url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        # Every value read here is one Postgres reads (else this fails), and reads the same.
        rows = conn.execute(
            "SELECT CAST(s AS timestamptz) FROM unnest(CAST(%s AS text[])) AS s", [list(read)]
        )
        assert [(moment - EPOCH) // timedelta(microseconds=1) for (moment,) in rows] == list(read.values())
        rows = conn.execute("SELECT CAST(s AS date) FROM unnest(CAST(%s AS text[])) AS s", [list(read_days)])
        assert [(day - date(2000, 1, 1)).days for (day,) in rows] == list(read_days.values())

    # In batches of mixed shapes and nulls (no single layout), each value reads as alone.
    values = list(read)
    for _ in range(100):
        batch = pick.sample(values, pick.randint(1, 30)) + [None] * pick.randint(0, 2)
        pick.shuffle(batch)
        expected = [0 if value is None else read[value] for value in batch]
        assert timestamps(pa.array(batch, pa.string()), zone_less_utc=True).tolist() == expected
    refused = next(value for value in spelled if value not in read)
    with pytest.raises(NotEncodable):
        timestamps(pa.array([*values[:20], refused]), zone_less_utc=True)


def test_a_date_time_without_a_zone_is_read_only_in_utc() -> None:
    assert timestamps(pa.array(["2000-01-01 00:00:01"]), zone_less_utc=True).tolist() == [1_000_000]
    with pytest.raises(NotEncodable):
        timestamps(pa.array(["2000-01-01 00:00:01"]), zone_less_utc=False)


def test_plain_decimals_are_sent_as_numeric_38_9_makes_them(postgres_url: str) -> None:
    pick = random.Random(7)

    def digits(most: int) -> str:
        return "".join(pick.choice("0123456789") for _ in range(pick.randint(1, most)))

    values = ["0", "-0", "+0.0", "-0.000000001", "9" * 29 + "." + "9" * 9, "-" + "9" * 29, "007.10", None]
    values += [f"{pick.choice(['', '-', '+'])}{digits(29)}" + (f".{digits(9)}" if pick.random() < 0.7 else "")
               for _ in range(500)]  # fmt: skip
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TEMP TABLE sent (id bigint, amount numeric)")
        rows = pa.table(
            {"id": pa.array(range(len(values)), pa.int64()), "amount": pa.array(values, pa.string())}
        )
        form = binary_format(
            {"sent": [encoder("bigint", pa.int64(), True), encoder("numeric", pa.string(), True)]}
        )
        copy_routed(conn, {"sent": ["id", "amount"]}, [("sent", rows)], form)
        # Same value, same scale (numeric's text shows it: 0.000000000).
        differing = conn.execute(
            "SELECT s.id, s.amount::text, CAST(v AS numeric(38, 9))::text FROM sent AS s "
            "JOIN unnest(CAST(%s AS text[])) WITH ORDINALITY AS l (v, n) ON s.id = l.n - 1 "
            "WHERE s.amount IS DISTINCT FROM CAST(v AS numeric(38, 9)) "
            "OR s.amount::text IS DISTINCT FROM CAST(v AS numeric(38, 9))::text",
            [values],
        ).fetchall()
    assert differing == []
    for refused in ["1e3", ".5", "5.", "1.0000000001", "1" * 30, " 1", "NaN"]:
        with pytest.raises(NotEncodable):
            encoder("numeric", pa.string(), True)(pa.array([refused]))
