"""Dagster resources: the landing zone, the vendor APIs and read access to the warehouses.

Settings arrive as resource config (values or `dg.EnvVar`), chosen once in `environments.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field

from plumbing_dagster.kit import ConnectionSettings, Vendor, VendorClient
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.warehouses import WAREHOUSES, Warehouse

logger = logging.getLogger(__name__)


class LandingZoneResource(dg.ConfigurableResource):
    """Where raw files land: a local folder or any fsspec URL (`s3://bucket/prefix`, ...)."""

    url: str = Field(description="Landing root: a local path or an fsspec URL such as s3://landing/raw")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, SeaweedFS)")
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def _is_s3(self) -> bool:
        return self.url.startswith(("s3://", "s3a://"))

    def storage_options(self) -> dict[str, Any]:
        if not self._is_s3():
            return {}
        options: dict[str, Any] = {"client_kwargs": {}}
        if self.access_key_id:
            options["key"] = self.access_key_id
            options["secret"] = self.secret_access_key
        if self.endpoint_url:
            options["client_kwargs"]["endpoint_url"] = self.endpoint_url
        if self.region:
            options["client_kwargs"]["region_name"] = self.region
        return options

    def zone(self) -> LandingZone:
        return LandingZone(self.url, self.storage_options())

    def dlt_destination(self, day: date) -> Any:
        """A dlt filesystem destination writing into the landing layout, dated by `day`."""
        import dlt  # only where a raw step lands
        import pendulum

        credentials: dict[str, Any] | None = None
        if self._is_s3():
            credentials = {
                "aws_access_key_id": self.access_key_id,
                "aws_secret_access_key": self.secret_access_key,
                "endpoint_url": self.endpoint_url,
                "region_name": self.region,
            }
            credentials = {k: v for k, v in credentials.items() if v}
        bucket_url = self.url if "://" in self.url else LandingZone(self.url).root
        return dlt.destinations.filesystem(
            bucket_url=bucket_url,
            credentials=credentials,
            layout="{table_name}/year={YYYY}/month={MM}/day={DD}/{load_id}.{file_id}.{ext}",
            # Folders carry the partition's day, not the run's (dlt dates them by load time).
            current_datetime=pendulum.datetime(day.year, day.month, day.day, tz="UTC"),
        )


class VendorApisResource(dg.ConfigurableResource):
    """Opens clients for vendor APIs.

    `connections` holds each vendor's connection settings by field name (values or `dg.EnvVar`;
    the fields are the vendor's own, see `sources/<vendor>/connection.py`). A vendor without a
    configured connection is served by its emulator on loopback when `sandbox` is true (the sandbox
    environment); otherwise that is a configuration error.
    """

    sandbox: bool = True
    connections: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Where sandbox emulators that keep state between processes keep it (comdirect's session).
    state_dir: str | None = None

    @contextmanager
    def connection(self, vendor: Vendor) -> Iterator[ConnectionSettings]:
        """The vendor's settings: configured ones, or — in the sandbox — those of its emulator,
        served on loopback while the context lasts."""
        configured = self.connections.get(vendor.name)
        if configured is not None:
            yield vendor.connection.from_values(configured)
            return
        if not self.sandbox:
            raise dg.DagsterInvariantViolationError(
                f"no connection configured for vendor {vendor.name!r}; see README, 'Environments'"
            )
        with EmulatorServer(vendor.sandbox_emulator(self.state_dir)) as server:
            logger.info("sandbox: %s served by its emulator at %s", vendor.name, server.url)
            yield vendor.sandbox_settings(server.url, self.state_dir)

    @contextmanager
    def open(self, vendor: Vendor) -> Iterator[VendorClient]:
        with self.connection(vendor) as settings, _closing(vendor.connect(settings)) as client:
            yield client


@contextmanager
def _closing(client: VendorClient) -> Iterator[VendorClient]:
    try:
        yield client
    finally:
        client.close()


class WarehouseResource(dg.ConfigurableResource):
    """Read access to the warehouses for asset checks and marts (writes go through IO managers).

    `settings` holds each warehouse's one setting by name: the DuckDB file, the Postgres URL."""

    settings: dict[str, str]

    def get(self, name: str) -> Warehouse:
        if name not in self.settings:
            raise dg.DagsterInvariantViolationError(
                f"warehouse {name!r} is not configured in this environment (configured: "
                f"{', '.join(sorted(self.settings)) or 'none'})"
            )
        return WAREHOUSES[name](self.settings[name])

    def query(self, warehouse: str, statement: str) -> pa.Table:
        return self.get(warehouse).query(statement)

    def rows(self, warehouse: str, statement: str) -> list[Mapping[str, Any]]:
        return self.query(warehouse, statement).to_pylist()
