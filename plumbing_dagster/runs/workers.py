"""Where a run's worker process runs, and whether it still lives.

Dagster 1.13's run monitoring fails a run whose worker died only if the run launcher can check the
worker; the DefaultRunLauncher cannot, and runs started at the terminal (`dagster asset
materialize`) are not launched at all. So every run is tagged with its worker — host, pid and the
process's start time (pids are reused; the start time tells a new process from the old one) — by
the executor (`runs/executor.py`), and this module answers "does that process still live?".

Only on the worker's own host can that be answered; elsewhere the answer is None (unknown) and
nobody acts on it. Step processes of the multiprocess executor can outlive a killed orchestrator
(they finish their step), so a run counts as alive while any of them lives.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import dagster as dg
import psutil

logger = logging.getLogger(__name__)

RUN_WORKER_TAG = "plumbing/run_worker"
# Start times are compared with this slack: psutil derives them from boot time and clock ticks.
_START_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class Worker:
    host: str
    pid: int
    started: float  # the process's start, epoch seconds

    def tag(self) -> str:
        return f"{self.host}/{self.pid}/{self.started:.2f}"

    @classmethod
    def parse(cls, text: str | None) -> Worker | None:
        parts = (text or "").split("/")
        try:
            return cls(parts[0], int(parts[1]), float(parts[2])) if len(parts) == 3 and parts[0] else None
        except ValueError:
            return None

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def this_host() -> str:
    return socket.gethostname()


def this_worker() -> Worker:
    process = psutil.Process()
    return Worker(this_host(), process.pid, process.create_time())


def process_lives(pid: int, started_by: float) -> bool:
    """Whether process `pid` exists, is not a zombie, and started no later than `started_by`."""
    try:
        process = psutil.Process(pid)
        return (
            process.create_time() <= started_by + _START_SLACK_SECONDS
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def worker_of(run: dg.DagsterRun) -> Worker | None:
    return Worker.parse(run.tags.get(RUN_WORKER_TAG))


def worker_alive(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool | None:
    """True/False for a run tagged with a worker on this host; None when that cannot be known
    (not tagged yet, or tagged by another host)."""
    worker = worker_of(run)
    if worker is None or worker.host != this_host():
        return None
    if process_lives(worker.pid, worker.started):
        return True
    step_starts = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
    for record in step_starts:
        event = record.event_log_entry
        pid = event.dagster_event.pid if event.dagster_event else None
        if pid and pid != worker.pid and process_lives(pid, event.timestamp):
            logger.info("run %s: its worker is gone but step process %d still runs", run.run_id, pid)
            return True
    return False
