"""Landing sensor tick cost against the number of files already landed, on a moto S3 server
(run in its own process, as S3 is to the Dagster daemon).

    .venv/bin/python -m plumbing_dagster_tests.benchmarks.sensor_tick [--old N] [--repeat R]

Two buckets: one with 200 manifest-log entries already landed, one with 20,000 (`--old`). The old
entries are stamped a quarter hour apart before the run (20,000 is about seven months of
landings), as a long-running landing zone has them, all older than the sensor's look-back
window. Then 10 days are published with
`LandingZone.publish` (current manifest + log entry, stamped now) into each bucket, and a full
sensor tick (`evaluate_tick`, run requests resolved against the definitions, fingerprints checked
against an instance) is timed with the cursor positioned on the last old entry. Ticks alternate
small, large, small, ...; the medians are compared. For contrast, one full listing of the log
prefix is also timed (what a list-everything-and-filter sensor pays every tick).

The last line is `sensor_tick: ratio <large/small> (target <= 1.5)`.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.io_managers.duckdb import WarehouseDuckDBIOManager
from plumbing_dagster.landing import LandingZone, Manifest
from plumbing_dagster.landing.listing import list_after
from plumbing_dagster.partitions import daily_partitions
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster.sensors import build_landing_sensor
from plumbing_dagster.staging.assets import build_staging_asset
from plumbing_dagster_tests.s3 import landing_on_bucket, s3_client

SOURCE = "shop"
STREAM = "orders"
ROOT = "raw"
NEW = 10
SMALL = 200
TARGET_RATIO = 1.5


@contextmanager
def moto_server_process() -> Iterator[str]:
    """A moto S3 server in its own process, as S3 is to the daemon: its in-memory store of 20,000
    objects and its request handling then do not share this process's GIL and garbage collector
    with the timed tick. Yields the endpoint URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def land_old_entries(endpoint_url: str, bucket: str, count: int, newest: datetime) -> str:
    """`count` log entries stamped 15 minutes apart up to `newest` (a landing every quarter hour:
    20,000 entries are about seven months of history); returns the last key."""
    client = s3_client(endpoint_url)
    keys: list[str] = []
    bodies: list[bytes] = []
    for i in range(count):
        stamp = newest - timedelta(minutes=15 * (count - 1 - i))
        day = date(2026, 1, 1) + timedelta(days=i % 300)
        load_id = f"{stamp.timestamp():.6f}"
        manifest = Manifest(
            source=SOURCE,
            stream=STREAM,
            day=f"{day:%Y-%m-%d}",
            load_id=load_id,
            files=[f"{LandingZone.day_folder(SOURCE, STREAM, day)}/{load_id}.0.parquet"],
            rows=1,
            written_at=stamp.isoformat(),
        )
        keys.append(log_key(stamp, load_id, day))
        bodies.append(manifest.to_json().encode("utf-8"))

    def put(index: int) -> None:
        client.put_object(Bucket=bucket, Key=f"{ROOT}/{keys[index]}", Body=bodies[index])

    # Many small PUTs: threads overlap the HTTP round trips (boto3 clients are thread-safe).
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(put, range(count)))
    return sorted(keys)[-1]


def log_key(stamp: datetime, load_id: str, day: date) -> str:
    return LandingZone.log_key(SOURCE, stamp, load_id, STREAM, day)


def prepare(endpoint_url: str, old: int) -> tuple[LandingZoneResource, str]:
    """A bucket with `old` entries landed before and NEW published now; the cursor between."""
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint_url).create_bucket(Bucket=bucket)
    # Old entries end 20 minutes ago: outside the 10-minute look-back window, as in steady state.
    newest = datetime.now(UTC) - timedelta(minutes=20)
    last_old = land_old_entries(endpoint_url, bucket, old, newest)
    landing = landing_on_bucket(endpoint_url, bucket, ROOT)
    zone = landing.zone()
    for i in range(NEW):
        day = date(2026, 11, 1) + timedelta(days=i)
        load_id = f"{time.time():.6f}"
        files = [f"{LandingZone.day_folder(SOURCE, STREAM, day)}/{load_id}.0.parquet"]
        zone.publish(SOURCE, STREAM, day, load_id, files, 1)
    feeds = {f"{LandingZone.log_prefix(SOURCE)}/": {"after": last_old, "seen": []}}
    return landing, json.dumps({"version": 1, "feeds": feeds})


