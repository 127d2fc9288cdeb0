"""A fast process exit: skip the interpreter's last garbage pass where that is safe.

Every Dagster process of this code location (run workers, the code server, CLI commands) imports
~2,800 modules; at exit the interpreter walks all their objects for garbage once more, 0.7-1.5 s
per process (measured). Nothing of ours needs a finalizer at exit — connections and files are
closed where they are used — so objects still alive then are frozen out of that pass.

Not in processes that loaded DuckDB: its extension reports every object it still owns at exit as
a leak (a screenful on stderr), so those processes exit the ordinary way. DuckDB is imported only
where it is used (staging, DuckDB warehouses) so raw steps and Postgres steps keep the fast exit.
"""

from __future__ import annotations

import atexit
import gc
import sys

NOISY_AT_EXIT = ("_duckdb",)


def _freeze_unless_noisy() -> None:
    if not any(module in sys.modules for module in NOISY_AT_EXIT):
        gc.freeze()


def skip_exit_garbage_pass() -> None:
    """Register the exit hook (once per process)."""
    atexit.unregister(_freeze_unless_noisy)
    atexit.register(_freeze_unless_noisy)
