"""The start-up benchmark's floor: what Dagster and dlt cost on their own (see `startup`).

Two pieces, each the cheapest we know of its kind:

- As a code location (`dagster asset materialize -m plumbing_dagster_tests.benchmarks.startup_floor`):
  one daily-partitioned asset in a pool that does nothing, run by the in-process executor, with the
  same process levers as `plumbing_dagster.definitions` (heap frozen while loading, no exit
  garbage pass) and the same instance. No dlt, no pyarrow, no HTTP.
- As a script (`python -m plumbing_dagster_tests.benchmarks.startup_floor <folder>`): a process that
  has imported what a run worker has before its step (Dagster and its storage: SQLAlchemy) imports
  dlt and pyarrow (its parquet writer) and runs dlt's first pipeline: one resource of 194 rows (a
  sandbox day of shop users) to local parquet, configured as our raw steps configure it. Prints
  the seconds that took.
"""

from plumbing_dagster.heap import loaded, loading

loading()

import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import dagster as dg  # noqa: E402

from plumbing_dagster.exit import skip_exit_garbage_pass  # noqa: E402

ROWS = 194


@dg.asset(
    key=["startup_floor", "noop"],
    partitions_def=dg.DailyPartitionsDefinition(start_date="2026-01-01"),
    pool="startup_floor",
)
def noop() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 0})


defs = dg.Definitions(assets=[noop], executor=dg.in_process_executor)

skip_exit_garbage_pass()
loaded()


def first_dlt_pipeline(folder: Path) -> float:
    """Seconds to import dlt and pyarrow and run dlt's first pipeline in this process."""
    import sqlalchemy  # noqa: F401 (a run worker has it before its step starts: Dagster's storage)

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # as plumbing_dagster.raw.landing_run
    start = time.perf_counter()
    import dlt
    import pyarrow  # noqa: F401 (dlt's parquet writer)

    @dlt.resource(name="users")
    def users():  # type: ignore[no-untyped-def]
        yield [{"id": i, "name": f"user {i}", "email": f"user{i}@example.com"} for i in range(ROWS)]

    pipeline = dlt.pipeline(
        pipeline_name="startup_floor",
        pipelines_dir=str(folder / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=str(folder / "landing")),
        dataset_name="floor",
    )
    pipeline.config.restore_from_destination = False
    pipeline.run(users(), loader_file_format="parquet")
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.stdout.write(f"{first_dlt_pipeline(Path(sys.argv[1])):.4f}\n")
