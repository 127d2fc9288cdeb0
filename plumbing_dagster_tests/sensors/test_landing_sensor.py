"""The landing sensor on a local folder and on S3 (moto server): new landings -> one staging run per
(stream, day); nothing missed (same timestamps, backfills, deleted cursor keys, late writers);
bad keys skipped with a log line; days already staged with the same files not requested again."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR, StreamConfig, load_stream_configs
from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN, records_to_table
from plumbing_dagster.io_managers.duckdb import WarehouseDuckDBIOManager
from plumbing_dagster.landing import LandingZone, Manifest
from plumbing_dagster.landing.airbyte import (
    airbyte_files_for_day,
    airbyte_to_landed,
    parse_airbyte_key,
)
from plumbing_dagster.landing.listing import list_after
from plumbing_dagster.partitions import daily_partitions
from plumbing_dagster.raw.assets import raw_key
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster.sensors import build_landing_sensor
from plumbing_dagster.staging.assets import build_staging_asset, staging_key
from plumbing_dagster.staging.landed import read_landed_days
from plumbing_dagster_tests.runs.workers import dead_worker, worker_tags

# The S3 fixtures, imported rather than registered in conftest.py.
from plumbing_dagster_tests.s3 import moto_endpoint, s3_bucket, s3_landing  # noqa: F401

SOURCE = "shop"
PARTITIONS = daily_partitions(date(2026, 1, 1))
SHOP_STREAMS = load_stream_configs(DEFAULT_DAG_DIR)[SOURCE]
REVIEWS = StreamConfig.model_validate(
    {
        "stream": "reviews",
        "sync_mode": "full_refresh",
        "destination_sync_mode": "append",
        "primary_key": [["id"]],
        "fields": {
            "id": {"type": "integer"},
            "rating": {"type": "number"},
            "body": {"type": ["null", "string"]},
            "tags": {"type": ["null", "array"]},
            "created_at": {"type": "string", "format": "date-time"},
        },
        "producer": "airbyte",
    }
)
STREAMS = {**SHOP_STREAMS, "reviews": REVIEWS}
ORDERS = "orders"
USERS = "users"
LOG = LandingZone.log_prefix(SOURCE)


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> LandingZoneResource:
    if request.param == "local":
        return LandingZoneResource(url=str(tmp_path / "landing"))
    return request.getfixturevalue("s3_landing")


@dataclass
class Harness:
    landing: LandingZoneResource
    defs: dg.Definitions
    sensor: dg.SensorDefinition
    instance: dg.DagsterInstance
    cursor: str | None = None
    messages: list[str] = field(default_factory=list)  # what ticks logged through context.log

    @property
    def zone(self) -> LandingZone:
        return self.landing.zone()

    def tick(self, lookback: timedelta | None = None) -> list[dg.RunRequest]:
        """One evaluation through Dagster (run requests resolved against the definitions)."""
        sensor = (
            build_landing_sensor(SOURCE, STREAMS, PARTITIONS, lookback=lookback)
            if lookback is not None
            else self.sensor
        )
        with dg.build_sensor_context(
            cursor=self.cursor,
            resources={"landing": self.landing},
            instance=self.instance,
            definitions=self.defs,
        ) as context:
            context.log.addHandler(_Collect(self.messages))
            data = sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return list(data.run_requests or [])

    def stage(self, stream: str, day: str) -> None:
        """Materialize the staging partition, as a staging run would (records the fingerprints)."""
        key = staging_key(SOURCE, stream)
        staging = [a for a in self.defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        result = dg.materialize(
            [a for a in staging if key in a.keys],
            partition_key=day,
            instance=self.instance,
            resources=dict(self.defs.resources or {}),
        )
        assert result.success

    def after(self) -> str:
        return json.loads(self.cursor or "{}")["feeds"][f"{LOG}/"]["after"]

    def publish(self, stream: str, day: date, load_id: str, rows: int = 0) -> Manifest:
        """Land a day the way raw assets do (files written, then the manifest published)."""
        files = []
        if rows:
            relative = f"{LandingZone.day_folder(SOURCE, stream, day)}/{load_id}.0.parquet"
            write_parquet(self.zone, relative, orders_table(rows, day))
            files.append(relative)
        else:  # the sensor only reads manifests; the files need not exist
            files.append(f"{LandingZone.day_folder(SOURCE, stream, day)}/{load_id}.0.parquet")
        return self.zone.publish(SOURCE, stream, day, load_id, files, rows)

    def write_log_entry(self, written_at: datetime, load_id: str, stream: str, day: date) -> str:
        """A log entry stamped `written_at`, plus the day's current manifest (as publish does)."""
        manifest = Manifest(
            source=SOURCE,
            stream=stream,
            day=f"{day:%Y-%m-%d}",
            load_id=load_id,
            files=[f"{LandingZone.day_folder(SOURCE, stream, day)}/{load_id}.0.parquet"],
            rows=1,
            written_at=written_at.isoformat(),
        )
        key = LandingZone.log_key(SOURCE, written_at, load_id, stream, day)
        put(self.zone, LandingZone.current_manifest_key(SOURCE, stream, day), manifest.to_json())
        put(self.zone, key, manifest.to_json())
        return key


