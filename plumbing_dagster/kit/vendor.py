"""What a vendor package provides: its streams, its connection settings, its client and emulator,
its marts. `VENDOR = Vendor(...)` in the package's `__init__.py`; nothing here imports Dagster."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from plumbing_dagster.kit.connection import ConnectionSettings
from plumbing_dagster.kit.marts import Mart
from plumbing_dagster.kit.streams import Endpoint, VendorClient

if TYPE_CHECKING:
    from plumbing_dagster.kit.emulator.app import EmulatorApp


@dataclass(frozen=True)
class ActionContext:
    """What an action gets: the vendor's settings, its validated run config, a log, and — when a
    person runs it at a terminal — a way to ask them something (a TAN); None in a job."""

    settings: ConnectionSettings
    config: BaseModel | None
    log: logging.Logger
    ask: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Action:
    """Something run against a vendor besides landing streams: by a person (a Dagster job
    `<vendor>_<name>` launched from the UI, or `plumbing <vendor> <name>`), or every
    `every_minutes` by a schedule that asks `due(settings)` first (a reason to skip, or None).

    `run` returns metadata to show on the run; it must never contain a secret."""

    name: str
    run: Callable[[ActionContext], Mapping[str, Any]]
    description: str
    config: type[BaseModel] | None = None
    every_minutes: int | None = None
    due: Callable[[ConnectionSettings], str | None] | None = None


@dataclass(frozen=True)
class Vendor:
    """Everything the Dagster side needs to know about one vendor."""

    name: str
    start_date: date
    endpoints: Mapping[str, Endpoint]
    connection: type[ConnectionSettings]
    connect: Callable[[Any], VendorClient]
    emulator: Callable[..., EmulatorApp]
    # Settings that reach the emulator served at the given URL (sandbox and tests only).
    sandbox_connection: Callable[..., ConnectionSettings]
    marts: Sequence[Mart] = ()
    description: str = ""
    # When the daily schedule runs yesterday's partition (UTC): late enough for the vendor's day
    # to have settled.
    schedule_at: time = time(1, 0)
    # Staging is stale when its last materialization is older than this (the UI's freshness).
    fresh_within_hours: int = 28
    # The endpoint of a stream the vendor does not list, by its name (Odoo: any model a stream
    # config names in its options), or None when every stream is listed.
    generic: Callable[[str], Endpoint] | None = None
    actions: Sequence[Action] = ()
    # A sandbox whose emulator keeps state between processes (comdirect's login session): then
    # `emulator(state_dir=...)` and `sandbox_connection(url, state_dir=...)` get a folder for it.
    sandbox_state: bool = False

    def __post_init__(self) -> None:
        for name, endpoint in self.endpoints.items():
            if name != endpoint.name:
                raise ValueError(f"{self.name}: endpoint {endpoint.name!r} is registered as {name!r}")

    def sandbox_emulator(self, state_dir: str | None) -> EmulatorApp:
        return self.emulator(state_dir=state_dir) if self.sandbox_state else self.emulator()

    def sandbox_settings(self, url: str, state_dir: str | None) -> ConnectionSettings:
        if self.sandbox_state:
            return self.sandbox_connection(url, state_dir=state_dir)  # type: ignore[call-arg]
        return self.sandbox_connection(url)

    def endpoint(self, stream: str) -> Endpoint | None:
        """The endpoint of `stream`: a listed one, else the generic one (if the vendor has one)."""
        listed = self.endpoints.get(stream)
        if listed is not None or self.generic is None:
            return listed
        return self.generic(stream)


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) for a vendor package: each name in `exports` is imported
    from its module (relative to `package`, e.g. `".emulator"`) when first asked for.

    Vendor packages export their emulator and world this way, and their `emulator` and
    `sandbox_connection` import it when called: only sandbox runs and tests serve an emulator, and
    loading the code location would otherwise import every vendor's (~0.1 s, measured)."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)  # asked once: later reads find it directly
        return value

    return __getattr__
