"""A run whose step waits for a pool slot waits asleep (runs/pool_wait.py) and starts once the slot
is free; a slot assigned to a run that died while it waited is freed by the next run (runs/pools.py).
Real processes: the waiting run is a `dagster asset materialize` of a one-asset code location with
this code location's executor wrapper, on the repository's instance config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.test_utils import create_run_for_test

from plumbing_dagster.runs.pools import free_slots_of_dead_holders, pool_holders
from plumbing_dagster_tests.crash.runner import REPOSITORY
from plumbing_dagster_tests.runs.workers import dead_worker, worker_tags

POOL = "api_shop"
WAIT_SECONDS = 3.0

CODE_LOCATION = """
import dagster as dg
from plumbing_dagster.runs.executor import watched

@dg.asset(pool="{pool}")
def waits_for_the_pool() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={{"ran": True}})

defs = dg.Definitions(assets=[waits_for_the_pool], executor=watched(dg.{executor}))
"""


def home_with_the_repository_instance(folder: Path) -> Path:
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    return home


def hold_slot(instance: dg.DagsterInstance, run_id: str, step_key: str) -> None:
    status = instance.event_log_storage.claim_concurrency_slot(POOL, run_id, step_key)
    assert status.is_claimed


def wait_for_text(log: Path, text: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while text not in (log.read_text() if log.exists() else ""):
        assert process.poll() is None, f"the run ended before {text!r}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {text!r} in {seconds} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


@pytest.mark.parametrize("executor", ["in_process_executor", "multiprocess_executor"])
def test_a_run_waits_for_a_slot_asleep_and_starts_when_it_is_freed(tmp_path: Path, executor: str) -> None:
    home = home_with_the_repository_instance(tmp_path)
    (tmp_path / "location.py").write_text(CODE_LOCATION.format(pool=POOL, executor=executor))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)  # 1 (dagster.yaml)
        hold_slot(instance, "holding-run", "holding-step")
        log = tmp_path / "waiting.log"
        with log.open("w") as output:
            waiting = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-f", "location.py",
                 "--select", "waits_for_the_pool"],
                cwd=tmp_path, env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=output, stderr=output,
            )  # fmt: skip
        try:
            wait_for_text(log, f"Step blocked by limit for pool {POOL}", waiting)
            process = psutil.Process(waiting.pid)
            before = process.cpu_times()
            time.sleep(WAIT_SECONDS)
            after = process.cpu_times()
            cpu = (after.user + after.system) - (before.user + before.system)
            # Dagster's own loop takes the whole core (measured 4.95-4.98 s of CPU in 5 s).
            assert cpu < 0.1 * WAIT_SECONDS, f"{cpu:.2f} s of CPU in {WAIT_SECONDS} s of waiting"
            instance.event_log_storage.free_concurrency_slot_for_step("holding-run", "holding-step")
            assert waiting.wait(timeout=60) == 0, log.read_text()[-3000:]
        finally:
            if waiting.poll() is None:
                waiting.kill()
        assert "STEP_SUCCESS" in log.read_text()
        assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []


def test_a_slot_assigned_to_a_run_that_died_waiting_is_held_by_it_and_freed() -> None:
    """Killed while it waited, a run never claims the slot Dagster assigns it later: the next run
    must see it as the holder (and free it), or the pool stays taken for good."""
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        hold_slot(instance, "holding-run", "raw_shop")
        dead = create_run_for_test(instance, job_name="j", tags=worker_tags(dead_worker()))
        waited = instance.event_log_storage.claim_concurrency_slot(POOL, dead.run_id, "raw_shop")
        assert not waited.is_claimed  # queued behind the holder
        instance.event_log_storage.free_concurrency_slot_for_step("holding-run", "raw_shop")

        holders = pool_holders(instance, POOL)
        assert [(h.run_id, h.step_key) for h in holders] == [(dead.run_id, "raw_shop")]
        assert holders[0].since is not None and holders[0].since.tzinfo is not None

        assert free_slots_of_dead_holders(instance, holders, noticed_by="next-run") == [dead.run_id]
        assert pool_holders(instance, POOL) == []
        assert instance.event_log_storage.claim_concurrency_slot(POOL, "next-run", "raw_shop").is_claimed
        run = instance.get_run_by_id(dead.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
