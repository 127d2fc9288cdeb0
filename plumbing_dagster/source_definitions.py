"""Everything one source contributes to the code location, built from its stream configs: the raw
multi-asset, a staging asset and its checks per stream, the source's marts, its job, schedule and
landing sensor."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dagster as dg

from plumbing_dagster.actions import build_actions
from plumbing_dagster.asset_metadata import code_references
from plumbing_dagster.config import ConfigError, StreamConfig
from plumbing_dagster.environments import Environment
from plumbing_dagster.kit import Vendor
from plumbing_dagster.landing.producers import producer_of
from plumbing_dagster.marts.factory import build_mart, check_mart_inputs
from plumbing_dagster.partitions import daily_partitions
from plumbing_dagster.raw.assets import build_raw_assets
from plumbing_dagster.schedules import build_daily_schedule, build_source_job
from plumbing_dagster.sensors import build_landing_sensor
from plumbing_dagster.staging.assets import build_staging_asset
from plumbing_dagster.staging.checks import build_staging_checks

logger = logging.getLogger(__name__)


def require_warehouse(source: str, config: StreamConfig, environment: Environment) -> str:
    """The stream's warehouse; an error naming the stream when the environment has none such."""
    if config.warehouse not in environment.warehouses:
        raise ConfigError(
            f"dag/streams/{source}/{config.stream}.json: warehouse {config.warehouse!r} is not configured "
            f"in the {environment.name} environment (see README, 'Environments')"
        )
    return config.warehouse


def build_source_definitions(
    vendor: Vendor, streams: Mapping[str, StreamConfig], environment: Environment, dag_dir: Path
) -> tuple[dg.Definitions, set[str]]:
    """The source's definitions, and the warehouses they write to."""
    source = vendor.name
    partitions_def = daily_partitions(vendor.start_date)
    # Yesterday is due once the daily schedule has run; a day and a few hours of slack.
    freshness = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=vendor.fresh_within_hours))
    warehouse_of = {name: require_warehouse(source, config, environment) for name, config in streams.items()}
    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    extracted = [config for config in streams.values() if producer_of(config).extracts]
    if extracted:
        assets.append(build_raw_assets(vendor, extracted, partitions_def, dag_dir))
    for name, config in streams.items():
        assets.append(
            build_staging_asset(
                source,
                config,
                partitions_def,
                warehouse_of[name],
                references=code_references(dag_dir / "streams" / source / f"{name}.json", vendor),
                freshness=freshness,
            )
        )
        checks.extend(build_staging_checks(source, config, partitions_def, warehouse_of[name]))
    warehouses = set(warehouse_of.values())
    for mart in vendor.marts:
        if not check_mart_inputs(source, mart, streams, warehouse_of):
            logger.info("marts/%s/%s left out: it reads streams that are not selected", source, mart.name)
            continue
        mart_asset, mart_checks = build_mart(source, mart, streams, partitions_def)
        assets.append(mart_asset)
        checks.extend(mart_checks)
        warehouses.add(mart.warehouse)
    job = build_source_job(source, partitions_def)
    action_jobs, action_schedules = build_actions(vendor)
    definitions = dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[job, *action_jobs],
        schedules=[build_daily_schedule(vendor, job), *action_schedules],
        sensors=[build_landing_sensor(source, streams, partitions_def)],
    )
    return definitions, warehouses
