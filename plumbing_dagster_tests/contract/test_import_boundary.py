"""Vendor code and the kit stay free of Dagster: a vendor package can be read, tested and reused
without the orchestrator."""

import ast
import subprocess
import sys
from pathlib import Path

import plumbing_dagster

PACKAGE = Path(plumbing_dagster.__file__).parent
DAGSTER_FREE = ["sources", "kit", "contract", "config"]


def test_no_module_under_the_vendor_side_imports_dagster() -> None:
    offenders = []
    for folder in DAGSTER_FREE:
        for module in (PACKAGE / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name == "dagster" or name.startswith(("dagster.", "dagster_")) for name in names):
                    offenders.append(str(module.relative_to(PACKAGE)))
    assert offenders == []


def test_importing_every_vendor_loads_no_dagster() -> None:
    code = (
        "import sys\n"
        "from plumbing_dagster.sources.registry import VENDORS\n"
        "import plumbing_dagster.kit.extract, plumbing_dagster.kit.token_store\n"
        "loaded = [m for m in sys.modules if m == 'dagster' or m.startswith(('dagster.', 'dagster_'))]\n"
        "assert VENDORS and not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(module.relative_to(PACKAGE)): count
        for module in PACKAGE.rglob("*.py")
        if (count := len(module.read_text(encoding="utf-8").splitlines())) > 420
    }
    assert long == {}


def test_loading_the_code_location_imports_only_what_every_process_needs() -> None:
    # Each is loaded where it is used, so a run that does not use it does not pay for it: pandas
    # (0.3 s, 43 MiB) by code that returns a DataFrame, DuckDB by DuckDB steps, psycopg by
    # Postgres sessions, dlt by raw steps, a vendor's emulator by sandbox runs of that vendor
    # (shop's is the exception: its endpoints share the emulator's paths).
    code = (
        "import sys\n"
        "import plumbing_dagster.definitions\n"
        "heavy = ('pandas', 'duckdb', 'psycopg', 'dlt', 'dagster_dlt', 'adbc_driver_postgresql')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "sources = 'plumbing_dagster.sources.'\n"
        "loaded += [m for m in sys.modules if m.startswith(sources) and '.emulator' in m\n"
        "           and not m.startswith(sources + 'shop.')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