class _Collect(logging.Handler):
    """Keeps tick log messages (the tick's logger does not propagate, so caplog misses them)."""

    def __init__(self, messages: list[str]):
        super().__init__(level=logging.DEBUG)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def put(zone: LandingZone, relative: str, text: str) -> None:
    if zone.is_local:
        zone.fs.makedirs(zone.path(relative).rsplit("/", 1)[0], exist_ok=True)
    zone.fs.pipe_file(zone.path(relative), text.encode("utf-8"))


def write_parquet(zone: LandingZone, relative: str, table: pa.Table) -> None:
    if zone.is_local:
        zone.fs.makedirs(zone.path(relative).rsplit("/", 1)[0], exist_ok=True)
    pq.write_table(table, zone.path(relative), filesystem=zone.fs)


def orders_table(rows: int, day: date) -> pa.Table:
    stamp = f"{day:%Y-%m-%d}T10:00:00Z"
    records = [
        {"id": i, "user_id": 1, "created_at": stamp, "updated_at": stamp, "currency": "EUR"}
        for i in range(rows)
    ]
    return records_to_table(records, SHOP_STREAMS[ORDERS].fields)


def requested(run_requests: list[dg.RunRequest]) -> list[tuple[str, str | None]]:
    return sorted((r.asset_selection[-1].path[-1], r.partition_key) for r in run_requests)  # type: ignore[index]


@pytest.fixture
def harness(landing: LandingZoneResource, tmp_path: Path) -> Iterator[Harness]:
    sensor = build_landing_sensor(SOURCE, STREAMS, PARTITIONS)
    daily_job = dg.define_asset_job("shop_daily", dg.AssetSelection.groups(SOURCE), partitions_def=PARTITIONS)
    defs = dg.Definitions(
        assets=[build_staging_asset(SOURCE, c, PARTITIONS, "duckdb") for c in STREAMS.values()],
        sensors=[sensor],
        jobs=[daily_job],
        resources={
            "landing": landing,
            "duckdb_io_manager": WarehouseDuckDBIOManager(database=str(tmp_path / "wh.duckdb")),
        },
    )
    with dg.DagsterInstance.ephemeral() as instance:
        yield Harness(landing, defs, sensor, instance)


def test_list_after_orders_keys_and_starts_after_missing_keys(landing: LandingZoneResource) -> None:
    zone = landing.zone()
    for key in ["p/a/1", "p/a/3", "p/b", "p/b2/x", "q/1", "pz"]:
        put(zone, key, "x")
    assert list_after(zone, "p/", None) == ["p/a/1", "p/a/3", "p/b", "p/b2/x"]
    assert list_after(zone, "p/", "p/a/2") == ["p/a/3", "p/b", "p/b2/x"]  # p/a/2 never existed
    zone.fs.rm(zone.path("p/a/3"))
    assert list_after(zone, "p/", "p/a/3") == ["p/b", "p/b2/x"]  # p/a/3 was deleted
    assert list_after(zone, "p/b", None, limit=1) == ["p/b"]  # a prefix need not be a folder
    assert list_after(zone, "nothing/", None) == []


