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
import dlt
import pendulum
import pyarrow as pa
from pydantic import Field

from plumbing_dagster.io_managers.duckdb import connect_duckdb
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.sources.emulator import EmulatorServer
from plumbing_dagster.sources.vendor import Connection, Vendor, VendorClient

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


class VendorConnectionConfig(dg.Config):
    """How to reach one vendor in production; which fields matter depends on the vendor."""

    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None


class VendorApisResource(dg.ConfigurableResource):
    """Opens clients for vendor APIs.

    A vendor without a configured connection is served by its emulator on loopback when
    `sandbox` is true (the sandbox environment); otherwise that is a configuration error.
    """

    sandbox: bool = True
    connections: dict[str, VendorConnectionConfig] = Field(default_factory=dict)

    @contextmanager
    def open(self, vendor: Vendor) -> Iterator[VendorClient]:
        configured = self.connections.get(vendor.name)
        if configured is not None:
            client = vendor.connect(Connection(**configured.model_dump()))
            try:
                yield client
            finally:
                client.close()
            return
        if not self.sandbox:
            raise dg.DagsterInvariantViolationError(
                f"no connection configured for vendor {vendor.name!r}; see README 'Configuration for prod'"
            )
        with EmulatorServer(vendor.make_emulator()) as server:
            logger.info("sandbox: %s served by its emulator at %s", vendor.name, server.url)
            client = vendor.connect(vendor.sandbox_connection(server.url))
            try:
                yield client
            finally:
                client.close()


class WarehouseResource(dg.ConfigurableResource):
    """Read access to the warehouses for asset checks and marts (writes go through IO managers)."""

    duckdb_path: str
    postgres_url: str | None = None

    def query(self, warehouse: str, statement: str) -> pa.Table:
        if warehouse == "duckdb":
            with connect_duckdb(self.duckdb_path) as conn:
                return conn.sql(statement).to_arrow_table()
        if warehouse == "postgres":
            if not self.postgres_url:
                raise dg.DagsterInvariantViolationError("no Postgres URL configured (PLUMBING_POSTGRES_URL)")
            from plumbing_dagster.io_managers.postgres import query_arrow

            return query_arrow(self.postgres_url, statement)
        raise ValueError(f"unknown warehouse {warehouse!r}")

    def scalar(self, warehouse: str, statement: str) -> Any:
        table = self.query(warehouse, statement)
        return table.column(0)[0].as_py() if table.num_rows else None

    def rows(self, warehouse: str, statement: str) -> list[Mapping[str, Any]]:
        return self.query(warehouse, statement).to_pylist()
