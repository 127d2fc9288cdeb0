"""What a warehouse stages from: the rows landed for some days of a stream, described, not loaded.

Staging runs inside the warehouse (`WarehouseSession.stage`), so the staging asset hands over a
description: the files of each day in landing order, how to read one file as record batches in
the landed shape (the contract's fields plus `_contract_violations`), and whether the files are
already parquet in that shape, which DuckDB then reads itself. Each warehouse turns it into one
relation with three more columns: `partition_date`, and the file index and row number within the
file that order versions landed later after earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.tables import PARTITION_COLUMN

FILE_COLUMN = "_plumbing_file"  # index of the file in landing order (days ascending)
ROW_COLUMN = "_plumbing_row"  # row number within its file
# When the producer stamps each record with the moment it was extracted (Airbyte's
# `_airbyte_extracted_at`): versions with equal cursors are ordered by it before file order.
LANDED_AT_COLUMN = "_plumbing_landed_at"
# Rows per record batch read from a landed file: a few MiB of nested values, so that a streaming
# COPY holds little (larger batches measured tens of MiB more at peak, no faster).
BATCH_ROWS = 16_384


@dataclass(frozen=True)
class LandedFile:
    day: date
    url: str  # a local path, or a URL of `LandedRows.filesystem` (s3://bucket/key)


@dataclass(frozen=True)
class DayCounts:
    """What staging did with one day's landed rows."""

    landed: int
    staged: int
    rejected: int

    @property
    def duplicates(self) -> int:
        return self.landed - self.staged - self.rejected


# Reads one file as record batches of at most the given number of rows, in the landed shape; with
# column names, only those (of the ones the file has: the rest are filled in by `LandedRows`).
BatchReader = Callable[[LandedFile, int, Sequence[str] | None], Iterator[pa.RecordBatch]]


@dataclass(frozen=True)
class LandedRows:
    """The rows landed for `days` of one stream, and the contract they are staged by."""

    config: StreamConfig
    days: tuple[date, ...]
    files: tuple[LandedFile, ...]  # in landing order, days ascending
    read: BatchReader
    # The files are parquet in the landed shape, so a warehouse may read them itself.
    parquet: bool = False
    # The fsspec filesystem non-local URLs belong to (None: local paths).
    filesystem: Any = None
    # Batches carry `_plumbing_landed_at` (see LANDED_AT_COLUMN).
    landed_at: bool = False

    def schema(self) -> pa.Schema:
        """The landed columns every batch is conformed to, before the three staging columns."""
        schema = landing_schema(self.config.fields)
        if self.landed_at:
            schema = schema.append(pa.field(LANDED_AT_COLUMN, pa.timestamp("us", tz="UTC")))
        return schema

    def staging_schema(self) -> pa.Schema:
        return (
            self.schema()
            .append(pa.field(PARTITION_COLUMN, pa.date32()))
            .append(pa.field(FILE_COLUMN, pa.int32()))
            .append(pa.field(ROW_COLUMN, pa.int64()))
        )

    def batches(
        self, rows: int = BATCH_ROWS, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every landed row with `partition_date`, file index and row number, conformed to
        `staging_schema()` (older files of a smaller contract get nulls for newer fields); with
        `columns`, only those columns, and only those are read from the files."""
        for index in range(len(self.files)):
            yield from self.file_batches(index, rows, columns)

    def file_batches(
        self, index: int, rows: int = BATCH_ROWS, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The rows of the file `index`, as `batches` gives them."""
        landed = self.files[index]
        staging = self.staging_schema()
        if columns is not None:
            staging = pa.schema([staging.field(name) for name in columns])
        schema = self.schema()
        read = [f.name for f in schema if f.name in staging.names]
        landed_fields = [schema.field(name) for name in read]
        offset = 0
        for batch in self.read(landed, rows, None if columns is None else read):
            count = batch.num_rows
            if count == 0:
                continue
            given = {field.name: _column(batch, field) for field in landed_fields}
            given[PARTITION_COLUMN] = pa.repeat(pa.scalar(landed.day, pa.date32()), count)
            given[FILE_COLUMN] = pa.repeat(pa.scalar(index, pa.int32()), count)
            given[ROW_COLUMN] = pa.arange(offset, offset + count)
            offset += count
            yield pa.RecordBatch.from_arrays([given[name] for name in staging.names], schema=staging)

    def reader(self, rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.staging_schema(), self.batches(rows))


def _column(batch: pa.RecordBatch, field: pa.Field) -> pa.Array:
    index = batch.schema.get_field_index(field.name)
    if index < 0:
        return pa.nulls(batch.num_rows, field.type)
    column = batch.column(index)
    return column if column.type == field.type else pc.cast(column, field.type)


def single_batch_reader(table: pa.Table) -> BatchReader:
    """A reader for rows already in memory (the preview's one page set), as one pseudo-file."""

    def read(_: LandedFile, rows: int, columns: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
        selected = table if columns is None else table.select([c for c in columns if c in table.column_names])
        yield from selected.to_batches(max_chunksize=rows)

    return read


def landed_in_memory(config: StreamConfig, day: date, table: pa.Table) -> LandedRows:
    return LandedRows(
        config=config,
        days=(day,),
        files=(LandedFile(day, "<memory>"),),
        read=single_batch_reader(table),
    )
