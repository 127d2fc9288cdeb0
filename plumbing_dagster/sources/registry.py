"""The vendors this code location knows, by the folder name used in `dag/`."""

from __future__ import annotations

from plumbing_dagster.sources.jortt import VENDOR as JORTT  # noqa: I001
from plumbing_dagster.sources.shop import VENDOR as SHOP
from plumbing_dagster.sources.vendor import Vendor

VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (SHOP, JORTT)}
