"""The files that make up landed days: described for staging (`landed_rows`, read by the
warehouse itself), fingerprinted for sensors, or read as one Arrow table with a
`partition_date` column (`read_landed_days`, for checks)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date

import pyarrow as pa

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.landing.producers import producer_of
from plumbing_dagster.tables import PARTITION_COLUMN
from plumbing_dagster.warehouses.landed import LandedFile, LandedRows


def landed_files(zone: LandingZone, source: str, config: StreamConfig, day: date) -> list[str]:
    """The files that make up the day now, relative to the landing root, in landing order."""
    return producer_of(config).files_for_day(zone, source, config.stream, day)


def day_fingerprint(files: Iterable[str]) -> str:
    """Identifies a day's file set: staging records it, sensors compare it to what landed since."""
    return hashlib.sha256("\n".join(sorted(files)).encode("utf-8")).hexdigest()[:16]


def landed_rows(zone: LandingZone, config: StreamConfig, files: Mapping[date, Sequence[str]]) -> LandedRows:
    """The landed files of each day (relative paths, in landing order), as staging reads them."""
    producer = producer_of(config)

    def url(relative: str) -> str:
        path = zone.path(relative)
        return path if zone.is_local else zone.fs.unstrip_protocol(path)

    def read(landed: LandedFile, rows: int, columns: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
        return producer.iter_batches(zone, landed.url, config, rows, columns)

    return LandedRows(
        config=config,
        days=tuple(sorted(files)),
        files=tuple(LandedFile(day, url(f)) for day in sorted(files) for f in files[day]),
        read=read,
        parquet=producer.lands_contract_shape,
        filesystem=None if zone.is_local else zone.fs,
        landed_at=producer.stamps_extraction,
    )


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
