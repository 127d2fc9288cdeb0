"""`plumbing sandbox`: `dagster dev` on the offline sandbox, started so its output is true.

- The instance lives in `$DAGSTER_HOME` (default `.dagster_home/`), with the repository's
  `dagster.yaml` copied in on every start; `dagster dev` runs *in* that folder, so it does not
  warn that a `dagster.yaml` in the current folder "will not be used".
- The workspace and the data folder are passed as absolute paths, so the runs' processes find
  them whatever their working folder.
- The URL is printed when the UI answers, not when the server starts to boot (the first start
  loads every code location first: tens of seconds on a slow machine).
- This package's bytecode is written first (`compile_package`): uv compiles the installed
  dependencies, but this package is installed editable, from the repository, and where
  PYTHONDONTWRITEBYTECODE is set (containers often set it) every Dagster process would compile
  its ~160 modules again (~0.3 s of CPU per run, measured).
- `dagster dev` is superseded by `dg dev`, which needs a `dg` project layout we do not use; its
  warning is filtered here, and only it.

Hand-written rather than `os.exec` of `dagster dev`: something must watch for the UI answering.
"""

from __future__ import annotations

import compileall
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

logger = logging.getLogger("plumbing")

# Warnings of `dagster dev` we trigger on purpose: PYTHONWARNINGS syntax (message prefix, literal).
DEV_WARNINGS = ("ignore:Function `dev_command` is superseded",)
READY_POLL_SECONDS = 0.5


def _dagster_executable() -> str:
    """The `dagster` of this environment, even when its bin folder is not on PATH."""
    beside = Path(sys.executable).parent / "dagster"
    return str(beside) if beside.exists() else shutil.which("dagster") or "dagster"


def compile_package(folder: Path = Path(__file__).parent) -> None:
    """Write the missing or stale bytecode (`__pycache__`) of this package (or of `folder`); when it
    is up to date, this only stats the files. Silent where the folder is not writable (an
    installed wheel, compiled at install)."""
    if not compileall.compile_dir(folder, quiet=2):
        logger.debug("could not write all the bytecode of %s", folder)


def sandbox_environment(repository: Path, home: Path, environ: dict[str, str]) -> dict[str, str]:
    env = dict(environ)
    env["DAGSTER_HOME"] = str(home)
    env.setdefault("PLUMBING_ENV", "sandbox")
    env["PLUMBING_DATA_DIR"] = str(Path(env.get("PLUMBING_DATA_DIR") or repository / "data").resolve())
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS", ""), *DEV_WARNINGS]))
    return env


def ui_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def run_sandbox(repository: Path, host: str, port: int) -> int:
    """Run `dagster dev` until it exits or this process is told to stop; its exit code."""
    home = Path(os.environ.get("DAGSTER_HOME") or repository / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    # The repository's dagster.yaml is the instance config: copied on every start so edits apply.
    shutil.copyfile(repository / "dagster.yaml", home / "dagster.yaml")
    env = sandbox_environment(repository, home, dict(os.environ))
    compile_package()
    command = [
        _dagster_executable(), "dev", "-w", str(repository / "workspace.yaml"), "-h", host, "-p", str(port),
    ]  # fmt: skip
    url = f"http://{host}:{port}"
    logger.info("starting the Dagster UI (instance %s, data %s) ...", home, env["PLUMBING_DATA_DIR"])
    started = time.monotonic()
    # Started in the background by a script (`plumbing sandbox &`), we inherit SIGINT ignored, and
    # an ignored signal stays ignored in children: dagster dev would then ignore Ctrl-C and, as it
    # maps TERM onto INT's handler, TERM too — and never stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command, cwd=home, env=env)
    # Ctrl-C reaches the whole terminal group, dagster dev included, which shuts down its own
    # processes; a TERM sent to us alone is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    announced = False
    while child.poll() is None:
        if not announced and ui_answers(url):
            logger.info("Dagster UI ready on %s (started in %.0f s)", url, time.monotonic() - started)
            announced = True
        time.sleep(READY_POLL_SECONDS if not announced else 1.0)
    return child.returncode
