"""Test helpers: emulators under test control, warehouse reads, landed-file listings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg

from plumbing_dagster.environments import Environment
from plumbing_dagster.kit import Vendor
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.resources import VendorApisResource


@contextmanager
def served(vendor: Vendor, app=None) -> Iterator[tuple[EmulatorServer, VendorApisResource]]:
    """The vendor's emulator on loopback, and a `vendor_apis` resource pointing at it (as in prod)."""
    with EmulatorServer(app or vendor.emulator()) as server:
        settings = vendor.sandbox_connection(server.url)
        values = {k: v for k, v in settings.values().items() if v is not None}
        yield server, VendorApisResource(sandbox=False, connections={vendor.name: values})


def day_window(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def warehouse_rows(environment: Environment, sql: str) -> list[tuple]:
    """Rows from the sandbox's DuckDB file."""
    with duckdb.connect(environment.duckdb_path, read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql).fetchall()


def postgres_rows(sql: str) -> list[tuple]:
    """Rows from the sandbox's Postgres (the `sandbox` fixture's database, via PLUMBING_POSTGRES_URL)."""
    with psycopg.connect(os.environ["PLUMBING_POSTGRES_URL"]) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql).fetchall()


def landing_root(environment: Environment) -> Path:
    return Path(environment.landing.url)


def day_files(environment: Environment, source: str, stream: str, day: date) -> list[str]:
    folder = (
        landing_root(environment) / source / stream / f"year={day:%Y}" / f"month={day:%m}" / f"day={day:%d}"
    )
    return sorted(p.name for p in folder.glob("*.parquet"))
