"""The commands a data engineer types: validate the code location, materialize a partition."""

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.sandbox import compile_package
from plumbing_dagster.sources.shop import ShopWorld
from plumbing_dagster_tests.conftest import sandbox_env

REPOSITORY = DEFAULT_DAG_DIR.parent
BIN = Path(sys.executable).parent
MATERIALIZE = [str(BIN / "dagster"), "asset", "materialize", "-m", "plumbing_dagster.definitions"]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=REPOSITORY,
        env=sandbox_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_definitions_validate(tmp_path: Path):
    result = _run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_unknown_environment_fails_at_load(tmp_path: Path):
    result = _run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        tmp_path,
        PLUMBING_ENV="staging",
    )
    assert result.returncode != 0
    assert (
        "PLUMBING_ENV='staging' is not an environment; use one of sandbox, prod"
        in result.stdout + result.stderr
    )


@pytest.mark.parametrize("runs", [2])
def test_materialize_a_partition_from_the_command_line_twice(tmp_path: Path, runs: int):
    command = [
        *MATERIALIZE,
        "--select",
        "raw/shop/orders_landed,staging/shop/orders",
        "--partition",
        "2026-11-01",
    ]
    tables = []
    for _ in range(runs):
        result = _run(command, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
            tables.append(conn.execute("SELECT * FROM shop.orders ORDER BY id").fetchall())
    day = tmp_path / "data" / "landing" / "shop" / "orders" / "year=2026" / "month=11" / "day=01"
    assert len(list(day.glob("*.parquet"))) == 1
    start = datetime(2026, 11, 1, tzinfo=UTC)
    expected = ShopWorld().orders_updated_between(start, start + timedelta(days=1))
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM shop.orders ORDER BY id").fetchall()]
    assert ids == sorted(order["id"] for order in expected) and len(ids) > 1000
    assert tables[0] == tables[1]


def _days_in_warehouse(tmp_path: Path) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(
            "SELECT partition_date, count(*) FROM shop.orders GROUP BY 1 ORDER BY 1"
        ).fetchall()


def _day_folders(tmp_path: Path) -> list[str]:
    month = tmp_path / "data" / "landing" / "shop" / "orders" / "year=2026" / "month=10"
    return sorted(p.name for p in month.glob("day=*") if any(p.glob("*.parquet")))


def test_a_seven_day_range_from_the_command_line_is_one_run(tmp_path: Path):
    result = _run(
        [
            *MATERIALIZE,
            "--select",
            "raw/shop/orders_landed,staging/shop/orders",
            "--partition-range",
            "2026-10-01...2026-10-07",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("RUN_SUCCESS") == 1
    assert _day_folders(tmp_path) == [f"day=0{d}" for d in range(1, 8)]
    assert [str(day) for day, _ in _days_in_warehouse(tmp_path)] == [f"2026-10-0{d}" for d in range(1, 8)]


def test_dagster_job_backfill_lands_one_run_per_day_through_the_daemon(tmp_path: Path):
    """`dagster job backfill` queues one run per day; the daemon (as in `dagster dev`) runs them.
    Three days show it (each run is a process of its own: ~9 s a day on 2 cores).

    (An asset backfill from the UI follows the single-run backfill policy instead: one run.)"""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((REPOSITORY / "dagster.yaml").read_text())
    backfill = _run(
        [
            str(BIN / "dagster"),
            "job",
            "backfill",
            "-m",
            "plumbing_dagster.definitions",
            "-j",
            "shop_daily",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03",
            "--noprompt",
        ],
        tmp_path,
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    assert "Launched backfill job" in backfill.stdout + backfill.stderr

    environment = sandbox_env(tmp_path)
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "plumbing_dagster.definitions"],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = instance.get_runs()
            if len(runs) == 3 and all(r.is_finished for r in runs):
                break
            time.sleep(1)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    runs = instance.get_runs()
    assert sorted(r.tags["dagster/partition"] for r in runs) == [f"2026-10-0{d}" for d in range(1, 4)]
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert _day_folders(tmp_path) == [f"day=0{d}" for d in range(1, 4)]
    assert [str(day) for day, _ in _days_in_warehouse(tmp_path)] == [f"2026-10-0{d}" for d in range(1, 4)]


def test_two_days_of_one_source_land_at_the_same_time_without_colliding(tmp_path: Path):
    environment = sandbox_env(tmp_path)
    # Create the shared instance's storage first: two processes creating SQLite tables at once race.
    dg.DagsterInstance.from_ref(InstanceRef.from_dir(environment["DAGSTER_HOME"])).dispose()
    runs = [
        subprocess.Popen(
            [
                *MATERIALIZE,
                "--select",
                "raw/shop/orders_landed,raw/shop/users_landed",
                "--partition",
                day,
            ],
            cwd=REPOSITORY,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day in ("2026-10-01", "2026-10-02")
    ]
    for run in runs:
        _, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors[-3000:]
    assert _day_folders(tmp_path) == ["day=01", "day=02"]
    landing = tmp_path / "data" / "landing"
    for day in ("2026-10-01", "2026-10-02"):
        for stream in ("orders", "users"):
            manifest = json.loads(
                (landing / "_manifests" / "current" / "shop" / stream / f"{day}.json").read_text()
            )
            assert manifest["rows"] > 0 and len(manifest["files"]) == 1
            assert (landing / manifest["files"][0]).exists()


def test_the_sandbox_writes_the_package_bytecode_even_where_python_would_not(tmp_path: Path):
    # Run workers, code server and daemon then load compiled modules even under
    # PYTHONDONTWRITEBYTECODE (which only stops Python from writing bytecode, not from reading it).
    package = tmp_path / "package"
    (package / "inner").mkdir(parents=True)
    for module in (package / "__init__.py", package / "inner" / "__init__.py", package / "inner" / "m.py"):
        module.write_text("VALUE = 1\n")
    compile_package(package)
    for module in package.rglob("*.py"):
        assert Path(importlib.util.cache_from_source(str(module))).exists(), module
    compile_package(package)  # up to date: nothing to do, nothing fails


def test_the_readme_sandbox_command_serves_the_ui(tmp_path: Path):
    """`plumbing sandbox` (the README's first command, after `uv run`) answers on its port, says
    so only once it does, and without the warnings the project triggers on purpose."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = sandbox_env(tmp_path)
    server = subprocess.Popen(
        [str(BIN / "plumbing"), "sandbox", "--port", str(port)],
        cwd=REPOSITORY,
        env=environment,
        stdout=(tmp_path / "sandbox.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # dagster dev starts a webserver, a daemon and a code server
        # As a script's background job (`plumbing sandbox &`) starts it: SIGINT ignored, inherited.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 150
        answer = None
        while time.monotonic() < deadline and answer is None:
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(
                        f"http://127.0.0.1:{port}/graphql",
                        data=json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode(),
                        headers={"Content-Type": "application/json"},
                    ),
                    timeout=5,
                ) as response:
                    answer = json.loads(response.read())
            except (OSError, ValueError):
                time.sleep(2)
        ready = f"Dagster UI ready on http://127.0.0.1:{port}"
        while time.monotonic() < deadline and ready not in (tmp_path / "sandbox.log").read_text():
            time.sleep(0.5)  # the supervisor polls the UI every half second
        server.send_signal(signal.SIGTERM)  # to the supervisor alone: it stops dagster dev
        stopped = server.wait(timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left (nothing, when it worked)
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    log = (tmp_path / "sandbox.log").read_text()
    assert stopped == 0 and "Dagster services shut down" in log, log[-3000:]
    assert answer is not None, f"the Dagster UI did not answer:\n{log[-3000:]}"
    assert ready in log
    for on_purpose in ("is superseded", "will not be used", "BetaWarning", "PreviewWarning"):
        assert on_purpose not in log, f"{on_purpose!r} in the sandbox's output:\n{log[-3000:]}"
    keys = {"/".join(node["assetKey"]["path"]) for node in answer["data"]["assetNodes"]}
    assert {"raw/shop/orders_landed", "staging/jortt/invoices", "marts/shop/order_lines"} <= keys
    assert (Path(environment["DAGSTER_HOME"]) / "dagster.yaml").read_text() == (
        REPOSITORY / "dagster.yaml"
    ).read_text()
