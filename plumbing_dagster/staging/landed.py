"""Reading the rows that make up landed days, as one Arrow table with a `partition_date` column."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.io_managers.staged import PARTITION_COLUMN
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.landing.airbyte import airbyte_files_for_day, airbyte_to_landed
from plumbing_dagster.sources.arrow import landing_schema


def landed_files(zone: LandingZone, source: str, config: StreamConfig, day: date) -> list[str]:
    """The files that make up the day now, relative to the landing root."""
    if config.producer == "airbyte":  # no manifests: the day is every file of that sync date
        return airbyte_files_for_day(zone, source, config.stream, day)
    return zone.current_files(source, config.stream, day)


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
    """All rows landed for `days`; files of different contract versions are unified by name."""
    tables: list[pa.Table] = []
    for day in days:
        for relative in landed_files(zone, source, config, day):
            if config.producer == "airbyte":
                # Airbyte's own column names and types: map the whole file, then project.
                airbyte = pq.read_table(zone.path(relative), filesystem=zone.fs)
                table = airbyte_to_landed(airbyte, config)
                table = table.select(columns) if columns is not None else table
            else:
                table = pq.read_table(zone.path(relative), filesystem=zone.fs, columns=columns)
            day_column = pa.array([day] * table.num_rows, pa.date32())
            tables.append(table.append_column(PARTITION_COLUMN, day_column))
    if not tables:
        schema = landing_schema(config.fields)
        if columns is not None:
            schema = pa.schema([f for f in schema if f.name in columns])
        return schema.append(pa.field(PARTITION_COLUMN, pa.date32())).empty_table()
    return pa.concat_tables(tables, promote_options="permissive")
