"""Postgres load speed: the IO manager against `psql \\copy` of the same rows.

    .venv/bin/python -m plumbing_dagster_tests.benchmarks.postgres_load [--rows N] [--repeat R]

(a) `psql "$URL" -c "\\copy <table> FROM '<file>.csv' CSV"` into an empty table of the shape the IO
    manager creates (process start included, CSV written beforehand, not timed);
(b) `DbIOManager.handle_output` of `WarehousePostgresIOManager` for one daily partition, built with
    `dg.build_output_context`: connect, advisory lock, schema, delete, CREATE TABLE, COPY, metadata
    queries and commit, all timed. This is the path a `dg.materialize` step takes to write, minus
    dagster's own run/event bookkeeping, which does not depend on the IO manager.

Runs alternate a, b, a, b, ... into fresh tables; the medians are compared. The last line is
`postgres_load: ratio <b/a> (target <= 1.5)`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dagster as dg
import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv

from plumbing_dagster import tables as sql
from plumbing_dagster.io_managers.postgres import WarehousePostgresIOManager
from plumbing_dagster.warehouses.postgres import pg_connect_info_safe

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PARTITION = "2026-11-01"
TARGET_RATIO = 1.5


def make_rows(count: int) -> pa.Table:
    """Two ints, two texts, a float, a timestamptz, a nullable text and the DATE partition."""
    rng = np.random.default_rng(20261101)
    ids = np.arange(count, dtype=np.int64)
    cities = np.array(["Paris", "Lyon", "Berlin, DE", 'Zürich "HB"'], dtype=object)
    return pa.table(
        {
            "id": ids,
            "quantity": rng.integers(0, 10_000, count, dtype=np.int64),
            "customer": pa.array([f"customer-{i:07d}" for i in range(count)], pa.string()),
            "city": pa.array(cities[rng.integers(0, len(cities), count)], pa.string()),
            "amount": rng.random(count) * 1000,
            "updated_at": pa.array(1_793_491_200_000_000 + ids * 37_000, pa.timestamp("us", tz="UTC")),
            "note": pa.array([None if i % 3 else f"note {i}" for i in range(count)], pa.string()),
            "partition_date": pa.array(np.full(count, np.datetime64(PARTITION, "D"))).cast(pa.date32()),
        }
    )


def time_psql_copy(url: str, schema: str, table: str, csv_path: Path) -> float:
    command = f"\\copy {sql.qualified(schema, table)} FROM '{csv_path}' CSV"
    start = time.perf_counter()
    subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command], check=True)
    return time.perf_counter() - start


def time_io_manager(url: str, schema: str, table: str, rows: pa.Table) -> float:
    io_manager = WarehousePostgresIOManager(url=url, schema=schema).create_io_manager(
        dg.build_init_resource_context()
    )
    context = dg.build_output_context(
        asset_key=dg.AssetKey([table]),
        partition_key=PARTITION,
        asset_partitions_def=dg.DailyPartitionsDefinition(start_date="2026-01-01"),
        definition_metadata={"partition_expr": "partition_date"},
    )
    start = time.perf_counter()
    io_manager.handle_output(context, rows)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("PLUMBING_TEST_POSTGRES_URL", DEFAULT_URL))
    args = parser.parse_args(argv)
    out = sys.stdout

    rows = make_rows(args.rows)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    out.write(
        f"postgres_load: {args.rows} rows x {rows.num_columns} columns, "
        f"{pg_connect_info_safe(args.url)}, schema {schema}\n"
    )
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(args.url, autocommit=True) as admin:
        csv_path = Path(tmp) / "rows.csv"
        pa_csv.write_csv(rows, csv_path, pa_csv.WriteOptions(include_header=False))
        admin.execute(f"CREATE SCHEMA {sql.quote(schema)}")
        try:
            # Table shape for psql: what the IO manager creates, taken from a 1-row write.
            time_io_manager(args.url, schema, "shape", rows.slice(0, 1))
            psql_times: list[float] = []
            io_times: list[float] = []
            for attempt in range(args.repeat):
                psql_table, io_table = f"psql_{attempt}", f"io_{attempt}"
                admin.execute(
                    f"CREATE TABLE {sql.qualified(schema, psql_table)} "
                    f"(LIKE {sql.qualified(schema, 'shape')})"
                )
                admin.execute("CHECKPOINT")
                psql_times.append(time_psql_copy(args.url, schema, psql_table, csv_path))
                admin.execute("CHECKPOINT")
                io_times.append(time_io_manager(args.url, schema, io_table, rows))
                out.write(
                    f"  run {attempt + 1}: psql \\copy {psql_times[-1]:.2f} s, "
                    f"IO manager {io_times[-1]:.2f} s\n"
                )
                for table in (psql_table, io_table):
                    count = admin.execute(f"SELECT count(*) FROM {sql.qualified(schema, table)}").fetchone()
                    if count is None or count[0] != args.rows:
                        raise RuntimeError(f"{table} holds {count} rows, expected {args.rows}")
                differing = admin.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {sql.qualified(schema, psql_table)} "
                    f"EXCEPT ALL SELECT * FROM {sql.qualified(schema, io_table)}) AS d"
                ).fetchone()
                if differing is None or differing[0] != 0:
                    raise RuntimeError(f"{io_table} differs from {psql_table}: {differing}")
        finally:
            admin.execute(f"DROP SCHEMA {sql.quote(schema)} CASCADE")

    psql_median = statistics.median(psql_times)
    io_median = statistics.median(io_times)
    out.write(f"psql \\copy (median): {psql_median:.2f} s\n")
    out.write(f"IO manager (median): {io_median:.2f} s\n")
    out.write(f"postgres_load: ratio {io_median / psql_median:.2f} (target <= {TARGET_RATIO})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
