"""What keeps a Dagster process of this code location quick to start (see the `startup`
benchmark): each check runs in a fresh interpreter, as a run worker or a CLI command starts."""

import subprocess
import sys


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_code_location_s_objects_are_frozen_out_of_the_garbage_collector() -> None:
    # Full collections would walk them again and again while the process starts (plumbing_dagster.heap).
    result = _python(
        "import gc\n"
        "import plumbing_dagster.definitions\n"
        "assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_nothing_is_frozen_in_a_process_that_loaded_duckdb() -> None:
    # DuckDB reports objects still alive at exit as leaks; frozen objects are alive at exit.
    result = _python(
        "import gc\nimport duckdb\nimport plumbing_dagster.definitions\nassert gc.get_freeze_count() == 0\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "leak" not in result.stderr.lower(), result.stderr[-2000:]


def test_raw_steps_send_no_dlt_telemetry() -> None:
    result = _python(
        "import os\n"
        "os.environ.pop('RUNTIME__DLTHUB_TELEMETRY', None)\n"
        "import plumbing_dagster.raw.landing_run\n"
        "from dlt.common.configuration.resolve import resolve_configuration\n"
        "from dlt.common.configuration.specs import RuntimeConfiguration\n"
        "assert resolve_configuration(RuntimeConfiguration()).dlthub_telemetry is False\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
