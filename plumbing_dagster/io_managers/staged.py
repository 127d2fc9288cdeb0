"""The value staging assets hand to a warehouse IO manager, and the definition metadata it reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from plumbing_dagster.warehouses.landed import DayCounts, LandedRows

# Definition metadata keys the IO managers read.
META_PRIMARY_KEY = "plumbing/primary_key"  # list[str]
META_CURSOR = "plumbing/cursor"  # str | None: newest version per key wins in <table>__current
# "latest_per_key" (incremental streams) or "latest_partition" (snapshots): how <table>__current is built.
META_CURRENT_VIEW = "plumbing/current_view"


@dataclass(frozen=True)
class LandedDays:
    """The landed days a staging asset hands its IO manager — described, not loaded.

    The IO manager stages them inside its write transaction (`WarehouseSession.stage`): typed by
    the contract into `<schema>.<table>`, the records that break it into `<table>__rejected`,
    and `keys` (key snapshots) into `<table>__keys`, replacing the days' rows of each.
    """

    landed: LandedRows
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Key snapshots of the days (key columns + partition_date), for delete detection; None: none.
    keys: pa.Table | None = None
    # Called with each day's figures once staged (the asset puts them on that day's
    # materialization: a range run records one per day).
    on_staged: Callable[[Mapping[date, DayCounts]], None] | None = None


def key_columns(metadata: Mapping[str, Any]) -> Sequence[str]:
    value = metadata.get(META_PRIMARY_KEY)
    return list(value) if value else []
