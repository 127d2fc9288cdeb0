"""`plumbing new-source demo` in a copy of the repository: the scaffolded vendor loads, lands and
stages a sandbox day, passes the vendor-contract suite, and touches nothing but its own folder
and its `dag/` files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from plumbing_dagster.config import DEFAULT_DAG_DIR

REPOSITORY = DEFAULT_DAG_DIR.parent
BIN = Path(sys.executable).parent


def _copy_repository(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for relative in listed:
        source = REPOSITORY / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)


def _files(root: Path) -> dict[str, float]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    }


def test_a_scaffolded_source_loads_lands_a_day_and_passes_the_vendor_contract(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    _copy_repository(copy)
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),  # this copy's package, not the installed one
        "PLUMBING_ENV": "sandbox",
        "PLUMBING_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, cwd=copy, env=env, capture_output=True, text=True, timeout=600, check=False
        )

    before = _files(copy)
    made = run(sys.executable, "-m", "plumbing_dagster.cli", "new-source", "demo")
    assert made.returncode == 0, made.stderr[-3000:]
    after = _files(copy)
    changed = sorted(path for path in after if before.get(path) != after[path])
    assert changed and all(
        path.startswith(("plumbing_dagster/sources/demo/", "dag/sources/demo/", "dag/streams/demo/"))
        for path in changed
    ), changed
    assert set(before) <= set(after)  # nothing removed

    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    landed = run(
        str(BIN / "dagster"), "asset", "materialize", "-m", "plumbing_dagster.definitions",
        "--select", "raw/demo/items_landed,staging/demo/items", "--partition", day,
    )  # fmt: skip
    assert landed.returncode == 0, landed.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        count, first, last = conn.execute(
            "SELECT count(*), min(updated_at), max(updated_at) FROM demo.items"
        ).fetchone()
    assert count > 50 and first.date().isoformat() == day == last.date().isoformat()

    suite = run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "plumbing_dagster_tests/contract/test_vendor_contract.py", "-k", "demo",
    )  # fmt: skip
    assert suite.returncode == 0, suite.stdout[-3000:]
    assert " passed" in suite.stdout and "failed" not in suite.stdout
