"""Daily partitions and the backfill policy every partitioned asset shares."""

from __future__ import annotations

from datetime import date

import dagster as dg

# A range of days runs as one run, not one run per day: raw assets land the days one by one
# inside the run, staging replaces the whole range in one transaction. Single-run is also what
# `dagster asset materialize --partition-range` requires.
BACKFILL_POLICY = dg.BackfillPolicy.single_run()


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    """UTC days from `start`, up to and including today (`end_offset=1`) so that a sensor can
    request today's partition; schedules ask for yesterday explicitly."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)
