"""Two runs of one day landing at once (pool `api_shop` raised to 2), in real processes, on a local
folder and on the S3 server: run A lands its files and reads the day's manifest, then is held
while run B lands and publishes the whole day; released, A's swap finds the manifest changed and
publishes on top. This is the interleaving that used to empty the day folder (each run's clean-up
deleted the other's files). Now both runs succeed, the day is A's landing — every file there,
B's gone — and staging reads exactly A's rows."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from plumbing_dagster.landing import LandingZone
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster_tests.crash.faults import HOLD, TRACE, read_trace
from plumbing_dagster_tests.crash.runner import Sandbox, materialize_args
from plumbing_dagster_tests.crash.worker import GENERATION, NOW, keys_of_generation

DAY = date(2026, 11, 1)
LAND = materialize_args(["raw/shop/orders_landed"], f"{DAY}")
STAGE = materialize_args(["staging/shop/orders"], f"{DAY}")


def day(zone: LandingZone) -> tuple[list[str], list[int]]:
    """The day's files (all of which exist) and its keys, as its manifest says."""
    manifest = zone.current_manifest("shop", "orders", DAY)
    assert manifest is not None
    tables = [pq.read_table(zone.path(f), filesystem=zone.fs) for f in manifest.files]
    return manifest.files, sorted(k for table in tables for k in table["id"].to_pylist())


def folder(zone: LandingZone) -> list[str]:
    return zone.list_files(zone.day_folder("shop", "orders", DAY))


def test_two_runs_landing_one_day_at_once_leave_one_whole_landing(
    tmp_path: Path, postgres_database: str, landing_backend: tuple[dict[str, str], LandingZoneResource]
) -> None:
    env, landing = landing_backend
    env = {"PLUMBING_POSTGRES_URL": postgres_database, NOW: "2026-11-10T00:00:00+00:00", **env}
    sandbox = Sandbox(tmp_path, env)
    with sandbox.instance() as instance:
        instance.event_log_storage.set_concurrency_slots("api_shop", 2)
    assert sandbox.run(LAND).returncode == 0  # the whole day, as it was before
    zone = landing.zone()
    full = set(day(zone)[1])  # A and B each leave out another third of it
    trace, release, log = tmp_path / "trace-a", tmp_path / "release", tmp_path / "a.log"
    first = sandbox.start(
        LAND, log, **{GENERATION: "1", HOLD: f"publish.swap@1:{release}", TRACE: str(trace)}
    )
    try:
        deadline = time.monotonic() + 120
        while not read_trace(trace) or read_trace(trace)[-1].point != "publish.swap":
            assert time.monotonic() < deadline and first.poll() is None, "run A never got to its swap"
            time.sleep(0.1)
        a_files = [f for f in folder(zone) if f not in day(zone)[0]]  # A's landing, in progress
        second = sandbox.run(LAND, **{GENERATION: "2"})
        assert second.returncode == 0, second.stderr[-3000:]
        b_files, b_keys = day(zone)
        assert b_keys == sorted(keys_of_generation(full, 2))  # B's landing, whole
        assert folder(zone) == sorted([*a_files, *b_files])  # B's clean-up left A's files alone
    finally:
        release.touch()
    assert first.wait(timeout=120) == 0, log.read_text()[-3000:]
    swaps = [str(t) for t in read_trace(trace) if t.point.startswith("publish.swap")]
    assert swaps == ["publish.swap@1", "publish.swap@2", "publish.swapped@1"]  # lost once, then won

    files, a_keys = day(zone)
    assert files == a_files and folder(zone) == a_files  # A's landing; B's files replaced
    assert a_keys == sorted(keys_of_generation(full, 1))
    staged = sandbox.run(STAGE)
    assert staged.returncode == 0, staged.stderr[-3000:]
    with duckdb.connect(str(sandbox.data / "warehouse.duckdb"), read_only=True) as conn:
        rows = [r[0] for r in conn.execute("SELECT id FROM shop.orders ORDER BY id").fetchall()]
    assert rows == a_keys
