"""Backfill cost: one run over 30 days against a one-day run (shop orders, raw + staging + checks).

    .venv/bin/python -m plumbing_dagster_tests.benchmarks.backfill [--days 30]

Both are single Dagster runs on the sandbox (a range run is what one backfill chunk executes).
Last line: `backfill: ratio <30-day wall time / 1-day wall time> for <N> days`.
"""

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from plumbing_dagster.environments import load_environment
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster_tests.conftest import definitions_for, materialize

SELECTION = ["raw/shop/orders_landed", "staging/shop/orders"]
FIRST_DAY = date(2026, 9, 1)


def timed_run(data_dir: Path, first: date, last: date) -> float:
    environment = load_environment(VENDORS, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(data_dir)})
    defs = definitions_for(environment)
    start = time.perf_counter()
    if first == last:
        result = materialize(defs, SELECTION, partition_key=first.isoformat())
    else:
        result = materialize(defs, SELECTION, partition_range=(first.isoformat(), last.isoformat()))
    elapsed = time.perf_counter() - start
    assert result.success
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    last = FIRST_DAY + timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        timed_run(Path(tmp) / "warmup", FIRST_DAY, FIRST_DAY)  # imports, first dlt pipeline
        one_day = timed_run(Path(tmp) / "one", FIRST_DAY, FIRST_DAY)
        many = timed_run(Path(tmp) / "many", FIRST_DAY, last)
    out = sys.stdout
    out.write(f"1 day: {one_day:.2f} s; {args.days} days in one run: {many:.2f} s\n")
    out.write(f"backfill: ratio {many / one_day:.2f} for {args.days} days\n")


if __name__ == "__main__":
    main()
