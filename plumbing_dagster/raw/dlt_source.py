"""One dlt source per vendor, one dlt resource per selected stream, all built the same way.

Resources yield Arrow tables shaped by the stream contract (`contract/arrow.py`). Each stream's
sync mode decides what is fetched for the partition window (`kit/extract.py`), so a run is
stateless: no dlt incremental state is read or written, and re-running a day asks the API for
exactly that day again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltSource

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.arrow import records_to_table
from plumbing_dagster.kit import Endpoint, Record, Vendor, Window
from plumbing_dagster.kit.extract import fetch_family, fetch_stream

# Pages are gathered into batches of this many rows before dlt writes them: dlt's per-item cost
# (schema checks, buffer bookkeeping) then falls on a few large tables instead of every page.
BATCH_ROWS = 50_000
# A family's raw records are handed to its streams in batches of this many.
RAW_BATCH_RECORDS = 5_000


def _stream_batches(
    endpoint: Endpoint, client: Any, config: StreamConfig, window: Window | None
) -> Iterator[pa.Table]:
    if client is None or window is None:
        raise RuntimeError(f"stream {config.stream!r} was built without a client (specs only)")
    pending: list[pa.Table] = []
    pending_rows = 0
    for page in fetch_stream(endpoint, client, config, window):
        if not page:
            continue
        pending.append(records_to_table(page, config.fields))
        pending_rows += len(page)
        if pending_rows >= BATCH_ROWS:
            yield pa.concat_tables(pending)
            pending, pending_rows = [], 0
    if pending:
        yield pa.concat_tables(pending)


def _family_pages(
    endpoint: Endpoint, client: Any, config: StreamConfig, window: Window | None, streams: tuple[str, ...]
) -> Iterator[list[Record]]:
    """The family's raw records, in batches, read once for all its selected streams."""
    if client is None or window is None:
        raise RuntimeError(f"family {endpoint.family!r} was built without a client (specs only)")
    pending: list[Record] = []
    for page in fetch_family(endpoint, client, config, window, streams):
        pending.extend(page)
        if len(pending) >= RAW_BATCH_RECORDS:
            yield pending
            pending = []
    if pending:
        yield pending


def _generator_function(generate: Callable[..., Iterator[Any]], *args: Any) -> Callable[[], Iterator[Any]]:
    """`generate(*args)` as a generator function for `dlt.resource`. Handed a generator object,
    dlt looks up its frame's module with `inspect.getmodule`, whose first call in a process walks
    every loaded module's path (~2,600 of them: ~0.1 s of a raw step's CPU, measured)."""

    def data() -> Iterator[Any]:
        yield from generate(*args)

    return data


def _derived(endpoint: Endpoint, config: StreamConfig) -> Any:
    """A transformer: one batch of the family's raw records -> this stream's contract-shaped table."""
    derive = endpoint.derive
    assert derive is not None

    def transform(batch: list[Record]) -> Iterator[pa.Table]:
        rows = [row for record in batch for row in derive(record)]
        if rows:
            yield records_to_table(rows, config.fields)

    return transform


def build_dlt_source(
    vendor: Vendor,
    streams: Sequence[StreamConfig],
    *,
    client: Any = None,
    window: Window | None = None,
) -> DltSource:
    """The vendor's dlt source for `streams`. Without a client it only serves to build asset specs.

    Streams of one family (see `kit.streams.family_endpoints`) are transformers of one hidden,
    unselected resource that reads the family's raw pages once."""
    endpoints = {config.stream: vendor.endpoint(config.stream) for config in streams}
    unknown = [name for name, endpoint in endpoints.items() if endpoint is None]
    if unknown:
        raise ValueError(f"{vendor.name}: no endpoint for stream(s) {', '.join(unknown)}")
    families: dict[str, list[StreamConfig]] = {}
    for config in streams:
        family = endpoints[config.stream].family
        if family is not None:
            families.setdefault(family, []).append(config)

    def resources() -> Iterator[Any]:
        raw_pages: dict[str, Any] = {}
        for family, members in families.items():
            first = members[0]
            names = tuple(c.stream for c in members)
            raw_pages[family] = dlt.resource(
                _generator_function(_family_pages, endpoints[first.stream], client, first, window, names),
                name=f"{family}_raw_pages",
                selected=False,  # read for its members, never landed itself
            )
        for config in streams:
            endpoint = endpoints[config.stream]
            if endpoint.family is not None:
                yield dlt.transformer(
                    _derived(endpoint, config),
                    data_from=raw_pages[endpoint.family],
                    name=config.stream,
                    write_disposition="append",
                    max_table_nesting=0,
                )
                continue
            yield dlt.resource(
                _generator_function(_stream_batches, endpoint, client, config, window),
                name=config.stream,
                write_disposition="append",  # days are replaced by the landing zone, not by dlt
                max_table_nesting=0,
            )

    source = dlt.source(resources, name=vendor.name, max_table_nesting=0)
    return source()
