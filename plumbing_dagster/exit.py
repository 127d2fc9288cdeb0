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

from plumbing_dagster.heap import freeze_long_lived


def skip_exit_garbage_pass() -> None:
    """Register the exit hook (once per process): what is alive then is frozen, unless DuckDB is
    loaded (`heap.NOISY_AT_EXIT`)."""
    atexit.unregister(freeze_long_lived)
    atexit.register(freeze_long_lived)
