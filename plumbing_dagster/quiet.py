"""Warnings this project triggers on purpose, each with the reason it is fine; filtered only
where they arise, so every other warning still shows."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

# (category, message prefix, why we do it anyway)
ON_PURPOSE: tuple[tuple[type[Warning], str, str], ...] = (
    (dg.BetaWarning, r"Parameter `backfill_policy`", "range runs rely on single-run backfills (tested)"),
    (dg.PreviewWarning, r"Specifying a partitions_def on an AssetCheckSpec", "checks per day (tested)"),
    (
        dg.BetaWarning,
        r"Class `(LocalFileCodeReference|CodeReferencesMetadataValue)`",
        "links to config and code",
    ),
    (dg.PreviewWarning, r".*[Ff]reshness", "per-source freshness in the UI"),
)


@contextmanager
def on_purpose() -> Iterator[None]:
    """Silence exactly the warnings listed in `ON_PURPOSE` inside the block."""
    with warnings.catch_warnings():
        for category, message, _why in ON_PURPOSE:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


@contextmanager
def dlt_on_purpose() -> Iterator[None]:
    """dagster-dlt 0.29 calls dlt's deprecated `drop_pending_packages` on every run; not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"drop_pending_packages is deprecated")
        yield
