"""Who holds a pool's slots, since when, and freeing the slots of runs whose worker is gone.

Dagster keeps a claimed slot until the claiming run frees it; a run killed with SIGKILL never does,
and marking it failed does not either (only `free_concurrency_slots_for_run` does, which the
monitoring daemon calls `free_slots_after_run_end_seconds` after a run ended). A run blocked on the
pool uses `free_slots_of_dead_holders` to get going without a daemon, e.g. at the terminal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from plumbing_dagster.runs.workers import worker_alive, worker_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    """A step holding one slot of a pool."""

    run_id: str
    step_key: str
    since: datetime | None  # when the slot was assigned to it

    def describe(self) -> str:
        since = f" since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return f"run {self.run_id} (step {self.step_key}){since}"


def pool_holders(instance: dg.DagsterInstance, pool: str) -> list[Holder]:
    """The steps holding the pool's slots: those that claimed one, and those a freed slot was
    assigned to that have not claimed it yet (a run killed while it waited never will)."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    # A holder's queue entry stays, with the time it was assigned the slot, until it frees it.
    assigned = {
        (step.run_id, step.step_key): _utc(step.assigned_timestamp)
        for step in info.pending_steps
        if step.assigned_timestamp is not None
    }
    claimed = [(slot.run_id, slot.step_key) for slot in info.claimed_slots]
    unclaimed = [key for key in assigned if key not in claimed]
    return [Holder(run, step, assigned.get((run, step))) for run, step in claimed + unclaimed]


def _utc(stamp: datetime) -> datetime:
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp  # stored naive, in UTC


def free_slots_of_dead_holders(
    instance: dg.DagsterInstance, holders: list[Holder], noticed_by: str
) -> list[str]:
    """Marks holders whose worker is provably gone as failed and frees their slots; their run ids.

    Runs whose worker cannot be judged here (another host, no worker tag) are left alone."""
    freed = []
    for run_id in sorted({h.run_id for h in holders}):
        run = instance.get_run_by_id(run_id)
        if run is None or worker_alive(instance, run) is not False:
            continue
        if not run.is_finished:
            message = f"Run worker {worker_of(run)} is gone (noticed by run {noticed_by}, waiting on it)."
            instance.report_run_failed(run, message)
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        logger.warning("run %s: worker %s is gone; marked failed, pool slots freed", run_id, worker_of(run))
        freed.append(run_id)
    return freed
