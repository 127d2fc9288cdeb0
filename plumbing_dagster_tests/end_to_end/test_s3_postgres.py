"""The production path on real servers: S3 (moto server on loopback) → sensor → Postgres."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.environments import load_environment
from plumbing_dagster.sources.jortt import JorttWorld
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.sources.shop import ShopWorld
from plumbing_dagster_tests.assets.helpers import day_window
from plumbing_dagster_tests.conftest import check_results, materialize
from plumbing_dagster_tests.s3 import ACCESS_KEY, REGION, SECRET_KEY

DAY = "2026-11-02"


@pytest.fixture
def s3_postgres_env(tmp_path: Path, moto_endpoint: str, s3_bucket: str, postgres_database: str, monkeypatch):
    """A sandbox whose landing zone is the S3 bucket and whose Postgres streams go to Postgres."""
    for name, value in {
        "PLUMBING_ENV": "sandbox",
        "PLUMBING_DATA_DIR": str(tmp_path / "data"),
        "PLUMBING_LANDING_URL": f"s3://{s3_bucket}/raw",
        "S3_ENDPOINT": moto_endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "PLUMBING_POSTGRES_URL": postgres_database,
    }.items():
        monkeypatch.setenv(name, value)
    return load_environment(VENDORS)


def _tick(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, cursor: str | None):
    sensor = defs.resolve_sensor_def(name)
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": defs.resources["landing"]}, definitions=defs
    )
    result = sensor.evaluate_tick(context)
    return result.run_requests or [], result.cursor


def _invoices(postgres_url: str) -> list[tuple]:
    with psycopg.connect(postgres_url) as conn:
        return conn.execute("SELECT * FROM jortt.invoices ORDER BY id").fetchall()


def test_land_on_s3_sense_stage_into_postgres_and_rerun(s3_postgres_env, postgres_database: str):
    defs = build_definitions(s3_postgres_env)
    instance = dg.DagsterInstance.ephemeral()

    landed = materialize(defs, ["raw/jortt/invoices_landed"], partition_key=DAY, instance=instance)
    assert landed.success
    zone = s3_postgres_env.landing.process_config_and_initialize().zone()
    files = zone.current_files("jortt", "invoices", datetime.fromisoformat(DAY).date())
    assert len(files) == 1 and files[0].startswith("jortt/invoices/year=2026/month=11/day=02/")
    assert zone.fs.exists(zone.path(files[0]))

    requests, cursor = _tick(defs, "jortt_landing_sensor", instance, None)
    assert [(r.asset_selection, r.partition_key) for r in requests] == [
        ([dg.AssetKey(["staging", "jortt", "invoices"])], DAY)
    ]

    staged = materialize(
        defs, ["staging/jortt/invoices"], partition_key=requests[0].partition_key, instance=instance
    )
    assert staged.success
    checks = check_results(staged)
    assert checks and all(c.passed for c in checks.values()), {k: c.metadata for k, c in checks.items()}
    expected = JorttWorld().invoices_created_between(*day_window(DAY))
    first = _invoices(postgres_database)
    assert sorted(row[[d.name for d in _columns(postgres_database)].index("id")] for row in first) == sorted(
        i["id"] for i in expected
    )

    requests, cursor = _tick(defs, "jortt_landing_sensor", instance, cursor)
    assert requests == []

    again = materialize(
        defs, ["raw/jortt/invoices_landed", "staging/jortt/invoices"], partition_key=DAY, instance=instance
    )
    assert again.success
    assert _invoices(postgres_database) == first
    assert len(zone.current_files("jortt", "invoices", datetime.fromisoformat(DAY).date())) == 1
    # The re-run staged its own landing in the same run: the sensor has nothing left to do.
    requests, cursor = _tick(defs, "jortt_landing_sensor", instance, cursor)
    assert requests == []


def test_duckdb_reads_the_landed_files_on_s3_itself(s3_postgres_env):
    """DuckDB cannot load httpfs here: it reads S3 through the landing zone's fsspec filesystem."""
    import duckdb

    defs = build_definitions(s3_postgres_env)
    result = materialize(defs, ["raw/shop/orders_landed", "staging/shop/orders"], partition_key=DAY)
    assert result.success
    assert all(c.passed for c in check_results(result).values())
    expected = ShopWorld().orders_updated_between(*day_window(DAY))
    with duckdb.connect(s3_postgres_env.duckdb_path, read_only=True) as conn:
        staged = conn.execute("SELECT id FROM shop.orders ORDER BY id").fetchall()
    assert [row[0] for row in staged] == sorted(order["id"] for order in expected)


