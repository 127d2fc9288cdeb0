"""Building the code location: every source's definitions, built from `dag/` and the environment,
merged with the resources they share. Nothing here knows a vendor, a warehouse or a producer by
name. `definitions.py` builds it once as the `defs` Dagster loads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.environments import Environment, load_environment
from plumbing_dagster.io_managers import io_manager_key
from plumbing_dagster.kit import Vendor
from plumbing_dagster.quiet import on_purpose
from plumbing_dagster.runs.executor import watched
from plumbing_dagster.source_definitions import build_source_definitions
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.warehouses import WAREHOUSES


def _resources(environment: Environment, warehouses: set[str]) -> dict[str, object]:
    return {
        "landing": environment.landing,
        "vendor_apis": environment.vendor_apis,
        "warehouse_reader": environment.warehouse_reader(),
        **{
            io_manager_key(name): WAREHOUSES[name].io_manager(environment.warehouses[name])
            for name in sorted(warehouses)
        },
    }


def build_definitions(
    environment: Environment | None = None,
    dag_dir: Path | None = None,
    vendors: Mapping[str, Vendor] = VENDORS,
) -> dg.Definitions:
    """Definitions for every selected stream in `dag_dir` (default: `PLUMBING_DAG_DIR`, else the
    repository's `dag/`)."""
    environment = environment or load_environment(vendors)
    dag_dir = dag_dir or Path(os.environ.get("PLUMBING_DAG_DIR", DEFAULT_DAG_DIR))
    configs = load_stream_configs(dag_dir, vendors)
    per_source: list[dg.Definitions] = []
    warehouses: set[str] = set()
    for source, streams in sorted(configs.items()):
        with on_purpose():
            definitions, used = build_source_definitions(vendors[source], streams, environment, dag_dir)
        per_source.append(definitions)
        warehouses |= used
    # Dagster's executors, watched: runs say where they run and who blocks them (runs/).
    executor = dg.in_process_executor if environment.in_process else dg.multi_or_in_process_executor
    shared = dg.Definitions(
        executor=watched(executor),
        resources=_resources(environment, warehouses),
    )
    return dg.Definitions.merge(*per_source, shared)
