"""Reading the rows that make up landed days, as one Arrow table with a `partition_date` column."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

import pyarrow as pa

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.landing.producers import producer_of
from plumbing_dagster.tables import PARTITION_COLUMN


def landed_files(zone: LandingZone, source: str, config: StreamConfig, day: date) -> list[str]:
    """The files that make up the day now, relative to the landing root, in landing order."""
    return producer_of(config).files_for_day(zone, source, config.stream, day)


def day_fingerprint(files: Iterable[str]) -> str:
    """Identifies a day's file set: staging records it, sensors compare it to what landed since."""
    return hashlib.sha256("\n".join(sorted(files)).encode("utf-8")).hexdigest()[:16]


def landed_fingerprints(
    zone: LandingZone, source: str, config: StreamConfig, days: Iterable[date]
) -> dict[str, str]:
    return {f"{day:%Y-%m-%d}": day_fingerprint(landed_files(zone, source, config, day)) for day in days}


def read_landed_days(
    zone: LandingZone,
    source: str,
    config: StreamConfig,
    days: Iterable[date],
    columns: list[str] | None = None,
) -> pa.Table:
    """All rows landed for `days`, in landing order; files of different contract versions are
    unified by name."""
    producer = producer_of(config)
    tables: list[pa.Table] = []
    for day in days:
        for relative in landed_files(zone, source, config, day):
            table = producer.read(zone, relative, config, columns)
            day_column = pa.array([day] * table.num_rows, pa.date32())
            tables.append(table.append_column(PARTITION_COLUMN, day_column))
    if not tables:
        schema = landing_schema(config.fields)
        if columns is not None:
            schema = pa.schema([f for f in schema if f.name in columns])
        return schema.append(pa.field(PARTITION_COLUMN, pa.date32())).empty_table()
    return pa.concat_tables(tables, promote_options="permissive")
