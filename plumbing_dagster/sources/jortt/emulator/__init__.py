"""The Jortt emulator: the API and its OAuth token endpoint (`app`) over deterministic data
(`world`, built from `records` and `billing`)."""

from plumbing_dagster.sources.jortt.emulator.app import JorttEmulator
from plumbing_dagster.sources.jortt.emulator.world import JorttWorld

__all__ = ["JorttEmulator", "JorttWorld"]
