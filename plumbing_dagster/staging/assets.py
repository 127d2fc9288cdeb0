"""Staging assets `staging/<source>/<stream>`, one per selected stream, all from one factory."""

from collections.abc import Mapping
from datetime import date

import dagster as dg
from dagster import AssetExecutionContext

from plumbing_dagster.asset_metadata import column_schema, stream_code_version
from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.contract.types import landing_type
from plumbing_dagster.io_managers import io_manager_key
from plumbing_dagster.io_managers.staged import META_CURRENT_VIEW, META_CURSOR, META_PRIMARY_KEY, LandedDays
from plumbing_dagster.keys import raw_key, staging_key
from plumbing_dagster.landing.key_snapshots import read_key_snapshots
from plumbing_dagster.landing.producers import producer_of
from plumbing_dagster.partitions import BACKFILL_POLICY, run_days
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster.staging.landed import day_fingerprint, landed_files, landed_rows
from plumbing_dagster.tables import PARTITION_COLUMN
from plumbing_dagster.warehouses import WAREHOUSES
from plumbing_dagster.warehouses.landed import DayCounts

# Materialization metadata: {day: fingerprint of the landed file set that was staged}.
LANDING_FINGERPRINTS = "plumbing/landing_fingerprints"


def report_days(
    context: AssetExecutionContext,
    days: list[date],
    counts: Mapping[date, DayCounts],
    fingerprints: dict[str, str],
) -> None:
    """Each day's own figures on that day's materialization: a range run records one
    materialization per day, and without this each would carry the whole range's figures."""
    for day in days:
        key = f"{day:%Y-%m-%d}"
        figures = counts.get(day, DayCounts(landed=0, staged=0, rejected=0))
        context.add_asset_metadata(
            {
                "dagster/row_count": figures.staged,
                "plumbing/rejected_count": figures.rejected,
                "plumbing/landed_rows": figures.landed,
                "plumbing/duplicates_dropped": figures.duplicates,
                "plumbing/days": 1,
                LANDING_FINGERPRINTS: dg.MetadataValue.json({key: fingerprints[key]}),
            },
            partition_key=key,
        )


def current_view_mode(config: StreamConfig) -> str:
    # Snapshots: the newest day is the current state. Incremental streams: newest version per key.
    return "latest_partition" if config.sync_mode == "full_refresh" else "latest_per_key"


def _description(source: str, config: StreamConfig) -> str:
    grain = (
        f"one row per {', '.join(config.key_columns)} per day"
        if config.destination_sync_mode == "merge"
        else "every landed row"
    )
    return (
        f"{source} `{config.stream}` typed by its contract, {grain}; `{config.stream}__current` holds the "
        f"current version of each key, `{config.stream}__rejected` the records put aside."
    )


def staged_column_schema(config: StreamConfig, warehouse: str) -> dg.TableSchema:
    """The staged table's columns as the contract types them in `warehouse`, with descriptions."""
    kind = WAREHOUSES[warehouse]
    names = {name: kind.type_name(spec) or str(landing_type(spec)) for name, spec in config.fields.items()}
    return column_schema(config.fields, names)


def build_staging_asset(
    source: str,
    config: StreamConfig,
    partitions_def: dg.PartitionsDefinition,
    warehouse: str,
    *,
    references: dg.CodeReferencesMetadataValue | None = None,
    freshness: dg.FreshnessPolicy | None = None,
) -> dg.AssetsDefinition:
    """The staging asset of one stream, written by the IO manager of `warehouse`."""
    producer = producer_of(config)

    @dg.asset(
        key=staging_key(source, config.stream),
        # Files of other tools (Airbyte) have no raw asset here; the landing sensor starts them.
        deps=[raw_key(source, config.stream)] if producer.extracts else [],
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        io_manager_key=io_manager_key(warehouse),
        group_name=source,
        kinds={warehouse, "sql"},
        owners=["team:data-engineering"],
        pool=WAREHOUSES[warehouse].write_pool,
        description=_description(source, config),
        code_version=stream_code_version(source, config),
        freshness_policy=freshness,
        metadata={
            "dagster/column_schema": staged_column_schema(config, warehouse),
            **({"dagster/code_references": references} if references else {}),
            "partition_expr": PARTITION_COLUMN,
            META_PRIMARY_KEY: config.key_columns,
            META_CURSOR: config.cursor,
            META_CURRENT_VIEW: current_view_mode(config),
            "plumbing/warehouse": warehouse,
            "plumbing/producer": producer.name,
            "plumbing/destination_sync_mode": config.destination_sync_mode,
        },
    )
    def _staging(context: AssetExecutionContext, landing: LandingZoneResource) -> LandedDays:
        days = run_days(context)
        zone = landing.zone()
        # One listing for both: files landing while staging runs are picked up by the sensor.
        files = {day: landed_files(zone, source, config, day) for day in days}
        fingerprints = {f"{day:%Y-%m-%d}": day_fingerprint(names) for day, names in files.items()}
        keys = {name: config.fields[name] for name in config.key_columns}
        return LandedDays(
            landed=landed_rows(zone, config, files),
            metadata={"plumbing/days": len(days)},
            keys=read_key_snapshots(zone, source, config.stream, days, keys),
            on_staged=lambda counts: report_days(context, days, counts, fingerprints),
        )

    return _staging
