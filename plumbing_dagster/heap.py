"""Long-lived objects out of the cyclic garbage collector's way.

A Dagster process of this code location imports ~2,800 modules and builds definitions that live as
long as the process. Python's full (generation 2) collections walk every tracked object again each
time the heap has grown by a quarter: 2-3 of them while a `dagster asset materialize` starts, 0.1-
0.2 s each (measured). `gc.freeze()` moves everything alive to the permanent generation, which
collections skip; it costs nothing itself. Frozen objects are never collected, so freezing is done
only where what is alive lives as long as the process anyway: when this package is first imported
(Dagster's modules) and when the code location has been built (`definitions.py`).

Not in processes that loaded DuckDB: objects it owns that are still alive at exit are reported as
leaks (see `plumbing_dagster.exit`), and frozen objects are still alive at exit.
"""

from __future__ import annotations

import gc
import sys

from plumbing_dagster.exit import NOISY_AT_EXIT


def freeze_long_lived() -> None:
    """Move every object alive now to the permanent generation, unless DuckDB is loaded."""
    if not any(module in sys.modules for module in NOISY_AT_EXIT):
        gc.freeze()
