"""Who lands a stream's files, and what that means for reading and sensing them.

A stream config's `producer` names one of `PRODUCERS`:
- `dlt`: our raw assets extract the stream from its vendor API; a day is what its current
  manifest lists; the files are parquet in the landed shape, which a warehouse may read itself;
  sensors follow the manifest log.
- `airbyte`: Airbyte's S3 destination lands the files (no raw asset here); a day is every file of
  that sync date; Airbyte's columns are mapped onto the contract batch by batch, each record
  keeping its `_airbyte_extracted_at` to order versions; sensors list the stream folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import date
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.landing.airbyte import airbyte_extracted_at, airbyte_files_for_day, airbyte_to_landed
from plumbing_dagster.landing.feeds import AirbyteFeed, Feed, ManifestLogFeed
from plumbing_dagster.landing.zone import LandingZone
from plumbing_dagster.warehouses.landed import LANDED_AT_COLUMN


class Producer(ABC):
    name: ClassVar[str]
    # Whether this code location extracts the stream itself (a raw asset, an endpoint).
    extracts: ClassVar[bool]
    # Whether its files are parquet in the landed shape (contract fields + violations), which a
    # warehouse may then read itself.
    lands_contract_shape: ClassVar[bool]
    # Whether its batches carry the moment each record was extracted (`iter_batches`).
    stamps_extraction: ClassVar[bool] = False

    @abstractmethod
    def files_for_day(self, zone: LandingZone, source: str, stream: str, day: date) -> list[str]:
        """The files that make up the day now, relative to the landing root, in landing order."""

    @abstractmethod
    def read(
        self, zone: LandingZone, relative: str, config: StreamConfig, columns: list[str] | None
    ) -> pa.Table:
        """One file, shaped like our own landed files (contract fields + `_contract_violations`)."""

    @abstractmethod
    def iter_batches(
        self,
        zone: LandingZone,
        url: str,
        config: StreamConfig,
        rows: int,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """One file (a path or URL of the zone's filesystem) as record batches of at most `rows`
        rows, shaped like our own landed files; with `stamps_extraction`, plus the extraction
        moment as `_plumbing_landed_at`. With `columns`, at most those columns (a file of an
        older contract may lack some)."""

    @abstractmethod
    def feeds(self, source: str, streams: Sequence[str]) -> list[Feed]:
        """What a landing sensor lists to notice new files of these streams."""


def _parquet_batches(
    zone: LandingZone, url: str, rows: int, columns: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Row group by row group: pyarrow pre-buffers what one call reads, and for a whole file
    that is the whole file (coalesced reads, good for S3); per row group it stays small. With
    `columns`, only the column chunks of those the file has are read."""
    with zone.fs.open(url, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        present = None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
        for group in range(parquet.num_row_groups):
            yield from parquet.iter_batches(batch_size=rows, row_groups=[group], columns=present)


class DltProducer(Producer):
    name = "dlt"
    extracts = True
    lands_contract_shape = True

    def files_for_day(self, zone: LandingZone, source: str, stream: str, day: date) -> list[str]:
        return zone.current_files(source, stream, day)

    def read(
        self, zone: LandingZone, relative: str, config: StreamConfig, columns: list[str] | None
    ) -> pa.Table:
        return pq.read_table(zone.path(relative), filesystem=zone.fs, columns=columns)

    def iter_batches(
        self,
        zone: LandingZone,
        url: str,
        config: StreamConfig,
        rows: int,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        return _parquet_batches(zone, url, rows, columns)

    def feeds(self, source: str, streams: Sequence[str]) -> list[Feed]:
        return [ManifestLogFeed(source, frozenset(streams))]


class AirbyteProducer(Producer):
    name = "airbyte"
    extracts = False
    lands_contract_shape = False
    stamps_extraction = True

    def files_for_day(self, zone: LandingZone, source: str, stream: str, day: date) -> list[str]:
        return airbyte_files_for_day(zone, source, stream, day)

    def read(
        self, zone: LandingZone, relative: str, config: StreamConfig, columns: list[str] | None
    ) -> pa.Table:
        # Airbyte's own column names and types: map the whole file, then project.
        table = airbyte_to_landed(pq.read_table(zone.path(relative), filesystem=zone.fs), config)
        return table.select(columns) if columns is not None else table

    def iter_batches(
        self,
        zone: LandingZone,
        url: str,
        config: StreamConfig,
        rows: int,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        # Airbyte's own column names and types: each batch is mapped whole, then projected.
        for batch in _parquet_batches(zone, url, rows):
            airbyte = pa.Table.from_batches([batch])
            landed = airbyte_to_landed(airbyte, config)
            landed = landed.append_column(LANDED_AT_COLUMN, airbyte_extracted_at(airbyte))
            if columns is not None:
                landed = landed.select([c for c in columns if c in landed.column_names])
            yield from landed.to_batches()

    def feeds(self, source: str, streams: Sequence[str]) -> list[Feed]:
        return [AirbyteFeed(source, stream) for stream in sorted(streams)]


PRODUCERS: dict[str, Producer] = {p.name: p for p in (DltProducer(), AirbyteProducer())}


def producer_of(config: StreamConfig) -> Producer:
    return PRODUCERS[config.producer]
