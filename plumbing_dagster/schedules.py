"""One partitioned job and one daily schedule per source."""

from datetime import timedelta

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def build_source_job(source: str, partitions_def: dg.PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{source}_daily",
        selection=dg.AssetSelection.groups(source),
        partitions_def=partitions_def,
        description=f"Land, stage and check one day of every {source} stream.",
    )


def build_daily_schedule(source: str, job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Runs yesterday's partition at 01:00 UTC, once the day is complete at the vendor."""

    @dg.schedule(
        name=f"{source}_daily_schedule",
        cron_schedule="0 1 * * *",
        execution_timezone="UTC",
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=f"{source}-{day}", partition_key=day)

    return _schedule
