"""The code location: every asset, check, job and schedule, built from `dag/` and the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster_dlt import DagsterDltResource

from plumbing_dagster.config import DEFAULT_DAG_DIR, ConfigError, StreamConfig, load_stream_configs
from plumbing_dagster.environments import Environment, load_environment
from plumbing_dagster.io_managers.duckdb import WarehouseDuckDBIOManager
from plumbing_dagster.marts.shop import REQUIRED_STREAMS, build_shop_marts
from plumbing_dagster.partitions import daily_partitions
from plumbing_dagster.raw.assets import build_raw_assets
from plumbing_dagster.resources import WarehouseResource
from plumbing_dagster.schedules import build_daily_schedule, build_source_job
from plumbing_dagster.sensors import build_landing_sensor
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.sources.vendor import Vendor
from plumbing_dagster.staging.assets import build_staging_asset, io_manager_key
from plumbing_dagster.staging.checks import build_staging_checks

logger = logging.getLogger(__name__)


def choose_warehouse(config: StreamConfig, environment: Environment) -> str:
    if config.warehouse == "postgres" and not environment.has_postgres:
        if environment.name == "prod":
            raise ConfigError(
                f"stream {config.stream!r} goes to Postgres but PLUMBING_POSTGRES_URL is not set"
            )
        logger.warning(
            "sandbox: no PLUMBING_POSTGRES_URL; stream %r falls back from Postgres to DuckDB", config.stream
        )
        return "duckdb"
    return config.warehouse


def _resources(environment: Environment, warehouses: set[str]) -> dict[str, object]:
    resources: dict[str, object] = {
        "dlt_resource": DagsterDltResource(),
        "landing": environment.landing,
        "vendor_apis": environment.vendor_apis,
        "warehouse_reader": WarehouseResource(
            duckdb_path=environment.duckdb_path, postgres_url=environment.postgres_url
        ),
        io_manager_key("duckdb"): WarehouseDuckDBIOManager(database=environment.duckdb_path),
    }
    if "postgres" in warehouses:
        from plumbing_dagster.io_managers.postgres import WarehousePostgresIOManager

        resources[io_manager_key("postgres")] = WarehousePostgresIOManager(url=environment.postgres_url)
    return resources


def build_definitions(
    environment: Environment | None = None,
    dag_dir: Path | None = None,
    vendors: Mapping[str, Vendor] = VENDORS,
) -> dg.Definitions:
    """Definitions for every selected stream in `dag_dir` (default: the repository's `dag/`)."""
    environment = environment or load_environment(vendors)
    dag_dir = dag_dir or Path(os.environ.get("PLUMBING_DAG_DIR", DEFAULT_DAG_DIR))
    configs = load_stream_configs(dag_dir)

    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    jobs, schedules = [], []
    sensors: list[dg.SensorDefinition] = []
    warehouses: set[str] = {"duckdb"}
    for source, streams in sorted(configs.items()):
        vendor = vendors.get(source)
        if vendor is None:
            raise ConfigError(
                f"{dag_dir / 'streams' / source}: no source package named {source!r} "
                f"(known: {', '.join(sorted(vendors))})"
            )
        partitions_def = daily_partitions(vendor.start_date)
        if any(s.producer == "dlt" for s in streams.values()):
            assets.append(build_raw_assets(vendor, list(streams.values()), partitions_def))
        for config in streams.values():
            warehouse = choose_warehouse(config, environment)
            warehouses.add(warehouse)
            assets.append(build_staging_asset(source, config, partitions_def, warehouse))
            checks.extend(build_staging_checks(source, config, partitions_def, warehouse))
        if source == "shop" and all(s in streams for s in REQUIRED_STREAMS):
            mart_assets, mart_checks = build_shop_marts(partitions_def)
            assets.extend(mart_assets)
            checks.extend(mart_checks)
        job = build_source_job(source, partitions_def)
        jobs.append(job)
        schedules.append(build_daily_schedule(source, job))
        sensors.append(build_landing_sensor(source, streams, partitions_def))

    return dg.Definitions(
        # The sandbox runs a job's steps in one process (seconds instead of one interpreter start
        # per step on a small machine); prod keeps Dagster's default multiprocess executor.
        executor=dg.in_process_executor if environment.name == "sandbox" else None,
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=_resources(environment, warehouses),
    )


defs = build_definitions()
