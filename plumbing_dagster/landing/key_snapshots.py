"""Key snapshots: every key of a stream that exists at the vendor when a day is landed, written
beside the day's files and listed in its manifest (`ids_files`). Staging compares them over days
to mark keys that disappeared — for APIs that never report deletes (Odoo)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.contract.types import landing_type
from plumbing_dagster.landing.zone import LandingZone
from plumbing_dagster.tables import PARTITION_COLUMN


def key_schema(keys: Mapping[str, FieldSpec]) -> pa.Schema:
    return pa.schema([pa.field(name, landing_type(spec)) for name, spec in keys.items()])


def key_table(pages: Iterable[Any], keys: Mapping[str, FieldSpec]) -> pa.Table:
    """The keys of every record in `pages` (dicts or Arrow tables), one row per distinct key."""
    schema = key_schema(keys)
    rows = [
        {name: record.get(name) for name in keys}
        for page in pages
        for record in (page.to_pylist() if isinstance(page, pa.Table) else page)
    ]
    distinct = list({tuple(r.values()): r for r in rows}.values())
    return pa.Table.from_pylist(distinct, schema=schema)


def write_key_snapshot(zone: LandingZone, source: str, stream: str, day: date, table: pa.Table) -> str:
    """Writes the snapshot into the day folder; returns its path relative to the landing root."""
    relative = f"{zone.day_folder(source, stream, day)}/keys-{uuid.uuid4().hex}.parquet"
    zone.fs.makedirs(zone.path(zone.day_folder(source, stream, day)), exist_ok=True)
    pq.write_table(table, zone.path(relative), filesystem=zone.fs)
    return relative


def read_key_snapshots(
    zone: LandingZone, source: str, stream: str, days: Iterable[date], keys: Mapping[str, FieldSpec]
) -> pa.Table | None:
    """The snapshots landed with `days` (with `partition_date`), or None when none of them has one."""
    tables: list[pa.Table] = []
    for day in days:
        manifest = zone.current_manifest(source, stream, day)
        for relative in manifest.ids_files if manifest else []:
            table = pq.read_table(zone.path(relative), filesystem=zone.fs, columns=list(keys))
            tables.append(
                table.append_column(PARTITION_COLUMN, pa.array([day] * table.num_rows, pa.date32()))
            )
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")