def test_a_landed_day_is_requested_once(harness: Harness) -> None:
    day = date(2026, 11, 20)
    harness.publish(ORDERS, day, "1763600000.1")
    manifest = harness.publish(ORDERS, day, "1763600000.2")  # a re-run replaced the day

    first = harness.tick()
    assert requested(first) == [(ORDERS, "2026-11-20")]
    assert first[0].asset_selection == [staging_key(SOURCE, ORDERS)]
    assert first[0].run_key is not None and first[0].run_key.startswith("shop/orders/2026-11-20/")
    assert manifest.files  # the run key names the file set the second load published
    assert harness.tick() == []


def test_entries_with_the_same_timestamp_are_all_picked_up(harness: Harness) -> None:
    stamp = datetime.now(UTC)
    harness.write_log_entry(stamp, "1763600000.5", ORDERS, date(2026, 11, 1))
    assert requested(harness.tick()) == [(ORDERS, "2026-11-01")]
    # Same timestamp, keys before and after the cursor's key (they differ in load id only).
    harness.write_log_entry(stamp, "1763600000.4", ORDERS, date(2026, 11, 2))
    harness.write_log_entry(stamp, "1763600000.6", ORDERS, date(2026, 11, 3))
    assert requested(harness.tick()) == [(ORDERS, "2026-11-02"), (ORDERS, "2026-11-03")]
    assert harness.tick() == []


def test_a_backfill_into_an_old_day_is_picked_up(harness: Harness) -> None:
    harness.publish(ORDERS, date(2026, 11, 22), "1763800000.1")
    harness.tick()
    harness.publish(ORDERS, date(2026, 2, 3), "1763800000.2")
    harness.publish("users", date(2026, 2, 3), "1763800000.2")
    assert requested(harness.tick()) == [(ORDERS, "2026-02-03"), ("users", "2026-02-03")]


def test_a_deleted_cursor_key_does_not_lose_the_next_file(harness: Harness) -> None:
    no_lookback = timedelta(0)  # list from exactly the cursor key, which will not exist
    harness.publish(ORDERS, date(2026, 11, 20), "1763600000.1")
    harness.tick(no_lookback)
    cursor_key = harness.after()
    harness.zone.fs.rm(harness.zone.path(cursor_key))
    harness.publish(ORDERS, date(2026, 11, 21), "1763600000.2")
    assert requested(harness.tick(no_lookback)) == [(ORDERS, "2026-11-21")]
    assert harness.after() > cursor_key


def test_a_late_writer_behind_the_cursor_is_picked_up(harness: Harness) -> None:
    now = datetime.now(UTC)
    harness.write_log_entry(now, "1763600000.9", ORDERS, date(2026, 11, 20))
    harness.tick()
    # Stamped two minutes earlier but visible only now: it sorts before the cursor key.
    earlier = now - timedelta(minutes=2)
    late = harness.write_log_entry(earlier, "1763600000.8", ORDERS, date(2026, 11, 5))
    assert late < harness.after()
    assert requested(harness.tick()) == [(ORDERS, "2026-11-05")]
    assert harness.tick() == []


def test_entries_of_later_write_dates_are_found_after_days_without_ticks(harness: Harness) -> None:
    now = datetime.now(UTC)
    three_days_ago = now - timedelta(days=3)
    first = harness.write_log_entry(three_days_ago, "1763600000.5", ORDERS, date(2026, 11, 3))
    assert f"/{three_days_ago:%Y%m%d}/" in first  # one log folder per write date
    assert requested(harness.tick()) == [(ORDERS, "2026-11-03")]
    # The daemon was down: entries written yesterday and today sit in two newer date folders.
    harness.write_log_entry(now - timedelta(days=1), "1763600000.6", ORDERS, date(2026, 11, 4))
    harness.write_log_entry(now, "1763600000.7", USERS, date(2026, 11, 4))
    assert sorted(requested(harness.tick())) == [(ORDERS, "2026-11-04"), (USERS, "2026-11-04")]
    assert harness.tick() == []


def test_the_cursor_forgets_keys_behind_the_look_back_window(harness: Harness) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for i in range(3):
        harness.write_log_entry(an_hour_ago, f"1763600000.{i}", ORDERS, date(2026, 11, 10 + i))
    assert len(harness.tick()) == 3
    feed = json.loads(harness.cursor or "{}")["feeds"][f"{LOG}/"]
    assert feed["seen"] == []  # no later tick lists them again, so none is remembered
    assert feed["after"].endswith("_1763600000.2_orders_20261112.json")
    assert harness.tick() == []


