"""The emulator base: serve an app over HTTP with faults (`server`), route and authorize
(`app`), issue tokens (`tokens`), generate deterministic data (`world`)."""

from plumbing_dagster.kit.emulator.app import BadRequest, EmulatorApp, RateLimiter, Route, int_arg
from plumbing_dagster.kit.emulator.server import (
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
    Fault,
    FaultPlan,
)
from plumbing_dagster.kit.emulator.tokens import TokenIssuer, basic_credentials, bearer_token, same_secret
from plumbing_dagster.kit.emulator.world import DayCache, World, derive_seed, fixed_horizon

__all__ = [
    "BadRequest",
    "DayCache",
    "EmulatorApp",
    "EmulatorRequest",
    "EmulatorResponse",
    "EmulatorServer",
    "Fault",
    "FaultPlan",
    "RateLimiter",
    "Route",
    "TokenIssuer",
    "World",
    "basic_credentials",
    "bearer_token",
    "derive_seed",
    "fixed_horizon",
    "int_arg",
    "same_secret",
]
