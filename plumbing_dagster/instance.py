"""The instance class of both instance configs: Dagster's `DagsterInstance`, loaded through this
module so that the heap is frozen before Dagster imports its storage (SQLAlchemy, alembic).

Dagster imports an `instance_class` while it reads `dagster.yaml`, before anything else of the
instance; importing this module freezes what is alive and starts loading (`heap.py`). Once the
instance is built, loading ends (later instances of the same process change nothing). Measured on
`dagster asset materialize`: the full collection during the storage import went from ~70 ms to
~15 ms, all collections from ~195 ms to ~120 ms.

`config_schema` and `config_defaults` are what Dagster asks of an instance class; both are
Dagster's own (its private `InstanceRef.config_defaults`, pinned with Dagster 1.13 and tested in
`test_startup.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from plumbing_dagster.heap import loaded, loading

loading()  # Dagster imports this module before its storage; the instance's __init__ ends loading


class Instance(dg.DagsterInstance):
    """Dagster's instance; only its loading is kept out of the garbage collector's way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().__init__(*args, **kwargs)
        finally:
            loaded()  # also when the storage fails: a process that goes on collects as usual

    @classmethod
    def config_schema(cls) -> Mapping[str, Any]:
        return {}  # no settings beyond Dagster's own

    @classmethod
    def config_defaults(cls, base_dir: str) -> Mapping[str, Any]:
        return InstanceRef.config_defaults(base_dir)
