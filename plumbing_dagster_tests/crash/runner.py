"""Runs of the sandbox in real processes, through the crash worker, on one test instance."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster_tests.conftest import sandbox_env

REPOSITORY = DEFAULT_DAG_DIR.parent
RUN_TIMEOUT_SECONDS = 300


def materialize_args(select: Sequence[str], day: str) -> list[str]:
    return [
        *("asset", "materialize", "-m", "plumbing_dagster.definitions"),
        *("--select", ",".join(select), "--partition", day),
    ]


@dataclass
class Sandbox:
    """A sandbox whose instance (the repository's dagster.yaml) and data live in `folder`."""

    folder: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = sandbox_env(self.folder, **self.env)
        shutil.copyfile(REPOSITORY / "dagster.yaml", self.home / "dagster.yaml")
        # Create the instance's storage once: processes creating SQLite tables at once race.
        self.instance().dispose()

    @property
    def home(self) -> Path:
        return Path(self.env["DAGSTER_HOME"])

    @property
    def data(self) -> Path:
        return Path(self.env["PLUMBING_DATA_DIR"])

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

    def command(self, args: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "plumbing_dagster_tests.crash.worker", *args]

    def start(self, args: Sequence[str], log: Path, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(args),
            cwd=REPOSITORY,
            env={**self.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )

    def run(self, args: Sequence[str], **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(args),
            cwd=REPOSITORY,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
