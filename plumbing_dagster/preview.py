"""`plumbing preview`: the dry run of seed 004 and the preview of seed 002.

Fetches one day of a stream through the real client (the emulator in the sandbox), applies the
field filter and the contract exactly as staging would, and reports the rows, the counts and where
a real run would write — and writes nothing: no landing file, no manifest, no warehouse row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.arrow import records_to_table
from plumbing_dagster.environments import Environment
from plumbing_dagster.kit import Vendor, VendorClient, Window
from plumbing_dagster.kit.extract import fetch_stream
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.tables import PARTITION_COLUMN, REJECTED_SUFFIX, key_list, qualified, staging_schema
from plumbing_dagster.warehouses.duckdb import DuckDBWarehouse
from plumbing_dagster.warehouses.landed import landed_in_memory


@dataclass
class Preview:
    source: str
    stream: str
    day: date
    pages: int = 0
    fetched: int = 0
    staged: pa.Table | None = None
    rejected: pa.Table | None = None
    would_write: list[str] = field(default_factory=list)


@contextmanager
def open_client(vendor: Vendor, environment: Environment) -> Iterator[VendorClient]:
    vendor_apis = environment.vendor_apis
    if environment.name != "sandbox":  # resolve dg.EnvVar values for use outside a run
        vendor_apis = vendor_apis.process_config_and_initialize()
    with vendor_apis.open(vendor) as client:
        yield client


def preview_stream(
    vendor: Vendor, config: StreamConfig, day: date, environment: Environment, client: VendorClient
) -> Preview:
    endpoint = vendor.endpoint(config.stream)
    assert endpoint is not None  # the loader checked it
    result = Preview(vendor.name, config.stream, day)
    tables: list[pa.Table] = []
    for page in fetch_stream(endpoint, client, config, Window.for_day(day)):
        table = records_to_table(page, config.fields)
        result.pages += 1
        result.fetched += table.num_rows
        tables.append(table)
    landed = pa.concat_tables(tables) if tables else records_to_table([], config.fields)
    result.staged, result.rejected = stage_in_memory(config, day, landed)
    # Paths only: the landing zone is not opened, listed or written.
    root = environment.landing.url.rstrip("/")
    schema = staging_schema(vendor.name)
    result.would_write = [
        f"{root}/{LandingZone.day_folder(vendor.name, config.stream, day)}/<load_id>.<file_id>.parquet",
        f"{root}/{LandingZone.current_manifest_key(vendor.name, config.stream, day)}",
        f"{config.warehouse}: {schema}.{config.stream} and {schema}.{config.stream}{REJECTED_SUFFIX}, "
        f"partition {day}",
    ]
    return result


def stage_in_memory(config: StreamConfig, day: date, landed: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(staged rows by key, records put aside) of one day's landed rows, staged exactly as a run
    stages them, in an in-memory DuckDB that is gone afterwards."""
    with DuckDBWarehouse(":memory:").transaction(lock="preview") as session:
        session.ensure_schema("preview")
        session.stage("preview", config.stream, landed_in_memory(config, day, landed))
        order = key_list([PARTITION_COLUMN, *config.key_columns])
        rows = session.read(f"SELECT * FROM {qualified('preview', config.stream)} ORDER BY {order}")
        rejected = session.read(f"SELECT * FROM {qualified('preview', config.stream + REJECTED_SUFFIX)}")
    return rows, rejected


def render_rows(table: pa.Table, limit: int, width: int = 24) -> str:
    """The first `limit` rows as a plain text table (values cut at `width` characters)."""
    columns = [c for c in table.column_names if c != PARTITION_COLUMN]
    rows = table.slice(0, limit).select(columns).to_pylist()

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cell(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def report(result: Preview, limit: int) -> Sequence[str]:
    staged = result.staged if result.staged is not None else pa.table({})
    rejected = result.rejected if result.rejected is not None else pa.table({})
    lines = [
        f"{result.source}/{result.stream} {result.day}: {result.fetched} records in {result.pages} page(s); "
        f"{staged.num_rows} staged, {rejected.num_rows} put aside (preview: nothing written)",
        "",
        render_rows(staged, limit),
    ]
    if rejected.num_rows:
        lines += ["", "put aside:", render_rows(rejected, limit, width=60)]
    lines += ["", "a run would write:", *(f"  {path}" for path in result.would_write)]
    return lines
