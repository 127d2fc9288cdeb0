"""One dlt source per vendor, one dlt resource per selected stream, all built the same way.

Resources yield Arrow tables shaped by the stream contract (`contract/arrow.py`). Each stream's
sync mode decides what is fetched for the partition window (`kit/extract.py`), so a run is
stateless: no dlt incremental state is read or written, and re-running a day asks the API for
exactly that day again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltSource

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.arrow import records_to_table
from plumbing_dagster.kit import Endpoint, Vendor, Window
from plumbing_dagster.kit.extract import fetch_stream

# Pages are gathered into batches of this many rows before dlt writes them: dlt's per-item cost
# (schema checks, buffer bookkeeping) then falls on a few large tables instead of every page.
BATCH_ROWS = 50_000


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


def build_dlt_source(
    vendor: Vendor,
    streams: Sequence[StreamConfig],
    *,
    client: Any = None,
    window: Window | None = None,
) -> DltSource:
    """The vendor's dlt source for `streams`. Without a client it only serves to build asset specs."""
    unknown = [s.stream for s in streams if s.stream not in vendor.endpoints]
    if unknown:
        raise ValueError(f"{vendor.name}: no endpoint for stream(s) {', '.join(unknown)}")

    def resources() -> Iterator[Any]:
        for config in streams:
            endpoint = vendor.endpoints[config.stream]
            yield dlt.resource(
                _stream_batches(endpoint, client, config, window),
                name=config.stream,
                write_disposition="append",  # days are replaced by the landing zone, not by dlt
                max_table_nesting=0,
            )

    source = dlt.source(resources, name=vendor.name, max_table_nesting=0)
    return source()
