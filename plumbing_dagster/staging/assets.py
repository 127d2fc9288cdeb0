"""Staging assets `staging/<source>/<stream>`, one per selected stream, all from one factory."""

import dagster as dg
from dagster import AssetExecutionContext

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.io_managers.staged import (
    META_CURRENT_VIEW,
    META_CURSOR,
    META_PRIMARY_KEY,
    PARTITION_COLUMN,
    StagedTable,
)
from plumbing_dagster.partitions import BACKFILL_POLICY
from plumbing_dagster.raw.assets import raw_key
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster.sources.vendor import Window
from plumbing_dagster.staging.contract import apply_contract
from plumbing_dagster.staging.landed import landed_fingerprints, read_landed_days

DUCKDB_WRITER_POOL = "duckdb_writer"  # DuckDB allows one writing process at a time
# Materialization metadata: {day: fingerprint of the landed file set that was staged}.
LANDING_FINGERPRINTS = "plumbing/landing_fingerprints"


def staging_key(source: str, stream: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", source, stream])


def io_manager_key(warehouse: str) -> str:
    return f"{warehouse}_io_manager"


def current_view_mode(config: StreamConfig) -> str:
    # Snapshots: the newest day is the current state. Incremental streams: newest version per key.
    return "latest_partition" if config.sync_mode == "full_refresh" else "latest_per_key"


def build_staging_asset(
    source: str, config: StreamConfig, partitions_def: dg.PartitionsDefinition, warehouse: str
) -> dg.AssetsDefinition:
    """The staging asset of one stream, written by the IO manager of `warehouse`."""

    @dg.asset(
        key=staging_key(source, config.stream),
        # Files of other tools (Airbyte) have no raw asset here; the landing sensor starts them.
        deps=[raw_key(source, config.stream)] if config.producer == "dlt" else [],
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        io_manager_key=io_manager_key(warehouse),
        group_name=source,
        kinds={warehouse, "pyarrow"},
        owners=["team:data-engineering"],
        pool=DUCKDB_WRITER_POOL if warehouse == "duckdb" else None,
        description=(
            f"{source} `{config.stream}` typed by its contract, one row per "
            f"{', '.join(config.key_columns)} per day; broken records in `{config.stream}__rejected`."
        ),
        metadata={
            "partition_expr": PARTITION_COLUMN,
            META_PRIMARY_KEY: config.key_columns,
            META_CURSOR: config.cursor,
            META_CURRENT_VIEW: current_view_mode(config),
            "plumbing/warehouse": warehouse,
        },
    )
    def _staging(context: AssetExecutionContext, landing: LandingZoneResource) -> StagedTable:
        window = context.partition_time_window
        days = Window(window.start, window.end).days()
        zone = landing.zone()
        # Fingerprints first: files landing while we read are then picked up again by the sensor.
        fingerprints = landed_fingerprints(zone, source, config, days)
        landed = read_landed_days(zone, source, config, days)
        staged = apply_contract(
            landed,
            config,
            metadata={
                "plumbing/days": len(days),
                LANDING_FINGERPRINTS: dg.MetadataValue.json(fingerprints),
            },
        )
        context.log.info(
            f"{source}/{config.stream}: {landed.num_rows} landed rows over {len(days)} day(s) -> "
            f"{staged.rows.num_rows} staged, {staged.rejected.num_rows} put aside"
        )
        return staged

    return _staging