def test_bad_keys_and_days_outside_the_partitions_are_logged_and_skipped(
    harness: Harness,
) -> None:
    now = datetime.now(UTC)
    put(harness.zone, f"{LOG}/{now:%Y%m%d}/garbage.txt", "not a manifest")
    harness.write_log_entry(now, "1763600000.1", ORDERS, date(2025, 6, 1))  # before the start
    harness.write_log_entry(now, "1763600000.2", ORDERS, date.today() + timedelta(days=30))
    harness.write_log_entry(now, "1763600000.3", "unknown_stream", date(2026, 11, 20))
    harness.write_log_entry(now, "1763600000.4", ORDERS, date(2026, 11, 20))
    put(harness.zone, "shop/reviews/notes.txt", "not an Airbyte file")

    assert requested(harness.tick()) == [(ORDERS, "2026-11-20")]
    skipped = [m for m in harness.messages if "skipped" in m]
    assert len(skipped) == 5, skipped
    assert any("garbage.txt" in m for m in skipped)
    assert any("2025-06-01 is outside the partitions" in m for m in skipped)
    assert any("notes.txt" in m for m in skipped)

    harness.messages.clear()  # each bad key is reported once, not every tick
    assert harness.tick() == []
    assert not [m for m in harness.messages if "skipped" in m]


def test_an_airbyte_file_is_requested_and_read_as_the_contract(harness: Harness) -> None:
    key = "shop/reviews/2026_11_22_1763800000000_0.parquet"
    extracted = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    table = pa.table(
        {
            "_airbyte_raw_id": ["a0", "a1"],
            "_airbyte_extracted_at": pa.array([extracted, extracted], pa.timestamp("ms", tz="UTC")),
            "_airbyte_generation_id": pa.array([1, 1], pa.int64()),
            "_airbyte_meta": [{"sync_id": 7, "changes": []}, {"sync_id": 7, "changes": []}],
            "id": pa.array([1, 2], pa.int64()),
            "rating": [4.5, 3.0],
            "body": ["good", None],
            "tags": ['["a","b"]', None],  # untyped arrays arrive as JSON text
            "created_at": pa.array([extracted, extracted], pa.timestamp("us", tz="UTC")),
            "not_in_contract": ["x", "y"],
        }
    )
    write_parquet(harness.zone, key, table)
    parsed = parse_airbyte_key(key)
    assert parsed is not None and parsed.day == date(2026, 11, 22) and parsed.part == "0"

    run_requests = harness.tick()
    assert requested(run_requests) == [("reviews", "2026-11-22")]
    assert run_requests[0].asset_selection == [staging_key(SOURCE, "reviews")]
    assert airbyte_files_for_day(harness.zone, SOURCE, "reviews", date(2026, 11, 22)) == [key]

    landed = read_landed_days(harness.zone, SOURCE, REVIEWS, [date(2026, 11, 22)])
    assert landed.column_names == [*REVIEWS.fields, VIOLATIONS_COLUMN, "partition_date"]
    assert landed.column("tags").to_pylist() == ['["a","b"]', None]
    assert landed.column("id").to_pylist() == [1, 2]
    assert landed.column(VIOLATIONS_COLUMN).null_count == 2
    assert landed.column("created_at").to_pylist()[0].startswith("2026-11-22 03:00:00")

    # A second part of the same sync changes the day's file set: requested again.
    write_parquet(harness.zone, key.replace("_0.parquet", "_1.parquet"), table)
    assert requested(harness.tick()) == [("reviews", "2026-11-22")]


def test_a_day_already_staged_with_the_same_files_is_not_requested(harness: Harness) -> None:
    day = date(2026, 11, 20)
    harness.publish(ORDERS, day, "1763600000.1", rows=3)
    harness.stage(ORDERS, f"{day:%Y-%m-%d}")
    assert harness.tick() == []  # a backfill ran raw and staging together: nothing to do

    harness.publish(ORDERS, day, "1763600000.2", rows=4)  # landed again: staged files are stale
    assert requested(harness.tick()) == [(ORDERS, "2026-11-20")]


