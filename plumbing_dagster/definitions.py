"""The code location Dagster loads (`-m plumbing_dagster.definitions`, `workspace.yaml`): `defs`,
built once by `code_location.build_definitions`."""

from plumbing_dagster.heap import loaded, loading

loading()  # the modules imported below and the definitions live as long as the process (heap.py)

from plumbing_dagster.code_location import build_definitions  # noqa: E402 (after loading())
from plumbing_dagster.exit import skip_exit_garbage_pass  # noqa: E402

defs = build_definitions()

skip_exit_garbage_pass()
loaded()

__all__ = ["build_definitions", "defs"]
