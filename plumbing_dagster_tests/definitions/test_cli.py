"""The commands a data engineer types: validate the code location, materialize a partition."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR

REPOSITORY = DEFAULT_DAG_DIR.parent
BIN = Path(sys.executable).parent


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PLUMBING_DATA_DIR": str(tmp_path / "data"),
        "PLUMBING_ENV": "sandbox",
        **env,
    }
    return subprocess.run(
        args, cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=300, check=False
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
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "plumbing_dagster.definitions",
        "--select",
        "raw/shop/orders,staging/shop/orders",
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
    assert len(tables[0]) > 1000
    assert tables[0] == tables[1]
