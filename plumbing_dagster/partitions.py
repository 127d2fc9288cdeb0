"""Daily partitions and the backfill policy every partitioned asset shares."""

from __future__ import annotations

from datetime import date

import dagster as dg

# A range of days runs in chunks of up to a month per run, not one run per day.
MAX_DAYS_PER_RUN = 31
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    """UTC days from `start`, up to and including today (`end_offset=1`) so that a sensor can
    request today's partition; schedules ask for yesterday explicitly."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)