def time_tick(
    sensor: dg.SensorDefinition, defs: dg.Definitions, landing: LandingZoneResource, cursor: str
) -> float:
    with dg.DagsterInstance.ephemeral() as instance:
        with dg.build_sensor_context(
            cursor=cursor, resources={"landing": landing}, instance=instance, definitions=defs
        ) as context:
            started = time.perf_counter()
            data = sensor.evaluate_tick(context)
            elapsed = time.perf_counter() - started
    found = len(data.run_requests or [])
    if found != NEW:
        raise RuntimeError(f"expected {NEW} run requests, got {found}")
    return elapsed


def time_listing(landing: LandingZoneResource, start_after: str | None) -> tuple[float, int]:
    """One StartAfter listing: of the cursor's write-date folder (what a tick lists), or without a
    cursor of the whole log prefix (what a list-everything sensor lists)."""
    prefix = f"{LandingZone.log_prefix(SOURCE)}/"
    if start_after is not None:
        prefix += start_after[len(prefix) : len(prefix) + 9]  # "<YYYYMMDD>/"
    started = time.perf_counter()
    keys = list_after(landing.zone(), prefix, start_after)
    return time.perf_counter() - started, len(keys)


def report(label: str, times: list[float]) -> str:
    median, low, high = statistics.median(times), min(times), max(times)
    spread = f"(min {low * 1000:.1f}, max {high * 1000:.1f})"
    return f"{label}: median {median * 1000:7.1f} ms {spread}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, default=20_000, help="entries landed (large case)")
    parser.add_argument("--repeat", type=int, default=15, help="timed ticks per case")
    args = parser.parse_args()

    with moto_server_process() as endpoint_url:
        started = time.perf_counter()
        small, small_cursor = prepare(endpoint_url, SMALL)
        large, large_cursor = prepare(endpoint_url, args.old)
        elapsed = time.perf_counter() - started
        sys.stdout.write(f"landed {SMALL} + {args.old} old entries in {elapsed:.1f} s\n")

        configs = load_stream_configs(DEFAULT_DAG_DIR)[SOURCE]
        partitions = daily_partitions(date(2026, 1, 1))
        sensor = build_landing_sensor(SOURCE, configs, partitions)
        with tempfile.TemporaryDirectory() as folder:
            warehouse = WarehouseDuckDBIOManager(database=str(Path(folder) / "w.duckdb"))
            streams = configs.values()
            staging = [build_staging_asset(SOURCE, c, partitions, "duckdb") for c in streams]
            defs = dg.Definitions(
                assets=staging,
                sensors=[sensor],
                resources={"landing": small, "duckdb_io_manager": warehouse},
            )
            time_tick(sensor, defs, small, small_cursor)  # warm-up: imports, connections
            time_tick(sensor, defs, large, large_cursor)
            small_times, large_times = [], []
            for _ in range(args.repeat):  # alternate, so drift affects both alike
                small_times.append(time_tick(sensor, defs, small, small_cursor))
                large_times.append(time_tick(sensor, defs, large, large_cursor))

        # The listing request a tick makes (its write-date folder), alone: what the store charges.
        small_after = json.loads(small_cursor)["feeds"][f"{LandingZone.log_prefix(SOURCE)}/"]
        large_after = json.loads(large_cursor)["feeds"][f"{LandingZone.log_prefix(SOURCE)}/"]
        small_lists = [time_listing(small, small_after["after"])[0] for _ in range(args.repeat)]
        large_lists = [time_listing(large, large_after["after"])[0] for _ in range(args.repeat)]
        small_full, small_keys = time_listing(small, None)
        large_full, large_keys = time_listing(large, None)

        small_median = statistics.median(small_times)
        large_median = statistics.median(large_times)
        cases = ((SMALL, small_times, small_lists), (args.old, large_times, large_lists))
        for landed, ticks, lists in cases:
            sys.stdout.write(report(f"tick finding {NEW} new among {landed:>6} landed", ticks))
            sys.stdout.write(report(f"  its date-folder listing,    {landed:>6} landed", lists))
        sys.stdout.write(
            f"for contrast, listing the whole log prefix: {small_full * 1000:.1f} ms ({small_keys} "
            f"keys), {large_full * 1000:.1f} ms ({large_keys} keys)\n"
        )
        ratio = large_median / small_median
        sys.stdout.write(f"sensor_tick: ratio {ratio:.2f} (target <= {TARGET_RATIO})\n")


if __name__ == "__main__":
    main()
