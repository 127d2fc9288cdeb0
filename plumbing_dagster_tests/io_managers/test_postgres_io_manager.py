"""WarehousePostgresIOManager against a real Postgres, through real `dg.materialize` runs.

Postgres comes from PLUMBING_TEST_POSTGRES_URL (default: local trust auth). An unreachable server
fails these tests rather than skipping them: the IO manager is untested otherwise.
"""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.io_managers.postgres import WarehousePostgresIOManager
from plumbing_dagster.io_managers.staged import LandedDays
from plumbing_dagster.tables import qualified, quote
from plumbing_dagster.warehouses.landed import landed_in_memory
from plumbing_dagster.warehouses.postgres import PostgresConnectionError, pg_connect_info_safe, query_arrow
from plumbing_dagster.warehouses.postgres import sessions as postgres_sessions
from plumbing_dagster.warehouses.postgres import staging as postgres_staging

DAILY = dg.DailyPartitionsDefinition(start_date="2026-10-01")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

Producer = Callable[[dg.AssetExecutionContext], Any]


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """The suite's Postgres (conftest: fails, never skips, when unreachable)."""
    return postgres_url


@pytest.fixture
def schema(pg_schema: str) -> str:
    """A fresh schema, dropped afterwards (conftest)."""
    return pg_schema


def fetch(url: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchall()


def day(key: str) -> date:
    return date.fromisoformat(key)


def at(key: str, hour: int) -> datetime:
    return datetime.fromisoformat(key).replace(hour=hour, microsecond=123456, tzinfo=UTC)


def orders(key: str, ids: Sequence[int], factor: float = 1.0) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "customer": pa.array([f"c{i}" for i in ids], pa.string()),
            "amount": pa.array([i * factor for i in ids], pa.float64()),
            "updated_at": pa.array([at(key, i % 24) for i in ids], pa.timestamp("us", tz="UTC")),
            "note": pa.array([None if i % 2 else f"n{i}" for i in ids], pa.string()),
            "partition_date": pa.array([day(key)] * len(ids), pa.date32()),
        }
    )


def expected(key: str, ids: Sequence[int], factor: float = 1.0) -> list[tuple[Any, ...]]:
    return [(i, f"c{i}", i * factor, at(key, i % 24), None if i % 2 else f"n{i}", day(key)) for i in ids]


ORDER_COLUMNS = "id, customer, amount, updated_at, note, partition_date"


def partitioned_asset(
    name: str, produce: Producer, metadata: dict[str, Any] | None = None
) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        partitions_def=DAILY,
        metadata={"partition_expr": "partition_date", **(metadata or {})},
    )
    def _asset(context: dg.AssetExecutionContext) -> Any:
        return produce(context)

    return _asset


def by_partition(payloads: dict[str, Any]) -> Producer:
    """Producer returning the payload of the run's partition (or the concatenation for a range)."""

    def produce(context: dg.AssetExecutionContext) -> Any:
        keys = context.partition_keys
        if len(keys) == 1:
            return payloads[keys[0]]
        return pa.concat_tables([payloads[k] for k in keys])

    return produce


def materialize(
    assets: Sequence[dg.AssetsDefinition],
    url: str,
    schema: str,
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
    raise_on_error: bool = True,
    **io_manager_config: Any,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        resources={"io_manager": WarehousePostgresIOManager(url=url, schema=schema, **io_manager_config)},
        partition_key=partition_key,
        tags=tags,
        raise_on_error=raise_on_error,
    )


