"""The shop emulator: the API (`app`) over deterministic data (`world`)."""

from plumbing_dagster.sources.shop.emulator.app import ShopEmulator
from plumbing_dagster.sources.shop.emulator.world import ShopWorld

__all__ = ["ShopEmulator", "ShopWorld"]
