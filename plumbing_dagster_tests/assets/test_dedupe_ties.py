"""Versions of a key with the same cursor on the same day: the one landed last wins — by file and
row order for our own landings, by `_airbyte_extracted_at` for Airbyte's files — in both
warehouses."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster_tests.assets.helpers import landing_root, postgres_rows, warehouse_rows
from plumbing_dagster_tests.conftest import check_results, materialize

DAY = date(2026, 11, 22)
WAREHOUSES = ["duckdb", "postgres"]


def _dag_with(tmp_path: Path, stream: str, config: dict) -> Path:
    dag_dir = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, dag_dir)
    (dag_dir / "streams" / "shop" / f"{stream}.json").write_text(json.dumps(config))
    return dag_dir


def _rows(sandbox, warehouse: str, sql: str) -> list[tuple]:
    return postgres_rows(sql) if warehouse == "postgres" else warehouse_rows(sandbox, sql)


@pytest.mark.parametrize(
    ("warehouse", "source", "stream", "name"),
    [("duckdb", "shop", "users", "name"), ("postgres", "jortt", "customers", "customer_name")],
)
def test_our_own_landings_let_the_later_file_and_row_win_a_tie(
    sandbox, warehouse: str, source: str, stream: str, name: str
):
    defs = build_definitions(sandbox)
    config = load_stream_configs(DEFAULT_DAG_DIR)[source][stream]
    assert config.warehouse == warehouse and config.destination_sync_mode == "merge"
    zone = sandbox.landing.zone()
    folder = zone.day_folder(source, stream, DAY)
    zone.fs.makedirs(zone.path(folder), exist_ok=True)
    files = {
        # Within one file the later row wins; across files the later file (manifest order).
        "0": [("1", "first"), ("1", "second"), ("2", "in the earlier file")],
        "1": [("2", "in the later file"), ("3", "alone")],
    }
    schema = landing_schema(config.fields)
    as_key = int if pa.types.is_integer(schema.field("id").type) else str
    for part, records in files.items():
        table = pa.Table.from_pylist(
            [{"id": as_key(key), name: value} for key, value in records], schema=schema
        )
        pq.write_table(table, zone.path(f"{folder}/load.{part}.parquet"))
    zone.publish(source, stream, DAY, "load", [f"{folder}/load.{p}.parquet" for p in files], 5)

    result = materialize(defs, [f"staging/{source}/{stream}"], partition_key=DAY.isoformat())

    staged = _rows(sandbox, warehouse, f"SELECT id, {name} FROM {source}.{stream} ORDER BY id")
    assert [(str(key), value) for key, value in staged] == [
        ("1", "second"),
        ("2", "in the later file"),
        ("3", "alone"),
    ]
    (materialization,) = result.asset_materializations_for_node(f"staging__{source}__{stream}")
    assert materialization.metadata["plumbing/duplicates_dropped"].value == 2
    assert all(check.passed for check in check_results(result).values())


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_airbyte_files_let_the_later_extraction_win_a_tie(sandbox, tmp_path: Path, warehouse: str):
    reviews = {
        "stream": "reviews",
        "sync_mode": "incremental",
        "destination_sync_mode": "merge",
        "primary_key": [["id"]],
        "cursor_field": ["created_at"],
        "producer": "airbyte",
        "warehouse": warehouse,
        "fields": {
            "id": {"type": "integer"},
            "body": {"type": ["null", "string"]},
            "created_at": {"type": "string", "format": "date-time"},
        },
    }
    defs = build_definitions(sandbox, _dag_with(tmp_path, "reviews", reviews))
    created = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def sync(part: str, extracted_hour: int, body: str) -> None:
        extracted = datetime(2026, 11, 22, extracted_hour, 0, tzinfo=UTC)
        table = pa.table(
            {
                "_airbyte_raw_id": [f"{part}-0"],
                "_airbyte_extracted_at": pa.array([extracted], pa.timestamp("ms", tz="UTC")),
                "id": pa.array([7], pa.int64()),
                "body": [body],
                "created_at": pa.array([created], pa.timestamp("us", tz="UTC")),
            }
        )
        folder = landing_root(sandbox) / "shop" / "reviews"
        folder.mkdir(parents=True, exist_ok=True)
        # The same sync moment, parts named so that key order is not extraction order.
        pq.write_table(table, folder / f"2026_11_22_1763800000000_{part}.parquet")

    sync("a", 5, "extracted last")
    sync("b", 3, "extracted first")

    assert materialize(defs, ["staging/shop/reviews"], partition_key=DAY.isoformat()).success
    assert _rows(sandbox, warehouse, "SELECT id, body FROM shop.reviews") == [(7, "extracted last")]
