"""The landing zone: where raw assets (and other tools) put parquet files, on any fsspec URL."""

from plumbing_dagster.landing.zone import LandingZone, Manifest

__all__ = ["LandingZone", "Manifest"]
