"""Extract benchmark: landing a day of N shop orders through the raw asset vs only fetching it.

    python -m plumbing_dagster_tests.benchmarks.extract [--orders 200000] [--repeat 2]

Both sides talk to the same emulator over loopback with the same client and page size; the
emulator runs in its own process, as a real API would. The baseline fetches every page with the
shop client and parses it (`json.loads`, the client's ordinary path), nothing else. The raw side
is the duration of the `raw_shop` step of a real Dagster run (pages parsed straight into Arrow by
pyarrow's JSON reader → dlt → parquet → manifest). Because that parsing is faster than
`json.loads`, the raw asset can beat the baseline; so the script also times fetching with the
Arrow parsing alone and prints that ratio, which is the landing overhead proper. The day is
generated once before timing so both sides are served from the emulator's cache.
"""

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.environments import load_environment
from plumbing_dagster.keys import raw_key
from plumbing_dagster.kit import Extract, Window
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.resources import VendorApisResource
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.sources.shop import ShopEmulator
from plumbing_dagster_tests.conftest import definitions_for

DAY = date(2026, 10, 14)


ORDERS_FIELDS = load_stream_configs(DEFAULT_DAG_DIR)["shop"]["orders"].fields


def fetch_only(url: str, arrow: bool) -> tuple[float, int]:
    """The baseline: every page of the day through the shop client, parsed, nothing else.

    `arrow=False` parses with `json.loads` into dicts (the client's plain path); `arrow=True` parses
    into Arrow tables of the contract's fields, the way the raw asset asks for them.
    """
    shop = VENDORS["shop"]
    client = shop.connect(shop.sandbox_connection(url))
    started = time.perf_counter()
    extract = Extract(Window.for_day(DAY), arrow_fields=ORDERS_FIELDS if arrow else None)
    rows = sum(len(page) for page in shop.endpoints["orders"].fetch(client, extract))
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, rows


def land_with_raw_asset(apis, data_dir: Path) -> tuple[float, int]:
    environment = load_environment(VENDORS, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(data_dir)})
    defs = definitions_for(environment)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [a for a in defs.assets if raw_key("shop", "orders") in a.keys],
        selection=dg.AssetSelection.assets(raw_key("shop", "orders")),
        partition_key=DAY.isoformat(),
        resources={**dict(defs.resources), "vendor_apis": apis},
        instance=instance,
    )
    step = next(s for s in instance.get_run_step_stats(result.run_id) if s.step_key == "raw_shop")
    rows = result.asset_materializations_for_node("raw_shop")[0].metadata["dagster/row_count"].value
    return step.end_time - step.start_time, rows


def serve_in_process(orders: int, ready, stop) -> None:
    """Child process: generate the day once, serve it until told to stop."""
    emulator = ShopEmulator(orders_per_day=orders, now=datetime(2026, 11, 1, tzinfo=UTC))
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    count = len(emulator.world.orders_updated_between(start, start + timedelta(days=1)))  # warm the cache
    with EmulatorServer(emulator) as server:
        ready.send((server.url, count))
        stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve_in_process, args=(args.orders, send, stop), daemon=True)
    child.start()
    url, expected = receive.recv()
    apis = VendorApisResource(
        sandbox=False, connections={"shop": VENDORS["shop"].sandbox_connection(url).values()}
    )

    fetch_times, dict_times, land_times = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):
            seconds, rows = fetch_only(url, arrow=False)
            assert rows == expected, (rows, expected)
            dict_times.append(seconds)
            seconds, rows = fetch_only(url, arrow=True)
            assert rows == expected, (rows, expected)
            fetch_times.append(seconds)
            seconds, rows = land_with_raw_asset(apis, Path(tmp) / f"run{attempt}")
            assert rows == expected, (rows, expected)
            land_times.append(seconds)
    stop.set()
    child.join(timeout=10)

    arrow, land = statistics.median(fetch_times), statistics.median(land_times)
    dicts = statistics.median(dict_times)
    out = sys.stdout
    out.write(f"orders in the day: {expected}\n")
    out.write(f"fetch + parse with json.loads (baseline): {dicts:.2f} s ({expected / dicts:,.0f} rows/s)\n")
    out.write(f"fetch + parse into Arrow only:           {arrow:.2f} s ({expected / arrow:,.0f} rows/s)\n")
    out.write(f"raw asset (land parquet):                {land:.2f} s ({expected / land:,.0f} rows/s)\n")
    out.write(f"landing overhead over Arrow parsing: ratio {land / arrow:.2f}\n")
    out.write(f"extract: ratio {land / dicts:.2f} (target <= 1.5)\n")


if __name__ == "__main__":
    main()