def _columns(postgres_url: str):
    with psycopg.connect(postgres_url) as conn:
        return conn.execute("SELECT * FROM jortt.invoices LIMIT 0").description


def test_an_airbyte_file_in_the_landing_zone_reaches_staging(s3_postgres_env, tmp_path: Path):
    dag_dir = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, dag_dir)
    (dag_dir / "streams" / "shop" / "reviews.json").write_text(
        json.dumps(
            {
                "stream": "reviews",
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "primary_key": [["id"]],
                "cursor_field": ["created_at"],
                "producer": "airbyte",
                "fields": {
                    "id": {"type": "integer"},
                    "rating": {"type": ["null", "number"]},
                    "body": {"type": ["null", "string"]},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            }
        )
    )
    defs = build_definitions(s3_postgres_env, dag_dir)
    instance = dg.DagsterInstance.ephemeral()
    zone = s3_postgres_env.landing.process_config_and_initialize().zone()
    extracted = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    airbyte = pa.table(
        {
            "_airbyte_raw_id": ["r0", "r1", "r2"],
            "_airbyte_extracted_at": pa.array([extracted] * 3, pa.timestamp("ms", tz="UTC")),
            "_airbyte_generation_id": pa.array([3, 3, 3], pa.int64()),
            "_airbyte_meta": [{"sync_id": 9, "changes": []}] * 3,
            "id": pa.array([10, 11, 12], pa.int64()),
            "rating": [5.0, 2.5, None],
            "body": ["great", "meh", None],
            "created_at": pa.array([extracted] * 3, pa.timestamp("us", tz="UTC")),
        }
    )
    with zone.fs.open(zone.path("shop/reviews/2026_11_22_1763780400000_0.parquet"), "wb") as handle:
        pq.write_table(airbyte, handle)

    requests, _ = _tick(defs, "shop_landing_sensor", instance, None)
    assert [(r.asset_selection, r.partition_key) for r in requests] == [
        ([dg.AssetKey(["staging", "shop", "reviews"])], "2026-11-22")
    ]
    result = materialize(defs, ["staging/shop/reviews"], partition_key="2026-11-22", instance=instance)
    assert result.success
    assert all(c.passed for c in check_results(result).values())
    import duckdb

    with duckdb.connect(s3_postgres_env.duckdb_path, read_only=True) as conn:
        rows = conn.execute(
            "SELECT id, rating, body, partition_date FROM shop.reviews ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(10, 5.0, "great"), (11, 2.5, "meh"), (12, None, None)]
    assert {str(r[3]) for r in rows} == {"2026-11-22"}


def test_a_failed_landing_on_s3_keeps_the_previous_day(s3_postgres_env):
    from plumbing_dagster.kit.emulator import Fault
    from plumbing_dagster_tests.assets.helpers import served

    defs = build_definitions(s3_postgres_env)
    day = datetime.fromisoformat(DAY).date()
    assert materialize(defs, ["raw/shop/orders_landed"], partition_key=DAY).success
    zone = s3_postgres_env.landing.process_config_and_initialize().zone()
    before = zone.current_manifest("shop", "orders", day)

    with served(VENDORS["shop"]) as (server, apis):
        # The re-run fails (the API is down beyond the retry budget): no new manifest is written,
        # so readers keep seeing the previous day, whose files are all still there.
        server.faults.add(Fault("server_error", times=50, path_prefix="/api/v1/orders"))
        failed = materialize(
            defs,
            ["raw/shop/orders_landed"],
            partition_key=DAY,
            resources={"vendor_apis": apis},
            raise_on_error=False,
        )
    assert not failed.success
    assert zone.current_manifest("shop", "orders", day) == before
    assert all(zone.fs.exists(zone.path(f)) for f in before.files)
