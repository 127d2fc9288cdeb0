"""Staging keeps what it cannot type, and never loses the previous day on a failed write."""

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.keys import stream_selection
from plumbing_dagster.warehouses.duckdb import DuckDBSession
from plumbing_dagster_tests.assets.helpers import warehouse_rows
from plumbing_dagster_tests.conftest import check_results, definitions_for, materialize

DAY = date(2026, 11, 3)


def _land_users(sandbox, defs, records: list[dict]) -> None:
    """Put a day of users into the landing zone the way a raw run does (files + manifest)."""
    fields = load_stream_configs(DEFAULT_DAG_DIR)["shop"]["users"].fields
    zone = sandbox.landing.zone()
    folder = zone.day_folder("shop", "users", DAY)
    zone.fs.makedirs(zone.path(folder), exist_ok=True)
    relative = f"{folder}/test-load.0.parquet"
    pq.write_table(pa.Table.from_pylist(records, schema=landing_schema(fields)), zone.path(relative))
    zone.publish("shop", "users", DAY, "test-load", [relative], len(records))


def _user(user_id, name="Ada", updated="2026-11-03T10:00:00Z"):
    return {
        "id": user_id,
        "name": name,
        "country": "NL",
        "created_at": "2026-01-05T08:00:00Z",
        "updated_at": updated,
    }


def test_a_record_without_its_key_is_kept_aside_counted_and_fails_the_key_check(sandbox):
    defs = definitions_for(sandbox)
    _land_users(
        sandbox,
        defs,
        [
            _user(1),
            _user(None, name="No Key"),
            _user(2, updated="not a timestamp"),
            _user(3),
            _user(3, name="Newer", updated="2026-11-03T11:00:00Z"),
        ],
    )
    result = materialize(defs, ["staging/shop/users"], partition_key=DAY.isoformat(), raise_on_error=False)

    assert warehouse_rows(sandbox, "SELECT id, name FROM shop.users ORDER BY id") == [
        (1, "Ada"),
        (3, "Newer"),
    ]
    rejected = warehouse_rows(sandbox, "SELECT _reject_reason, _record FROM shop.users__rejected ORDER BY 1")
    assert [r[0] for r in rejected] == [
        "field updated_at: not a timestamp is not TIMESTAMP WITH TIME ZONE",
        "missing primary key id",
    ]
    assert '"name":"No Key"' in rejected[1][1]

    materialization = result.asset_materializations_for_node("staging__shop__users")[0]
    assert materialization.metadata["plumbing/rejected_count"].value == 2
    assert materialization.metadata["plumbing/duplicates_dropped"].value == 1

    checks = check_results(result)
    key_check = checks["staging/shop/users:key_unique_and_not_null"]
    assert not key_check.passed
    assert key_check.metadata["records_without_key"].value == 1
    assert not checks["staging/shop/users:no_rejected_records"].passed
    assert checks["staging/shop/users:no_rejected_records"].metadata["rejected_records"].value == 2
    assert checks["staging/shop/users:reconciles_with_landing"].passed


def test_a_failed_insert_on_rerun_leaves_the_previous_rows(sandbox, monkeypatch: pytest.MonkeyPatch):
    defs = definitions_for(sandbox)
    _land_users(sandbox, defs, [_user(1), _user(2)])
    assert materialize(defs, ["staging/shop/users"], partition_key=DAY.isoformat()).success
    before = warehouse_rows(sandbox, "SELECT * FROM shop.users ORDER BY id")

    _land_users(sandbox, defs, [_user(1, name="Changed"), _user(2), _user(4)])
    original = DuckDBSession.stage

    def failing_stage(session, schema, table, landed):
        original(session, schema, table, landed)  # the delete and insert happened...
        raise RuntimeError("disk full")  # ...then the write fails before commit

    monkeypatch.setattr(DuckDBSession, "stage", failing_stage)
    result = materialize(defs, ["staging/shop/users"], partition_key=DAY.isoformat(), raise_on_error=False)
    assert not result.success
    assert "disk full" in str(
        next(e for e in result.all_events if e.is_step_failure).event_specific_data.error
    )
    assert warehouse_rows(sandbox, "SELECT * FROM shop.users ORDER BY id") == before

    monkeypatch.setattr(DuckDBSession, "stage", original)
    assert materialize(defs, ["staging/shop/users"], partition_key=DAY.isoformat()).success
    assert warehouse_rows(sandbox, "SELECT id, name FROM shop.users ORDER BY id") == [
        (1, "Changed"),
        (2, "Ada"),
        (4, "Ada"),
    ]


def test_a_grown_contract_adds_columns_and_inserts_by_name(sandbox):
    from plumbing_dagster.warehouses.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(sandbox.duckdb_path).transaction("s.t") as session:
        session.ensure_schema("s")
        session.write("s", "t", pa.table({"a": [1], "b": ["x"]}))
        session.write("s", "t", pa.table({"c": [2.5], "b": ["y"], "a": [2]}))  # reordered + new column
        assert session.read("SELECT a, b, c FROM s.t ORDER BY a").to_pylist() == [
            {"a": 1, "b": "x", "c": None},
            {"a": 2, "b": "y", "c": 2.5},
        ]


def test_a_failed_key_check_blocks_the_mart_downstream_in_the_same_run(sandbox):
    defs = definitions_for(sandbox)
    day = DAY.isoformat()
    everything = stream_selection("shop", ["orders", "users", "products"])
    assert materialize(defs, everything, partition_key=day).success
    _land_users(sandbox, defs, [_user(1), _user(None, name="No Key")])

    result = materialize(
        defs, ["staging/shop/users", "marts/shop/order_lines"], partition_key=day, raise_on_error=False
    )
    assert not check_results(result)["staging/shop/users:key_unique_and_not_null"].passed
    assert result.asset_materializations_for_node("staging__shop__users")  # the table was written
    assert not [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["marts", "shop", "order_lines"])
    ]


@pytest.mark.parametrize(
    ("source", "stream", "grown"),
    [("shop", "users", "country"), ("jortt", "customers", "website")],  # DuckDB, Postgres
)
def test_a_day_landed_under_a_smaller_contract_stages_with_nulls_for_the_newer_fields(
    sandbox, source: str, stream: str, grown: str
):
    from plumbing_dagster_tests.assets.helpers import postgres_rows

    config = load_stream_configs(DEFAULT_DAG_DIR)[source][stream]
    zone = sandbox.landing.zone()
    folder = zone.day_folder(source, stream, DAY)
    zone.fs.makedirs(zone.path(folder), exist_ok=True)
    schema = landing_schema(config.fields)
    older = schema.remove(schema.get_field_index(grown))  # the file predates the field
    key = 7 if pa.types.is_integer(schema.field("id").type) else "7"
    pq.write_table(pa.Table.from_pylist([{"id": key}], schema=older), zone.path(f"{folder}/old.0.parquet"))
    zone.publish(source, stream, DAY, "old", [f"{folder}/old.0.parquet"], 1)

    result = materialize(
        definitions_for(sandbox), [f"staging/{source}/{stream}"], partition_key=DAY.isoformat()
    )

    assert result.success
    sql = f"SELECT id, {grown} FROM {source}.{stream}"
    rows = postgres_rows(sql) if config.warehouse == "postgres" else warehouse_rows(sandbox, sql)
    assert [(str(i), value) for i, value in rows] == [("7", None)]
