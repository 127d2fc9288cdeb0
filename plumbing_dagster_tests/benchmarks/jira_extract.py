"""Jira extract benchmark: one day of 20,000 issues with changelogs landed through the raw asset vs
only fetching and parsing the same search pages with the same client.

    python -m plumbing_dagster_tests.benchmarks.jira_extract [--issues 20000] [--repeat 2]

The emulator runs in its own process, as a real Jira would, with the day generated once before
timing so both sides are served from its cache. The day is past the search window (10,000), so
both sides split it the same way. The baseline reads every page of the `issues` family's search
(all six streams' fields and `expand=changelog`) with the Jira client and parses it, nothing
else. The raw side is the duration of the `raw_jira` step of a real Dagster run landing all six
streams (pages → issues, changelog items, links and bridges → Arrow → dlt → parquet → manifest).
"""

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.environments import load_environment
from plumbing_dagster.keys import raw_key
from plumbing_dagster.kit import Extract, Window
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.resources import VendorApisResource
from plumbing_dagster.sources.jira import IssueScope, JiraEmulator, JiraWorld
from plumbing_dagster.sources.jira.emulator.times import DAY_MS, day_start_ms
from plumbing_dagster.sources.jira.rows import DERIVE
from plumbing_dagster.sources.jira.search import read_issues
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster_tests.conftest import definitions_for

DAY = date(2026, 10, 14)
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
FAMILY = tuple(DERIVE)
RAW_KEYS = [raw_key("jira", stream) for stream in FAMILY]
CONFIGS = load_stream_configs(DEFAULT_DAG_DIR, {"jira": VENDORS["jira"]}, only="jira")["jira"]
SCOPE = IssueScope.model_validate(CONFIGS["issues"].options)


def fetch_only(url: str) -> tuple[float, int]:
    """The baseline: every search page of the day through the Jira client, parsed, nothing else."""
    jira = VENDORS["jira"]
    client = jira.connect(jira.sandbox_connection(url))
    started = time.perf_counter()
    extract = Extract(Window.for_day(DAY), "updated", options=SCOPE, streams=FAMILY)
    issues = sum(len(page) for page in read_issues(client, extract))
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, issues


def land_with_raw_asset(apis: VendorApisResource, data_dir: Path) -> tuple[float, int]:
    environment = load_environment(VENDORS, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(data_dir)})
    defs = definitions_for(environment)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [a for a in defs.assets if RAW_KEYS[0] in a.keys],
        selection=dg.AssetSelection.assets(*RAW_KEYS),
        partition_key=DAY.isoformat(),
        resources={**dict(defs.resources), "vendor_apis": apis},
        instance=instance,
    )
    step = next(s for s in instance.get_run_step_stats(result.run_id) if s.step_key == "raw_jira")
    issues = next(
        m.metadata["dagster/row_count"].value
        for m in result.asset_materializations_for_node("raw_jira")
        if m.asset_key == RAW_KEYS[0]
    )
    return step.end_time - step.start_time, issues


def serve_in_process(issues: int, ready, stop) -> None:  # noqa: ANN001 - multiprocessing ends
    """Child process: generate the day once, serve it until told to stop."""
    world = JiraWorld(start_date=date(2026, 10, 10), issues_per_day=10, now=NOW, busy_days={DAY: issues})
    start = day_start_ms(DAY)
    count = len(world.issues_updated_between(start, start + DAY_MS, changelog=True))  # warm the cache
    with EmulatorServer(JiraEmulator(world)) as server:
        ready.send((server.url, count))
        stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve_in_process, args=(args.issues, send, stop), daemon=True)
    child.start()
    url, expected = receive.recv()
    apis = VendorApisResource(
        sandbox=False, connections={"jira": VENDORS["jira"].sandbox_connection(url).values()}
    )

    fetch_times, land_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):
            seconds, issues = fetch_only(url)
            assert issues == expected, (issues, expected)
            fetch_times.append(seconds)
            seconds, issues = land_with_raw_asset(apis, Path(tmp) / f"run{attempt}")
            assert issues == expected, (issues, expected)
            land_times.append(seconds)
    stop.set()
    child.join(timeout=10)

    fetch, land = statistics.median(fetch_times), statistics.median(land_times)
    out = sys.stdout
    out.write(
        f"issues updated in the day: {expected} (with changelogs, links, labels, components, versions)\n"
    )
    out.write(
        f"fetch + parse the search pages (baseline): {fetch:.2f} s ({expected / fetch:,.0f} issues/s)\n"
    )
    out.write(f"raw asset (six streams landed as parquet):  {land:.2f} s ({expected / land:,.0f} issues/s)\n")
    out.write(f"jira_extract: ratio {land / fetch:.2f} (target <= 1.5)\n")


if __name__ == "__main__":
    main()