def test_days_covered_by_a_run_in_flight_wait_for_it_to_end(harness: Harness) -> None:
    days = [date(2026, 2, 3), date(2026, 2, 4), date(2026, 3, 1)]
    for day in days:
        harness.publish(ORDERS, day, "1763600000.1", rows=2)
    # A backfill run between its raw and staging steps, over a range of days...
    backfill = dg.DagsterRun(
        job_name="__ASSET_JOB",
        status=dg.DagsterRunStatus.STARTED,
        tags={
            "dagster/asset_partition_range_start": "2026-02-01",
            "dagster/asset_partition_range_end": "2026-02-28",
        },
        asset_selection=frozenset({raw_key(SOURCE, ORDERS), staging_key(SOURCE, ORDERS)}),
    )
    # ...and the daily job (no explicit asset selection) for one day.
    daily = dg.DagsterRun(
        job_name="shop_daily",
        status=dg.DagsterRunStatus.STARTED,
        tags={"dagster/partition": "2026-03-01"},
    )
    harness.instance.add_run(backfill)
    harness.instance.add_run(daily)

    assert harness.tick() == []
    assert json.loads(harness.cursor or "{}")["pending"] == [
        [ORDERS, "2026-02-03"],
        [ORDERS, "2026-02-04"],
        [ORDERS, "2026-03-01"],
    ]
    assert harness.tick() == []  # still running: still waiting

    # The backfill staged 02-03, then failed before staging 02-04; the daily run is still going.
    harness.stage(ORDERS, "2026-02-03")
    harness.instance.report_run_failed(backfill)
    assert requested(harness.tick()) == [(ORDERS, "2026-02-04")]
    assert json.loads(harness.cursor or "{}")["pending"] == [[ORDERS, "2026-03-01"]]

    harness.instance.report_run_failed(daily)
    assert requested(harness.tick()) == [(ORDERS, "2026-03-01")]
    assert json.loads(harness.cursor or "{}")["pending"] == []


def test_a_run_whose_worker_is_gone_is_not_waited_for(harness: Harness) -> None:
    """A killed run stays "started" until run monitoring fails it; the sensor does not wait on it."""
    day = date(2026, 2, 3)
    harness.publish(ORDERS, day, "1763600000.1", rows=2)

    def covering_run(tags: dict[str, str]) -> dg.DagsterRun:
        return dg.DagsterRun(
            job_name="__ASSET_JOB",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": "2026-02-03", **tags},
            asset_selection=frozenset({raw_key(SOURCE, ORDERS), staging_key(SOURCE, ORDERS)}),
        )

    alive = covering_run(worker_tags())  # this test's process: alive
    harness.instance.add_run(alive)
    assert harness.tick() == []
    assert json.loads(harness.cursor or "{}")["pending"] == [[ORDERS, "2026-02-03"]]

    harness.instance.delete_run(alive.run_id)
    gone = dead_worker()
    dead = covering_run(worker_tags(gone))
    harness.instance.add_run(dead)
    assert requested(harness.tick()) == [(ORDERS, "2026-02-03")]
    assert f"not waiting for run {dead.run_id}: its worker ({gone}) is gone" in harness.messages


def test_airbyte_to_landed_maps_pre_v1_files_and_keeps_values_that_do_not_fit() -> None:
    table = pa.table(
        {
            "_airbyte_ab_id": ["a", "b"],  # before v1
            "_airbyte_emitted_at": pa.array([1, 2], pa.int64()),
            "id": pa.array([1, 2], pa.int32()),
            "rating": pa.array(["4.5", None]),  # a string where the contract says number
            "tags": [["x"], []],  # typed by Airbyte, landed by us as JSON text
            "created_at": ["2026-11-22T03:00:00Z", None],
        }
    )
    landed = airbyte_to_landed(table, REVIEWS)
    assert landed.column_names == [*REVIEWS.fields, VIOLATIONS_COLUMN]
    assert landed.column("id").type == pa.int64()
    assert landed.column("rating").to_pylist() == [None, None]
    assert landed.column(VIOLATIONS_COLUMN).to_pylist() == ['{"rating":"4.5"}', None]
    assert landed.column("tags").to_pylist() == ['["x"]', "[]"]
    assert landed.column("body").null_count == 2  # not written by Airbyte: null, not dropped
    assert parse_airbyte_key("shop/reviews/2026_02_30_1763800000000_0.parquet") is None
    assert parse_airbyte_key("shop/reviews/2026_11_22_1763800000000_9f2c-77.parquet") is not None