def step_failure_text(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "expected a step failure"
    return "\n".join(event.step_failure_data.error.to_string() for event in failures)


def test_writes_partitions_exactly_and_reports_table_metadata(pg_url: str, schema: str) -> None:
    payloads = {"2026-11-01": orders("2026-11-01", [1, 2]), "2026-11-02": orders("2026-11-02", [3])}
    asset = partitioned_asset("orders", by_partition(payloads))

    materialize([asset], pg_url, schema, "2026-11-01")
    result = materialize([asset], pg_url, schema, "2026-11-02")

    rows = fetch(pg_url, f"SELECT {ORDER_COLUMNS} FROM {qualified(schema, 'orders')} ORDER BY id")
    assert rows == expected("2026-11-01", [1, 2]) + expected("2026-11-02", [3])

    [materialization] = result.asset_materializations_for_node("orders")
    metadata = materialization.metadata
    assert metadata["dagster/row_count"].value == 1
    columns = {c.name: c.type for c in metadata["dagster/column_schema"].value.columns}
    assert columns == {
        "id": "bigint",
        "customer": "text",
        "amount": "double precision",
        "updated_at": "timestamp with time zone",
        "note": "text",
        "partition_date": "date",
    }
    assert metadata["dagster/table_name"].value == f"{schema}.orders"  # as one queries it
    assert metadata["plumbing/warehouse"].value == pg_connect_info_safe(pg_url)  # the server, no credentials
    assert "s3cret" not in str(metadata)


def test_rematerializing_a_partition_replaces_only_it(pg_url: str, schema: str) -> None:
    payloads = {"2026-11-01": orders("2026-11-01", [1, 2]), "2026-11-02": orders("2026-11-02", [3])}
    asset = partitioned_asset("orders", by_partition(payloads))
    materialize([asset], pg_url, schema, "2026-11-01")
    materialize([asset], pg_url, schema, "2026-11-02")

    payloads["2026-11-01"] = orders("2026-11-01", [7], factor=10.0)
    materialize([asset], pg_url, schema, "2026-11-01")

    rows = fetch(pg_url, f"SELECT {ORDER_COLUMNS} FROM {qualified(schema, 'orders')} ORDER BY id")
    assert rows == expected("2026-11-02", [3]) + expected("2026-11-01", [7], factor=10.0)


def _bad_type_rerun(monkeypatch: pytest.MonkeyPatch, payloads: dict[str, Any]) -> str:
    bad = orders("2026-11-01", [5]).set_column(0, "id", pa.array(["not-a-number"]))
    payloads["2026-11-01"] = bad
    return "invalid input syntax for type bigint"


def _copy_raises_after_delete(monkeypatch: pytest.MonkeyPatch, payloads: dict[str, Any]) -> str:
    payloads["2026-11-01"] = orders("2026-11-01", [5])

    def copy_then_fail(pg: psycopg.Connection, schema: str, table: str, data: pa.Table) -> None:
        remaining = pg.execute(
            f"SELECT count(*) FROM {qualified(schema, table)} WHERE partition_date = DATE '2026-11-01'"
        ).fetchone()
        assert remaining == (0,), "the slice is deleted inside the transaction before the COPY"
        raise RuntimeError("COPY interrupted")

    monkeypatch.setattr(postgres_sessions, "copy_rows", copy_then_fail)
    return "COPY interrupted"


@pytest.mark.parametrize("break_rerun", [_bad_type_rerun, _copy_raises_after_delete])
def test_failed_rerun_keeps_the_previous_rows(
    pg_url: str,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
    break_rerun: Callable[[pytest.MonkeyPatch, dict[str, Any]], str],
) -> None:
    payloads = {"2026-11-01": orders("2026-11-01", [1, 2]), "2026-11-02": orders("2026-11-02", [3])}
    asset = partitioned_asset("orders", by_partition(payloads))
    materialize([asset], pg_url, schema, "2026-11-01")
    materialize([asset], pg_url, schema, "2026-11-02")

    reason = break_rerun(monkeypatch, payloads)
    result = materialize([asset], pg_url, schema, "2026-11-01", raise_on_error=False)

    assert not result.success
    assert reason in step_failure_text(result)
    rows = fetch(pg_url, f"SELECT {ORDER_COLUMNS} FROM {qualified(schema, 'orders')} ORDER BY id")
    assert rows == expected("2026-11-01", [1, 2]) + expected("2026-11-02", [3])


def test_columns_are_inserted_by_name_whatever_their_order(pg_url: str, schema: str) -> None:
    reordered = orders("2026-11-02", [3, 4])
    reordered = reordered.select(list(reversed(reordered.column_names)))
    payloads = {"2026-11-01": orders("2026-11-01", [1]), "2026-11-02": reordered}
    asset = partitioned_asset("orders", by_partition(payloads))

    materialize([asset], pg_url, schema, "2026-11-01")
    materialize([asset], pg_url, schema, "2026-11-02")

    rows = fetch(pg_url, f"SELECT {ORDER_COLUMNS} FROM {qualified(schema, 'orders')} ORDER BY id")
    assert rows == expected("2026-11-01", [1]) + expected("2026-11-02", [3, 4])


def test_a_new_column_is_added_and_old_rows_get_null(pg_url: str, schema: str) -> None:
    grown = orders("2026-11-02", [3]).append_column("discount", pa.array([0.25]))
    payloads = {"2026-11-01": orders("2026-11-01", [1, 2]), "2026-11-02": grown}
    asset = partitioned_asset("orders", by_partition(payloads))

    materialize([asset], pg_url, schema, "2026-11-01")
    result = materialize([asset], pg_url, schema, "2026-11-02")

    rows = fetch(pg_url, f"SELECT id, discount FROM {qualified(schema, 'orders')} ORDER BY id")
    assert rows == [(1, None), (2, None), (3, 0.25)]
    [materialization] = result.asset_materializations_for_node("orders")
    columns = [c.name for c in materialization.metadata["dagster/column_schema"].value.columns]
    assert columns[-1] == "discount"


def test_a_partition_range_replaces_exactly_the_range(pg_url: str, schema: str) -> None:
    keys = ["2026-11-01", "2026-11-02", "2026-11-03"]
    payloads = {key: orders(key, [n, n + 10]) for n, key in enumerate(keys, start=1)}
    asset = partitioned_asset("orders", by_partition(payloads))
    materialize([asset], pg_url, schema, tags={RANGE_START: keys[0], RANGE_END: keys[2]})

    payloads["2026-11-01"] = orders("2026-11-01", [101])
    payloads["2026-11-02"] = orders("2026-11-02", [102, 202])
    result = materialize([asset], pg_url, schema, tags={RANGE_START: keys[0], RANGE_END: keys[1]})

    rows = fetch(pg_url, f"SELECT {ORDER_COLUMNS} FROM {qualified(schema, 'orders')} ORDER BY id")
    assert rows == sorted(
        expected("2026-11-01", [101]) + expected("2026-11-02", [102, 202]) + expected("2026-11-03", [3, 13])
    )
    assert len(result.asset_materializations_for_node("orders")) == 2


STAGED_METADATA = {
    "plumbing/primary_key": ["id"],
    "plumbing/cursor": "updated_at",
    "plumbing/current_view": "latest_per_key",
}
CUSTOMERS = StreamConfig(
    stream="customers",
    sync_mode="incremental",
    destination_sync_mode="merge",
    primary_key=[["id"]],
    cursor_field=["updated_at"],
    fields={
        "id": FieldSpec(type="integer"),
        "amount": FieldSpec(type="number"),
        "updated_at": FieldSpec(type="string", format="date-time"),
    },
)


def landed(key: str, rows: Sequence[tuple[int | None, int | str | None, float]]) -> LandedDays:
    """A landed day: (id, updated_at hour — or a text that is no timestamp — or None, amount)."""

    def moment(hour: int | str | None) -> str | None:
        return hour if not isinstance(hour, int) else at(key, hour).isoformat()

    table = pa.Table.from_pylist(
        [{"id": i, "amount": amount, "updated_at": moment(hour)} for i, hour, amount in rows],
        schema=landing_schema(CUSTOMERS.fields),
    )
    return LandedDays(landed=landed_in_memory(CUSTOMERS, day(key), table))


@pytest.mark.parametrize("native_checks", [True, False], ids=["pg_input_is_valid", "pre-16 functions"])
def test_landed_days_are_staged_with_rejected_rows_and_the_current_view(
    pg_url: str, schema: str, monkeypatch: pytest.MonkeyPatch, native_checks: bool
) -> None:
    if not native_checks:  # as on a server before Postgres 16
        monkeypatch.setattr(postgres_staging, "NATIVE_CHECKS_FROM", 10**9)
    second = landed("2026-11-02", [(1, 12, 1.5), (3, 7, 2.0), (3, 8, 3.0), (4, None, 4.5), (None, 1, 9.5)])
    payloads = {
        "2026-11-01": landed("2026-11-01", [(1, 10, 1.0), (2, 10, 2.0), (4, 9, 4.0), (5, "bad date", 5.5)]),
        "2026-11-02": LandedDays(landed=second.landed, metadata={"plumbing/source_rows": 5}),
    }
    asset = partitioned_asset("customers", by_partition(payloads), STAGED_METADATA)

    materialize([asset], pg_url, schema, "2026-11-01")
    result = materialize([asset], pg_url, schema, "2026-11-02")

    current = fetch(
        pg_url,
        f"SELECT id, amount, partition_date FROM {qualified(schema, 'customers__current')} ORDER BY id",
    )
    assert current == [
        (1, 1.5, day("2026-11-02")),
        (2, 2.0, day("2026-11-01")),
        (3, 3.0, day("2026-11-02")),  # the newer of the day's two versions
        (4, 4.0, day("2026-11-01")),  # a NULL cursor never beats a known one
    ]
    rejected_table = qualified(schema, "customers__rejected")
    rejected_rows = fetch(
        pg_url,
        f"SELECT partition_date, _reject_reason, _record::jsonb ->> 'amount' FROM {rejected_table} "
        "ORDER BY partition_date, _reject_reason",
    )
    assert rejected_rows == [
        (day("2026-11-01"), "field updated_at: bad date is not timestamp with time zone", "5.5"),
        (day("2026-11-02"), "missing primary key id", "9.5"),
    ]
    [materialization] = result.asset_materializations_for_node("customers")
    assert materialization.metadata["dagster/row_count"].value == 3
    assert materialization.metadata["plumbing/rejected_count"].value == 1
    assert materialization.metadata["plumbing/duplicates_dropped"].value == 1
    assert materialization.metadata["plumbing/source_rows"].value == 5
    assert "dagster/column_schema" in materialization.metadata

    payloads["2026-11-02"] = landed("2026-11-02", [(1, 12, 1.5)])
    materialize([asset], pg_url, schema, "2026-11-02")
    rejected_rows = fetch(pg_url, f"SELECT partition_date, _reject_reason FROM {rejected_table}")
    assert rejected_rows == [rejected_rows[0]] and rejected_rows[0][0] == day("2026-11-01")


def test_current_view_is_rebuilt_when_its_columns_change(pg_url: str, schema: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {quote(schema)}")
        conn.execute(f"CREATE VIEW {qualified(schema, 'customers__current')} AS SELECT 1 AS x")
    payloads = {
        "2026-11-01": landed("2026-11-01", [(1, 1, 1.0), (2, 1, 2.0)]),
        "2026-11-02": landed("2026-11-02", [(2, 2, 20.0)]),
    }
    asset = partitioned_asset(
        "customers",
        by_partition(payloads),
        {"plumbing/primary_key": ["id"], "plumbing/current_view": "latest_partition"},
    )

    materialize([asset], pg_url, schema, "2026-11-01")
    materialize([asset], pg_url, schema, "2026-11-02")

    current = fetch(pg_url, f"SELECT id, amount FROM {qualified(schema, 'customers__current')}")
    assert current == [(2, 20.0)]


def test_inputs_load_the_partition_slice_as_arrow_or_pandas(pg_url: str, schema: str) -> None:
    payloads = {"2026-11-01": orders("2026-11-01", [1, 2]), "2026-11-02": orders("2026-11-02", [3])}
    upstream = partitioned_asset("orders", by_partition(payloads))
    loaded: dict[str, Any] = {}

    @dg.asset(partitions_def=DAILY)
    def as_arrow(orders: pa.Table) -> None:
        loaded["arrow"] = orders

    @dg.asset(partitions_def=DAILY)
    def as_pandas(orders: pd.DataFrame) -> None:
        loaded["pandas"] = orders

    materialize([upstream], pg_url, schema, "2026-11-01")
    materialize([upstream, as_arrow, as_pandas], pg_url, schema, "2026-11-02")

    assert isinstance(loaded["arrow"], pa.Table)
    assert loaded["arrow"].column("id").to_pylist() == [3]
    assert loaded["arrow"].column("updated_at").to_pylist() == [at("2026-11-02", 3)]
    assert isinstance(loaded["pandas"], pd.DataFrame)
    assert loaded["pandas"]["customer"].tolist() == ["c3"]


def test_pandas_dataframes_and_other_arrow_types_are_written(pg_url: str, schema: str) -> None:
    frame = pd.DataFrame(
        {
            "id": pd.array([1, 2], dtype="int32"),
            "name": ['a,"quoted"\nline', None],
            "empty": ["", None],
            "flag": [True, False],
            "seen_at": pd.to_datetime(["2026-11-01 10:00:00.5", "2026-11-01 23:59:59.0"]).tz_localize(
                "Europe/Paris"
            ),
            "local_time": pd.to_datetime(["2026-11-01 10:00", "2026-11-01 11:00"]),
            "partition_date": [date(2026, 11, 1)] * 2,
        }
    )
    extras = pa.table(
        {
            "id": pa.array([3], pa.int32()),
            "price": pa.array([Decimal("12.34")], pa.decimal128(10, 2)),
            "tags": pa.array([["x", "y"]], pa.list_(pa.string())),
            "address": pa.array([{"city": "Zürich", "zip": 8000}]),
            "blob": pa.array([b"\x00\xff"], pa.binary()),
            "kind": pa.array(["k"]).dictionary_encode(),
            "partition_date": pa.array([date(2026, 11, 2)], pa.date32()),
        }
    )
    asset = partitioned_asset("mixed", by_partition({"2026-11-01": frame, "2026-11-02": extras}))

    materialize([asset], pg_url, schema, "2026-11-01")
    materialize([asset], pg_url, schema, "2026-11-02")

    rows = fetch(
        pg_url,
        "SELECT id, name, empty, flag, seen_at, local_time, price, tags, address, blob, kind "
        f"FROM {qualified(schema, 'mixed')} ORDER BY id",
    )
    paris = timedelta(hours=1)
    assert rows == [
        (1, 'a,"quoted"\nline', "", True, datetime(2026, 11, 1, 9, 0, 0, 500000, tzinfo=UTC),
         datetime(2026, 11, 1, 10), None, None, None, None, None),
        (2, None, None, False, datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC) - paris,
         datetime(2026, 11, 1, 11), None, None, None, None, None),
        (3, None, None, None, None, None, Decimal("12.34"), ["x", "y"],
         {"city": "Zürich", "zip": 8000}, b"\x00\xff", "k"),
    ]  # fmt: skip
    types = dict(
        fetch(
            pg_url,
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = 'mixed'",
        )
    )
    assert types["id"] == "integer"
    assert types["price"] == "numeric"
    assert types["tags"] == types["address"] == "jsonb"
    assert types["blob"] == "bytea"
    assert types["local_time"] == "timestamp without time zone"


def test_writers_of_different_partitions_of_a_new_table_run_concurrently(pg_url: str, schema: str) -> None:
    # Existing schema, new table: without the advisory lock both runs see no table, both CREATE
    # it, and the second fails on the duplicate once the first commits.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {quote(schema)}")
    both_computed = threading.Barrier(2, timeout=30)
    ids = {"2026-11-01": range(0, 40_000), "2026-11-02": range(40_000, 80_000)}

    def produce(context: dg.AssetExecutionContext) -> pa.Table:
        data = orders(context.partition_key, ids[context.partition_key])
        both_computed.wait()
        return data

    asset = partitioned_asset("orders", produce)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(materialize, [asset], pg_url, schema, key) for key in ids]
        results = [run.result() for run in runs]

    assert all(result.success for result in results)
    counts = fetch(
        pg_url,
        f"SELECT partition_date, count(*), min(id), max(id) FROM {qualified(schema, 'orders')} "
        "GROUP BY partition_date ORDER BY partition_date",
    )
    assert counts == [
        (day("2026-11-01"), 40_000, 0, 39_999),
        (day("2026-11-02"), 40_000, 40_000, 79_999),
    ]


