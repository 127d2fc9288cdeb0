"""What keeps a Dagster process of this code location quick to start (see the `startup`
benchmark): each check runs in a fresh interpreter, as a run worker or a CLI command starts."""

import shutil
import subprocess
import sys
from pathlib import Path

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster_tests.conftest import sandbox_env

REPOSITORY = DEFAULT_DAG_DIR.parent


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def test_the_code_location_s_objects_are_frozen_out_of_the_garbage_collector() -> None:
    # Full collections would walk them again and again while the process starts (plumbing_dagster.heap).
    result = _python(
        "import gc\n"
        "import plumbing_dagster.definitions\n"
        "assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_code_location_leaves_the_collector_as_it_found_it() -> None:
    # The raised threshold is for loading only; a long-running process collects as usual.
    result = _python(
        "import gc\n"
        "before = gc.get_threshold()\n"
        "import plumbing_dagster.definitions\n"
        "assert gc.get_threshold() == before, (gc.get_threshold(), before)\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]


# Dagster's storage imports SQLAlchemy; the heap must be frozen before that, and loading over once
# the instance is built. Builds the instance Dagster builds from the sandbox's `dagster.yaml`; a
# change of Dagster's instance-class protocol (`config_schema`, `config_defaults`) breaks it.
INSTANCE_LOADS_WITH_THE_HEAP_FROZEN = """
import gc, sys
default = gc.get_threshold()
frozen_with_sqlalchemy = []
freeze = gc.freeze
gc.freeze = lambda: (frozen_with_sqlalchemy.append("sqlalchemy" in sys.modules), freeze())[1]
import dagster as dg
instance = dg.DagsterInstance.get()
assert type(instance).__module__ + "." + type(instance).__qualname__ == "plumbing_dagster.instance.Instance"
assert frozen_with_sqlalchemy[0] is False, frozen_with_sqlalchemy
assert "sqlalchemy" in sys.modules
assert gc.get_threshold() == default, (gc.get_threshold(), default)
assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()
freezes = len(frozen_with_sqlalchemy)
dg.DagsterInstance.get().dispose()  # as a code server builds one per sensor tick
assert len(frozen_with_sqlalchemy) == freezes, "a later instance froze what it left alive"
assert gc.get_threshold() == default
"""


def test_the_instance_is_built_with_the_heap_frozen_before_dagster_s_storage_loads(
    tmp_path: Path,
) -> None:
    # The production config names the same class (test_production_instance.py builds it).
    shutil.copyfile(REPOSITORY / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {**sandbox_env(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = _python(INSTANCE_LOADS_WITH_THE_HEAP_FROZEN, env)
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
