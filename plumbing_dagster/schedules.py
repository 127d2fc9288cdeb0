"""One partitioned job and one daily schedule per source."""

from datetime import timedelta

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from plumbing_dagster.kit import Vendor


def build_source_job(source: str, partitions_def: dg.PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{source}_daily",
        selection=dg.AssetSelection.groups(source),
        partitions_def=partitions_def,
        description=f"Land, stage and check one day of every {source} stream.",
    )


def build_daily_schedule(vendor: Vendor, job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Runs yesterday's partition once the day has settled at the vendor (`Vendor.schedule_at`, UTC)."""
    at = vendor.schedule_at

    @dg.schedule(
        name=f"{vendor.name}_daily_schedule",
        cron_schedule=f"{at.minute} {at.hour} * * *",
        execution_timezone="UTC",
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=f"{vendor.name}-{day}", partition_key=day)

    return _schedule
