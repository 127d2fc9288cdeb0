"""The vendors this code location knows: every package under `plumbing_dagster/sources/` that
exports `VENDOR`, by the folder name used in `dag/` (so adding a vendor touches only its folder)."""

from __future__ import annotations

import importlib
import pkgutil

import plumbing_dagster.sources as sources_package
from plumbing_dagster.kit.vendor import Vendor


def discover_vendors() -> dict[str, Vendor]:
    vendors: dict[str, Vendor] = {}
    for module in sorted(pkgutil.iter_modules(sources_package.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        vendor = getattr(importlib.import_module(f"{sources_package.__name__}.{module.name}"), "VENDOR", None)
        if isinstance(vendor, Vendor):
            if vendor.name != module.name:
                raise ValueError(
                    f"sources/{module.name}: VENDOR is named {vendor.name!r}, not {module.name!r}"
                )
            vendors[vendor.name] = vendor
    return vendors


VENDORS: dict[str, Vendor] = discover_vendors()
