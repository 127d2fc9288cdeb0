"""Sensors: landed files -> staging runs."""

from plumbing_dagster.sensors.landing import build_landing_sensor

__all__ = ["build_landing_sensor"]
