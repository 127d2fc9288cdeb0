"""Long-lived objects out of the cyclic garbage collector's way while a process starts.

A Dagster process of this code location imports ~2,800 modules and builds definitions that live as
long as the process. While it starts, Python's collector runs hundreds of times and finds almost
nothing: its full (generation 2) collections walk every tracked object again each time the heap has
grown by a quarter, 2-3 of them while a `dagster asset materialize` starts, 0.05-0.1 s each
(measured). So:

- `gc.freeze()` moves everything alive to the permanent generation, which collections skip; it
  costs nothing itself. Frozen objects are never collected, so freezing is done only where what is
  alive lives as long as the process anyway: Dagster's and our modules, the instance, the
  definitions.
- While modules load (`loading`), the youngest generation is collected every 50,000 allocations
  instead of every 700; the default comes back when loading is done (`loaded`), so a long-running
  process collects as usual.

Loading is started and ended by the instance class (`plumbing_dagster.instance`: imported before
Dagster imports its storage, ended once the instance is built) and by the code location
(`definitions.py`: its imports and the definitions). Both end what they start, so no process is left
with the raised threshold.

Not in processes that loaded DuckDB: objects it owns that are still alive at exit are reported as
leaks (see `plumbing_dagster.exit`), and frozen objects are still alive at exit.
"""

from __future__ import annotations

import gc
import sys

# Extension modules that report objects still alive at exit as leaks (DuckDB: a screenful).
NOISY_AT_EXIT = ("_duckdb",)

LOADING_THRESHOLD = 50_000
_DEFAULT_THRESHOLDS = gc.get_threshold()


def freeze_long_lived() -> None:
    """Move every object alive now to the permanent generation, unless DuckDB is loaded."""
    if not any(module in sys.modules for module in NOISY_AT_EXIT):
        gc.freeze()


_loading = False


def loading() -> None:
    """Freeze what is alive and collect the youngest generation rarely until `loaded()`."""
    global _loading
    _loading = True
    freeze_long_lived()
    gc.set_threshold(LOADING_THRESHOLD, *_DEFAULT_THRESHOLDS[1:])


def loaded() -> None:
    """Freeze what loading left alive (it lives as long as the process) and collect as usual.

    Only once per `loading()`: a process that builds more instances later (a code server builds
    one per sensor tick) must not freeze what those leave alive, as cycles among frozen objects
    are never collected."""
    global _loading
    if _loading:
        _loading = False
        freeze_long_lived()
        gc.set_threshold(*_DEFAULT_THRESHOLDS)
