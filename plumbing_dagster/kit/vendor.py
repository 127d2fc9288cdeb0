"""What a vendor package provides: its streams, its connection settings, its client and emulator,
its marts. `VENDOR = Vendor(...)` in the package's `__init__.py`; nothing here imports Dagster."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from plumbing_dagster.kit.connection import ConnectionSettings
from plumbing_dagster.kit.emulator.app import EmulatorApp
from plumbing_dagster.kit.marts import Mart
from plumbing_dagster.kit.streams import Endpoint, VendorClient


@dataclass(frozen=True)
class Vendor:
    """Everything the Dagster side needs to know about one vendor."""

    name: str
    start_date: date
    endpoints: Mapping[str, Endpoint]
    connection: type[ConnectionSettings]
    connect: Callable[[Any], VendorClient]
    emulator: Callable[[], EmulatorApp]
    # Settings that reach the emulator served at the given URL (sandbox and tests only).
    sandbox_connection: Callable[[str], ConnectionSettings]
    marts: Sequence[Mart] = ()
    description: str = ""
    # When the daily schedule runs yesterday's partition (UTC): late enough for the vendor's day
    # to have settled.
    schedule_at: time = time(1, 0)
    # The endpoint of a stream the vendor does not list, by its name (Odoo: any model a stream
    # config names in its options), or None when every stream is listed.
    generic: Callable[[str], Endpoint] | None = None

    def __post_init__(self) -> None:
        for name, endpoint in self.endpoints.items():
            if name != endpoint.name:
                raise ValueError(f"{self.name}: endpoint {endpoint.name!r} is registered as {name!r}")

    def endpoint(self, stream: str) -> Endpoint | None:
        """The endpoint of `stream`: a listed one, else the generic one (if the vendor has one)."""
        listed = self.endpoints.get(stream)
        if listed is not None or self.generic is None:
            return listed
        return self.generic(stream)
