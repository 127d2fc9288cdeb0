"""`python -m plumbing_dagster_tests.crash.worker <dagster CLI arguments>`: the `dagster` command
(e.g. `asset materialize ...`) with the code location's steps wrapped to pass named points
(`faults.py`), and — with `PLUMBING_CRASH_GENERATION=<g>` — each landed stream missing the rows
whose key falls in class `g % 3`, so that the landings of two generations differ and a test can
tell which one the warehouse holds (`PLUMBING_CRASH_NOW` fixes the emulators' clock, so nothing
else changes between runs).

Points, in the order a run of raw + staging passes them:
- `extract.batch`        a batch of records came from the API (before dlt writes it)
- `landing.loaded`       dlt wrote the day's files; the stream's publish is next
- `publish.swap`         the day's manifest was read; the compare-and-swap is next
- `publish.swapped`      the new manifest is the day's; the log entry is next
- `publish.logged`       the log entry is written; clean-up is next
- `publish.cleanup`      about to delete replaced files
- `warehouse.<w>.begin`  a write transaction is open (`w`: duckdb, postgres)
- `warehouse.<w>.delete` the day's rows are deleted, inside the transaction
- `warehouse.<w>.write`  new rows are inserted, inside the transaction (marts, key snapshots)
- `warehouse.<w>.stage`  the landed days are staged (cast, rejects, dedupe, insert), inside it
- `warehouse.<w>.commit` the transaction's work is done; commit is next
- `warehouse.<w>.committed`
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from plumbing_dagster_tests.crash.faults import reached

GENERATION = "PLUMBING_CRASH_GENERATION"
# The emulators' clock (ISO time), so that what they serve cannot change between two runs.
NOW = "PLUMBING_CRASH_NOW"
CLASSES = 3


def key_class(key: object) -> int:
    """Which of `CLASSES` classes a key falls in (stable across processes, unlike `hash`)."""
    return zlib.crc32(str(key).encode()) % CLASSES


def keys_of_generation(keys: set[Any], generation: int) -> set[Any]:
    return {key for key in keys if key_class(key) != generation % CLASSES}


def _without_generation_class(table: pa.Table, key: str, generation: int) -> pa.Table:
    keep = [key_class(value) != generation % CLASSES for value in table.column(key).to_pylist()]
    return table.filter(pa.array(keep))


def _wrap_extraction() -> None:
    from plumbing_dagster.raw import dlt_source

    original = dlt_source._stream_batches

    def batches(endpoint: Any, client: Any, config: Any, window: Any) -> Iterator[pa.Table]:
        generation = os.environ.get(GENERATION)
        for table in original(endpoint, client, config, window):
            if generation is not None:
                table = _without_generation_class(table, config.key_columns[0], int(generation))
            reached("extract.batch")
            yield table

    dlt_source._stream_batches = batches


def _wrap_landing() -> None:
    from plumbing_dagster.landing.zone import MANIFESTS, LandingZone
    from plumbing_dagster.raw import landing_run

    publish_landed_day = landing_run.publish_landed_day

    def publish(*args: Any, **kwargs: Any) -> Any:
        reached("landing.loaded")
        return publish_landed_day(*args, **kwargs)

    landing_run.publish_landed_day = publish

    swap, write, remove = LandingZone._swap_manifest, LandingZone._write_atomically, LandingZone._remove_files

    def swap_manifest(self: LandingZone, *args: Any) -> bool:
        reached("publish.swap")
        swapped = swap(self, *args)
        if swapped:
            reached("publish.swapped")
        return swapped

    def write_atomically(self: LandingZone, relative: str, text: str) -> None:
        write(self, relative, text)
        if relative.startswith(f"{MANIFESTS}/log/"):
            reached("publish.logged")

    def remove_files(self: LandingZone, relatives: list[str]) -> None:
        reached("publish.cleanup")
        remove(self, relatives)

    LandingZone._swap_manifest = swap_manifest
    LandingZone._write_atomically = write_atomically
    LandingZone._remove_files = remove_files


def _watch_session(session: Any, name: str) -> None:
    execute, write, stage = session.execute, session.write, session.stage

    def watched_execute(statement: str) -> None:
        execute(statement)
        if statement.lstrip().upper().startswith("DELETE"):
            reached(f"warehouse.{name}.delete")

    def watched_write(*args: Any, **kwargs: Any) -> None:
        write(*args, **kwargs)
        reached(f"warehouse.{name}.write")

    def watched_stage(*args: Any, **kwargs: Any) -> Any:
        counts = stage(*args, **kwargs)
        reached(f"warehouse.{name}.stage")
        return counts

    session.execute, session.write, session.stage = watched_execute, watched_write, watched_stage


def _wrap_warehouses() -> None:
    from plumbing_dagster.warehouses import WAREHOUSES

    for name, kind in WAREHOUSES.items():
        original = kind.transaction

        @contextmanager
        def transaction(self: Any, lock: str, _original: Any = original, _name: str = name) -> Iterator[Any]:
            with _original(self, lock) as session:
                _watch_session(session, _name)
                reached(f"warehouse.{_name}.begin")
                yield session
                reached(f"warehouse.{_name}.commit")
            reached(f"warehouse.{_name}.committed")

        kind.transaction = transaction


def _fix_clock() -> None:
    from datetime import datetime

    from plumbing_dagster.kit.emulator.world import World

    if now := os.environ.get(NOW):
        World.now = property(lambda self: datetime.fromisoformat(now))  # type: ignore[method-assign]


def install() -> None:
    _fix_clock()
    _wrap_extraction()
    _wrap_landing()
    _wrap_warehouses()


def main() -> None:
    install()
    from dagster._cli import main as dagster_main

    sys.argv = ["dagster", *sys.argv[1:]]
    sys.exit(dagster_main())


if __name__ == "__main__":
    main()
