"""Daily partitions, the backfill policy every partitioned asset shares, and the days of a run."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from plumbing_dagster.kit.window import Window
from plumbing_dagster.tables import PARTITION_COLUMN

# A range of days runs as one run, not one run per day: raw assets land the days one by one
# inside the run, staging replaces the whole range in one transaction. Single-run is also what
# `dagster asset materialize --partition-range` requires.
BACKFILL_POLICY = dg.BackfillPolicy.single_run()


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    """UTC days from `start`, up to and including today (`end_offset=1`) so that a sensor can
    request today's partition; schedules ask for yesterday explicitly."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)


def run_window(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Window:
    """The partition window of a run (one day, or a range in a single-run backfill)."""
    window = context.partition_time_window
    return Window(window.start, window.end)


def run_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    return run_window(context).days()


def rows_per_day(table: pa.Table) -> dict[str, int]:
    """Row counts of a table by its `partition_date`, keyed by ISO day."""
    if table.num_rows == 0 or PARTITION_COLUMN not in table.column_names:
        return {}
    counts = pc.value_counts(table.column(PARTITION_COLUMN)).to_pylist()
    return {f"{c['values']:%Y-%m-%d}": c["counts"] for c in counts}
