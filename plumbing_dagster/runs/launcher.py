"""`LocalRunLauncher`: Dagster's DefaultRunLauncher plus a health check for run monitoring.

With `run_monitoring: enabled` the daemon asks the launcher, every `poll_interval_seconds`, whether
each started run's worker still lives, and fails the run when it does not; then, after
`free_slots_after_run_end_seconds`, it frees the run's pool slots. The DefaultRunLauncher (1.13)
cannot answer, so Dagster skips the check and a killed run stays "started" forever. Here the
answer comes from the worker tag (`runs/workers.py`): a run of this host whose process is gone is
FAILED; anything that cannot be judged here (another host, no tag yet) counts as RUNNING.

For the daemon, webserver and run workers on one machine (the sandbox, a one-machine production);
the Docker and Kubernetes run launchers bring their own health checks.
"""

from __future__ import annotations

from dagster import DagsterRun, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

from plumbing_dagster.runs.workers import worker_alive, worker_of


class LocalRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        alive = worker_alive(self._instance, run)
        if alive is False:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker {worker_of(run)} is gone")
        return CheckRunHealthResult(WorkerStatus.RUNNING, "" if alive else "not judged from this host")
