"""Worker tags for runs a test makes up: of a process that lives, of one that is gone."""

from __future__ import annotations

import subprocess

import psutil

from plumbing_dagster.runs.workers import RUN_WORKER_TAG, Worker, this_host, this_worker


def dead_worker() -> Worker:
    """The worker identity of a process that ran on this host and was killed."""
    process = subprocess.Popen(["sleep", "60"])
    worker = Worker(this_host(), process.pid, psutil.Process(process.pid).create_time())
    process.kill()
    process.wait()
    return worker


def worker_tags(worker: Worker | None = None) -> dict[str, str]:
    return {RUN_WORKER_TAG: (worker or this_worker()).tag()}
