"""DuckDB load speed: the IO manager against DuckDB's own `CREATE TABLE AS ... read_parquet`.

    .venv/bin/python -m plumbing_dagster_tests.benchmarks.duckdb_load [--rows N] [--repeat R]

(a) `CREATE TABLE t AS SELECT * FROM read_parquet('<file>')` in a fresh DuckDB file;
(b) `DbIOManager.handle_output` of `WarehouseDuckDBIOManager` writing the same rows (an Arrow table)
    as one daily partition into a fresh DuckDB file: connect, transaction, schema, delete, create,
    insert by name, metadata queries and commit, all timed.
Same 1M rows x 8 columns as `postgres_load`. Last line: `duckdb_load: ratio <b/a> (target <= 2)`.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from plumbing_dagster.io_managers.duckdb import WarehouseDuckDBIOManager
from plumbing_dagster_tests.benchmarks.postgres_load import PARTITION, make_rows


def time_ctas(database: Path, parquet: Path) -> float:
    start = time.perf_counter()
    with duckdb.connect(str(database)) as conn:
        conn.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{parquet}')")
    return time.perf_counter() - start


def time_io_manager(database: Path, rows: pa.Table) -> float:
    io_manager = WarehouseDuckDBIOManager(database=str(database), schema="bench").create_io_manager(
        dg.build_init_resource_context()
    )
    context = dg.build_output_context(
        asset_key=dg.AssetKey(["t"]),
        partition_key=PARTITION,
        asset_partitions_def=dg.DailyPartitionsDefinition(start_date="2026-01-01"),
        definition_metadata={"partition_expr": "partition_date"},
        resource_config={"database": str(database), "connection_config": {}},
    )
    start = time.perf_counter()
    io_manager.handle_output(context, rows)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    out = sys.stdout
    ctas_times, io_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "rows.parquet"
        pq.write_table(rows, parquet)
        for attempt in range(args.repeat):
            ctas_times.append(time_ctas(Path(tmp) / f"ctas_{attempt}.duckdb", parquet))
            database = Path(tmp) / f"io_{attempt}.duckdb"
            io_times.append(time_io_manager(database, rows))
            with duckdb.connect(str(database), read_only=True) as conn:
                count = conn.execute("SELECT count(*) FROM bench.t").fetchone()[0]
            if count != args.rows:
                raise RuntimeError(f"IO manager wrote {count} rows, expected {args.rows}")
            out.write(f"  run {attempt + 1}: CTAS {ctas_times[-1]:.2f} s, IO manager {io_times[-1]:.2f} s\n")
    ctas, io = statistics.median(ctas_times), statistics.median(io_times)
    out.write(f"DuckDB CREATE TABLE AS read_parquet: {ctas:.2f} s; IO manager: {io:.2f} s\n")
    out.write(f"duckdb_load: ratio {io / ctas:.2f} (target <= 2)\n")


if __name__ == "__main__":
    main()
