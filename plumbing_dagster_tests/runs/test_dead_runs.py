"""Runs whose process died are noticed: by the next run that needs their pool slot, by the
monitoring daemon, by the landing sensor (see sensors/); a run waiting for a slot says who holds
it and ends on SIGTERM. Real processes: the run under test is a `dagster asset materialize`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.test_utils import create_run_for_test

from plumbing_dagster.runs.launcher import LocalRunLauncher
from plumbing_dagster.runs.workers import RUN_WORKER_TAG, Worker, this_worker, worker_alive
from plumbing_dagster_tests.crash.faults import HOLD, KILL, TRACE, read_trace
from plumbing_dagster_tests.crash.runner import REPOSITORY, Sandbox, materialize_args
from plumbing_dagster_tests.runs.workers import dead_worker, worker_tags

DAY = "2026-11-01"
ORDERS = materialize_args(["raw/shop/orders_landed", "staging/shop/orders"], DAY)
STAGE_ORDERS = materialize_args(["staging/shop/orders"], DAY)


@pytest.fixture
def sandbox(tmp_path: Path, postgres_database: str) -> Sandbox:
    return Sandbox(tmp_path, {"PLUMBING_POSTGRES_URL": postgres_database})


def claimed(instance: dg.DagsterInstance, pool: str) -> list[str]:
    return [slot.run_id for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots]


def kill_while_writing_duckdb(sandbox: Sandbox) -> dg.DagsterRun:
    """A run killed (SIGKILL) inside its DuckDB write transaction, holding the duckdb_writer slot."""
    killed = sandbox.run(ORDERS, **{KILL: "warehouse.duckdb.begin@1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    with sandbox.instance() as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED  # nobody has noticed yet
        assert claimed(instance, "duckdb_writer") == [run.run_id]
    return run


def test_the_next_run_frees_a_dead_runs_slot_and_says_who_held_it(sandbox: Sandbox) -> None:
    dead = kill_while_writing_duckdb(sandbox)
    started = time.monotonic()
    result = sandbox.run(ORDERS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started < 60
    assert (
        f"Step staging__shop__orders waits for pool duckdb_writer, held by run {dead.run_id} "
        "(step staging__shop__orders) since "
    ) in result.stderr
    assert "(its worker is gone: marked failed, slot freed)" in result.stderr
    with sandbox.instance() as instance:
        run = instance.get_run_by_id(dead.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        assert claimed(instance, "duckdb_writer") == []


def test_a_run_waiting_for_a_slot_ends_on_sigterm(sandbox: Sandbox, tmp_path: Path) -> None:
    trace, release = tmp_path / "trace", tmp_path / "release"
    holder = sandbox.start(
        ORDERS, tmp_path / "holder.log", **{HOLD: f"warehouse.duckdb.begin@1:{release}", TRACE: str(trace)}
    )
    try:
        deadline = time.monotonic() + 120
        while not any(t.point == "warehouse.duckdb.begin" for t in read_trace(trace)):
            assert time.monotonic() < deadline and holder.poll() is None, "the holder never got its slot"
            time.sleep(0.2)
        waiting = sandbox.start(STAGE_ORDERS, tmp_path / "waiting.log")
        while "waits for pool duckdb_writer" not in (tmp_path / "waiting.log").read_text():
            assert time.monotonic() < deadline and waiting.poll() is None, "the second run never waited"
            time.sleep(0.2)
        assert "(its worker is gone" not in (tmp_path / "waiting.log").read_text()  # the holder lives
        asked = time.monotonic()
        waiting.send_signal(signal.SIGTERM)
        assert waiting.wait(timeout=30) != 0
        assert time.monotonic() - asked < 15
        assert "Execution was interrupted" in (tmp_path / "waiting.log").read_text()
    finally:
        release.touch()
    assert holder.wait(timeout=120) == 0, (tmp_path / "holder.log").read_text()[-3000:]
    with sandbox.instance() as instance:
        statuses = sorted(r.status.value for r in instance.get_runs())
        assert statuses == ["FAILURE", "SUCCESS"]
        assert claimed(instance, "duckdb_writer") == []


def test_the_monitoring_daemon_fails_a_dead_run_and_frees_its_slots(sandbox: Sandbox, tmp_path: Path) -> None:
    """The daemon of `dagster dev` with the sandbox's run monitoring (intervals shortened to 1 s;
    `test_the_instance_configs_monitor_runs` checks the real ones)."""
    config = yaml.safe_load((REPOSITORY / "dagster.yaml").read_text())
    config["run_monitoring"].update(poll_interval_seconds=1, free_slots_after_run_end_seconds=1)
    (sandbox.home / "dagster.yaml").write_text(yaml.safe_dump(config))
    dead = kill_while_writing_duckdb(sandbox)
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")  # monitoring needs no code
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
        cwd=tmp_path,
        env=sandbox.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with sandbox.instance() as instance:
            deadline = time.monotonic() + 120
            while claimed(instance, "duckdb_writer"):
                assert time.monotonic() < deadline, "the daemon did not free the dead run's slot"
                time.sleep(0.5)
            run = instance.get_run_by_id(dead.run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
            [failure] = instance.get_records_for_run(
                dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
            ).records
            worker = Worker.parse(run.tags[RUN_WORKER_TAG])
            expected = f"Detected run worker status FAILED: 'run worker {worker} is gone'"
            assert expected in failure.event_log_entry.message
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.wait(timeout=60)


def test_the_instance_configs_monitor_runs(tmp_path: Path) -> None:
    launcher = {"module": "plumbing_dagster.runs.launcher", "class": "LocalRunLauncher"}
    for config, bound in (("dagster.yaml", 120), ("deploy/dagster.prod.yaml", 300)):
        settings = yaml.safe_load((REPOSITORY / config).read_text())
        assert settings["run_launcher"] == launcher
        monitoring = settings["run_monitoring"]
        assert monitoring["enabled"] is True
        # Noticed at the next poll, slots freed at the first poll after the grace period.
        worst = 2 * monitoring["poll_interval_seconds"] + monitoring["free_slots_after_run_end_seconds"]
        assert worst <= bound, f"{config}: a dead run's slot may stay taken {worst} s"
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPOSITORY / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_monitoring_enabled


def test_a_worker_is_alive_only_while_its_process_lives_on_this_host() -> None:
    with dg.instance_for_test() as instance:

        def alive(tags: dict[str, str]) -> bool | None:
            return worker_alive(instance, create_run_for_test(instance, job_name="j", tags=tags))

        assert alive(worker_tags()) is True
        assert alive(worker_tags(dead_worker())) is False
        me = this_worker()
        # The same pid with another start time is another (later) process: ours is gone.
        assert alive(worker_tags(Worker(me.host, me.pid, me.started - 3600))) is False
        assert alive(worker_tags(Worker("elsewhere.example", os.getpid(), me.started))) is None
        assert alive({}) is None and alive({RUN_WORKER_TAG: "garbled"}) is None
