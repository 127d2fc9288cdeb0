"""The crash harness: a day of raw + staging (shop orders into DuckDB, Jortt customers into
Postgres), landing on a local folder and on the S3 server, is run in a real `dagster asset
materialize` process that kills itself (SIGKILL) at a
named point — while extracting, after dlt wrote the files, around the manifest swap, the log and
the clean-up, inside and around the warehouse transactions. After each kill:

- each warehouse holds exactly the previous landing of the day or the new one (compared by key
  sets: every run drops a different third of the keys, see `worker.py`), never a mix, a gap or
  duplicates, and the DuckDB file opens;
- the landing day is complete: its manifest names files that all exist and hold exactly the
  previous landing or the new one;
- the next run of the day succeeds without help, and then holds the new landing everywhere; no
  pool slot stays taken, and no run is left "started" unless it is recognisably dead.

`--crash-points N` (default 6 per landing backend) and `--crash-seed S` pick the points: round
robin over the phases (landing, publishing, warehouse), each phase's reachable points in a seeded
order, the S3 backend taking the N points after the local folder's (12 different points in all by
default); with N at least the number of reachable points (24: the trace of an uninterrupted run
lists them), every point is tried on both.
"""

from __future__ import annotations

import random
import shutil
import signal
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.keys import stream_selection
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster.runs.workers import worker_alive
from plumbing_dagster_tests.crash.conftest import BACKENDS
from plumbing_dagster_tests.crash.faults import KILL, TRACE, Target, read_trace
from plumbing_dagster_tests.crash.runner import Sandbox, materialize_args
from plumbing_dagster_tests.crash.worker import GENERATION, NOW, keys_of_generation

DAY = date(2026, 11, 1)
# (source, stream, warehouse, key): one stream per warehouse, each landed by its own raw step.
STREAMS = [("shop", "orders", "duckdb", "id"), ("jortt", "customers", "postgres", "id")]
SELECTION = [key for source, stream, *_ in STREAMS for key in stream_selection(source, [stream])]
PHASES = {"landing": ("extract.", "landing."), "publishing": ("publish.",), "warehouse": ("warehouse.",)}

Keys = frozenset


def crash_targets(reachable: list[Target], count: int, seed: int, start: int = 0) -> list[Target]:
    """`count` kill points from the `start`th on: the phases in turn, each phase's points in an
    order fixed by `seed`; a phase whose points are used up drops out until all are (so `count` =
    all reachable points tries each once)."""
    queues = []
    for prefixes in PHASES.values():
        points = sorted({t for t in reachable if t.point.startswith(prefixes)}, key=str)
        assert points, f"no reachable point starts with {prefixes}"
        random.Random(f"{seed}-{prefixes}").shuffle(points)
        queues.append(points)
    order: list[Target] = []
    for depth in range(max(len(q) for q in queues)):
        order.extend(q[depth] for q in queues if depth < len(q))
    return [order[(start + i) % len(order)] for i in range(count)]


@pytest.fixture
def sandbox(
    tmp_path: Path, postgres_database: str, landing_backend: tuple[dict[str, str], LandingZoneResource]
) -> Iterator[Sandbox]:
    dag = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR / "sources", dag / "sources")
    for source, stream, *_ in STREAMS:
        (dag / "streams" / source).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(
            DEFAULT_DAG_DIR / "streams" / source / f"{stream}.json",
            dag / "streams" / source / f"{stream}.json",
        )
    yield Sandbox(
        tmp_path,
        {
            "PLUMBING_POSTGRES_URL": postgres_database,
            "PLUMBING_DAG_DIR": str(dag),
            NOW: "2026-11-10T00:00:00+00:00",
            **landing_backend[0],
        },
    )