def test_a_writer_waits_for_the_table_lock_and_times_out_clearly(pg_url: str, schema: str) -> None:
    asset = partitioned_asset("orders", by_partition({"2026-11-01": orders("2026-11-01", [1])}))
    with psycopg.connect(pg_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{schema}.orders"])
        result = materialize(
            [asset], pg_url, schema, "2026-11-01", raise_on_error=False, lock_timeout_seconds=0.3
        )
        holder.rollback()

    assert not result.success
    assert f"write lock on {schema}.orders" in step_failure_text(result)
    materialize([asset], pg_url, schema, "2026-11-01")
    assert fetch(pg_url, f"SELECT count(*) FROM {qualified(schema, 'orders')}") == [(1,)]


def test_unreachable_postgres_fails_clearly_without_the_password() -> None:
    url = "postgresql://plumber:s3cret-Pw@127.0.0.1:1/warehouse"
    asset = partitioned_asset("orders", by_partition({"2026-11-01": orders("2026-11-01", [1])}))

    result = materialize([asset], url, "anything", "2026-11-01", raise_on_error=False)

    message = step_failure_text(result)
    assert "could not connect to Postgres at 127.0.0.1:1/warehouse" in message
    assert "s3cret" not in message
    with pytest.raises(PostgresConnectionError) as raised:
        query_arrow(url, "SELECT 1")
    assert "127.0.0.1:1/warehouse" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_query_arrow_runs_sql_with_parameters(pg_url: str, schema: str) -> None:
    asset = partitioned_asset("orders", by_partition({"2026-11-01": orders("2026-11-01", [1, 2])}))
    materialize([asset], pg_url, schema, "2026-11-01")

    table = query_arrow(
        pg_url,
        f"SELECT id, updated_at::date AS day FROM {qualified(schema, 'orders')} WHERE id > $1 ORDER BY id",
        [1],
    )
    assert table.to_pylist() == [{"id": 2, "day": day("2026-11-01")}]


def test_connect_info_names_host_port_and_database_only() -> None:
    assert pg_connect_info_safe("postgresql://u:pw@db.example:6543/wh?sslmode=require") == (
        "db.example:6543/wh"
    )
    assert pg_connect_info_safe("host=h dbname=d user=u password=pw") == "h:5432/d"
    assert pg_connect_info_safe("postgresql://u@h") == "h:5432/u"