def landed(zone: LandingZone, source: str, stream: str, key: str) -> Keys:
    """The day's keys as its manifest says, after checking the landing is complete."""
    zone.fs.invalidate_cache()  # s3fs caches listings and existence per instance
    manifest = zone.current_manifest(source, stream, DAY)
    assert manifest is not None, f"{source}/{stream}: no manifest"
    missing = [f for f in manifest.files if not zone.fs.exists(zone.path(f))]
    assert not missing, f"{source}/{stream}: the manifest names missing files {missing}"
    keys = [
        k
        for f in manifest.files
        for k in pq.read_table(zone.path(f), columns=[key], filesystem=zone.fs).column(key).to_pylist()
    ]
    assert len(keys) == manifest.rows == len(set(keys)), f"{source}/{stream}: rows do not add up"
    return Keys(keys)


def staged(sandbox: Sandbox, source: str, stream: str, warehouse: str, key: str) -> Keys:
    query = f'SELECT "{key}" FROM "{source}"."{stream}" WHERE partition_date = DATE \'{DAY}\''
    if warehouse == "duckdb":
        with duckdb.connect(str(sandbox.data / "warehouse.duckdb"), read_only=True) as conn:
            rows = conn.execute(query).fetchall()
    else:
        with psycopg.connect(sandbox.env["PLUMBING_POSTGRES_URL"]) as conn:
            rows = conn.execute(query).fetchall()
    keys = [row[0] for row in rows]
    assert len(keys) == len(set(keys)), f"{source}/{stream}: duplicate keys in {warehouse}"
    return Keys(keys)


def run(sandbox: Sandbox, generation: int | None, **env: str) -> int:
    if generation is not None:
        env[GENERATION] = str(generation)
    result = sandbox.run(materialize_args(SELECTION, f"{DAY}"), **env)
    if result.returncode not in (0, -signal.SIGKILL):
        pytest.fail(f"run failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.returncode


def nothing_stuck(sandbox: Sandbox) -> None:
    with sandbox.instance() as instance:
        storage = instance.event_log_storage
        for pool in storage.get_concurrency_keys():
            assert storage.get_concurrency_info(pool).claimed_slots == [], f"pool {pool} still taken"
        for started in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            assert worker_alive(instance, started) is False, f"run {started.run_id} is started, not dead"


def test_kills_at_any_point_leave_a_whole_day_and_the_next_run_succeeds(
    sandbox: Sandbox,
    landing_backend: tuple[dict[str, str], LandingZoneResource],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    zone = landing_backend[1].zone()
    assert run(sandbox, None) == 0
    full = {(source, stream): landed(zone, source, stream, key) for source, stream, _, key in STREAMS}

    def expected(generation: int) -> dict[tuple[str, str], Keys]:
        return {name: Keys(keys_of_generation(set(keys), generation)) for name, keys in full.items()}

    def state() -> tuple[dict[tuple[str, str], Keys], dict[tuple[str, str], Keys]]:
        landings = {(s, t): landed(zone, s, t, k) for s, t, _, k in STREAMS}
        tables = {(s, t): staged(sandbox, s, t, w, k) for s, t, w, k in STREAMS}
        return landings, tables

    # A clean re-run records which points a run passes (a re-run also deletes and cleans up).
    assert run(sandbox, 1, **{TRACE: str(tmp_path / "trace-1")}) == 0
    assert state() == (expected(1), expected(1))
    count = request.config.getoption("--crash-points")
    backend = request.node.callspec.params["landing_backend"]
    targets = crash_targets(
        read_trace(tmp_path / "trace-1"),
        count,
        request.config.getoption("--crash-seed"),
        # Each backend takes the next points of the same order: one test run tries twice as many.
        start=count * BACKENDS.index(backend),
    )

    for generation, target in enumerate(targets, start=2):
        trace = tmp_path / f"trace-{generation}"
        assert run(sandbox, generation, **{KILL: str(target), TRACE: str(trace)}) == -signal.SIGKILL, target
        assert read_trace(trace)[-1] == target
        before, after = expected(generation - 1), expected(generation)
        landings, tables = state()
        for name in full:
            assert landings[name] in (before[name], after[name]), f"killed at {target}: {name} landing mixed"
            assert tables[name] in (before[name], after[name]), f"killed at {target}: {name} staged mixed"

        assert run(sandbox, generation) == 0, f"the run after a kill at {target} failed"
        assert state() == (after, after), f"after a kill at {target} and a new run"
        nothing_stuck(sandbox)
