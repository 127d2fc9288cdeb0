"""Postgres staging's two paths give the same rows: the direct one (binary COPY into the table,
when nothing goes aside) and the SQL one it falls back to (`warehouses/postgres/staging.py`).

Each test stages landed rows — several files, as the staging asset hands them over — through a
real write transaction, and compares with the SQL path forced on the same rows where it matters.
"""

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.arrow import landing_schema
from plumbing_dagster.tables import qualified
from plumbing_dagster.warehouses.landed import LANDED_AT_COLUMN, LandedFile, LandedRows
from plumbing_dagster.warehouses.postgres import PostgresWarehouse, staging
from plumbing_dagster.warehouses.postgres.direct import NotDirect

DAY = date(2026, 11, 2)
ITEM = FieldSpec(
    type="object", properties={"sku": FieldSpec(type="string"), "qty": FieldSpec(type="integer")}
)
FIELDS = {
    "id": FieldSpec(type="integer"),
    "updated_at": FieldSpec(type="string", format="date-time"),
    "name": FieldSpec(type=["null", "string"]),
    "amount": FieldSpec(type=["null", "number"]),
    "paid": FieldSpec(type=["null", "boolean"]),
    "due": FieldSpec(type=["null", "string"], format="date"),
    "price": FieldSpec(type=["null", "string"], format="decimal"),
    "items": FieldSpec(type=["null", "array"], items=ITEM),
    "extra": FieldSpec(type=["null", "object"]),  # no shape: JSON text
}
ORDERS = StreamConfig(
    stream="orders",
    sync_mode="incremental",
    destination_sync_mode="merge",
    primary_key=[["id"]],
    cursor_field=["updated_at"],
    fields=FIELDS,
)


def order(key: int, updated: str = "2026-11-02T10:00:00Z", **values: Any) -> dict[str, Any]:
    return {"id": key, "updated_at": updated, "name": f"n{key}", **values}


def landed(
    files: Sequence[Sequence[dict[str, Any]]], config: StreamConfig = ORDERS, days: Sequence[date] = ()
) -> LandedRows:
    """One landed file per list of records, in landing order (on DAY unless `days` says)."""
    schema = landing_schema(config.fields)
    stamped = any(LANDED_AT_COLUMN in record for records in files for record in records)
    if stamped:
        schema = schema.append(pa.field(LANDED_AT_COLUMN, pa.timestamp("us", tz="UTC")))
    tables = {
        f"memory://{n}": pa.Table.from_pylist(list(records), schema=schema) for n, records in enumerate(files)
    }
    on = list(days) or [DAY] * len(files)

    def read(file: LandedFile, rows: int, columns: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
        table = tables[file.url]
        yield from (table if columns is None else table.select(list(columns))).to_batches(max_chunksize=2)

    return LandedRows(
        config=config,
        days=tuple(sorted(set(on))),
        files=tuple(LandedFile(day, url) for day, url in zip(on, tables, strict=True)),
        read=read,
        landed_at=stamped,
    )


@pytest.fixture
def sql_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each staging went through the SQL path (and guarded from the start)."""
    calls: list[bool] = []
    original = staging._stage_in_sql

    def recorded(*args: Any) -> Any:
        calls.append(args[-1])
        return original(*args)

    monkeypatch.setattr(staging, "_stage_in_sql", recorded)
    return calls


def stage(url: str, schema: str, rows: LandedRows, table: str = "orders") -> dict[date, Any]:
    with PostgresWarehouse(url).transaction(f"{schema}.{table}") as session:
        session.ensure_schema(schema)
        return session.stage(schema, table, rows)


def stage_in_sql(url: str, schema: str, rows: LandedRows, monkeypatch: pytest.MonkeyPatch) -> dict[date, Any]:
    def declined(*_: Any) -> Any:
        raise NotDirect("forced by the test")

    with monkeypatch.context() as patch:
        patch.setattr(staging, "stage_direct", declined)
        return stage(url, schema, rows)


def rows_of(url: str, schema: str, table: str = "orders") -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        columns = ", ".join([*FIELDS, "partition_date"])
        rows = conn.execute(
            f"SELECT {columns} FROM {qualified(schema, table)} ORDER BY id, updated_at"
        ).fetchall()
    return [tuple("NaN" if value != value else value for value in row) for row in rows]  # NaN != NaN


def rejected_of(url: str, schema: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        statement = (
            f"SELECT _reject_reason, _record FROM {qualified(schema, 'orders__rejected')} ORDER BY 1, 2"
        )
        return conn.execute(statement).fetchall()


@pytest.fixture
def other_schema(postgres_url: str) -> Iterator[str]:
    """A second schema, for the same rows staged the other way."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


EVERY_TYPE = [
    [
        order(1, "2026-11-02T09:00:00Z", amount=1.5, paid=True, due="2026-12-01", price="12.5",
              items=[{"sku": 'a "b"\\ c\n', "qty": 2}, {"sku": "ü€", "qty": None}], extra='{"k": [1, 2]}'),
        order(2, "2026-11-02 10:00:00.5+01:00", amount=-0.0, paid=False, price="-0.000000001",
              items=[], name=""),
        order(3, "2026-11-02T10:00:00.123456-05:30", amount=float("inf"), price="+" + "9" * 29),
        order(4, "2026-11-02T23:59:59+14", amount=float("nan"), price="007", due="2024-02-29", items=None,
              name=None),
    ],
    [
        order(1, "2026-11-02T11:00:00+0000", amount=2.5, price="0.1"),  # newer: wins
        order(2, "2026-11-02T09:00:00.500000Z", amount=3.5),  # as in file 0: the later file wins
        order(5, "2026-11-02T00:00:00Z", amount=1e300, price="1.000000000"),
        order(5, "2026-11-01T23:00:00Z", amount=1e-300),  # older than the row before it
    ],
]  # fmt: skip


def test_a_clean_day_goes_directly_and_gives_what_the_sql_path_gives(
    postgres_url: str,
    pg_schema: str,
    other_schema: str,
    sql_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts = stage(postgres_url, pg_schema, landed(EVERY_TYPE))
    assert sql_calls == []  # the direct path
    assert counts[DAY].landed == 8 and counts[DAY].staged == 5 and counts[DAY].rejected == 0

    assert stage_in_sql(postgres_url, other_schema, landed(EVERY_TYPE), monkeypatch) == counts
    direct = rows_of(postgres_url, pg_schema)
    assert direct == rows_of(postgres_url, other_schema)
    assert [(row[0], row[3]) for row in direct] == [
        (1, 2.5),
        (2, 3.5),
        (3, float("inf")),
        (4, "NaN"),
        (5, 1e300),
    ]
    assert str(direct[0][6]) == "0.100000000"  # decimals at scale 9, as numeric(38,9) makes them


def test_a_duplicate_key_across_two_files_keeps_the_newer(
    postgres_url: str, pg_schema: str, sql_calls: list[bool]
) -> None:
    files = [
        [order(7, "2026-11-02T12:00:00Z", name="newer")],
        [order(7, "2026-11-02T08:00:00Z", name="older")],
    ]
    counts = stage(postgres_url, pg_schema, landed(files))
    assert sql_calls == []
    assert [(row[0], row[2]) for row in rows_of(postgres_url, pg_schema)] == [(7, "newer")]
    assert (counts[DAY].staged, counts[DAY].duplicates) == (1, 1)


def test_a_value_postgres_refuses_falls_back_and_its_record_goes_aside(
    postgres_url: str,
    pg_schema: str,
    other_schema: str,
    sql_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # jsonb cannot hold \u0000: COPY fails, the savepoint is rolled back, the SQL path puts it aside.
    bad = [{"sku": "nul\u0000", "qty": 1}]
    files = [[order(1), order(2, items=bad), order(3)], [order(3, "2026-11-02T11:00:00Z"), order(4)]]
    counts = stage(postgres_url, pg_schema, landed(files))
    assert sql_calls == [True]  # guarded from the start: a value is known not to parse
    assert [row[0] for row in rows_of(postgres_url, pg_schema)] == [1, 3, 4]
    [(reason, record)] = rejected_of(postgres_url, pg_schema)
    assert reason.startswith("field items: ") and reason.endswith(" is not jsonb")
    assert '"id":2' in record
    assert (counts[DAY].landed, counts[DAY].staged, counts[DAY].rejected, counts[DAY].duplicates) == (
        5,
        3,
        1,
        1,
    )
    assert stage_in_sql(postgres_url, other_schema, landed(files), monkeypatch) == counts


def test_an_older_version_that_does_not_parse_goes_aside_as_the_sql_path_puts_it(
    postgres_url: str, pg_schema: str, sql_calls: list[bool]
) -> None:
    files = [
        [order(5, "2026-11-02T08:00:00Z", items=[{"sku": "\u0000", "qty": 1}])],
        [order(5, name="newer")],
    ]
    counts = stage(postgres_url, pg_schema, landed(files))
    assert sql_calls == [True]
    assert [(row[0], row[2]) for row in rows_of(postgres_url, pg_schema)] == [(5, "newer")]
    assert len(rejected_of(postgres_url, pg_schema)) == 1
    assert (counts[DAY].staged, counts[DAY].rejected, counts[DAY].duplicates) == (1, 1, 0)


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"updated_at": "2026-02-30T10:00:00Z"},
         "field updated_at: 2026-02-30T10:00:00Z is not timestamp with time zone"),
        ({"due": "2026-13-01"}, "field due: 2026-13-01 is not date"),
        ({"price": "1e400"}, "field price: 1e400 is not numeric(38,9)"),
    ],
)  # fmt: skip
def test_text_that_does_not_parse_goes_aside_and_the_rest_is_staged(
    postgres_url: str, pg_schema: str, sql_calls: list[bool], changed: dict[str, str], reason: str
) -> None:
    files = [[order(1), order(2, **changed)], [order(3)]]
    counts = stage(postgres_url, pg_schema, landed(files))
    assert sql_calls == [False]  # text_values refuses it: the SQL path, unguarded first
    assert [row[0] for row in rows_of(postgres_url, pg_schema)] == [1, 3]
    assert [r for r, _ in rejected_of(postgres_url, pg_schema)] == [reason]
    assert (counts[DAY].landed, counts[DAY].staged, counts[DAY].rejected) == (3, 2, 1)


@pytest.mark.parametrize(
    "spelled",
    [
        {"price": "1e3"},  # Postgres reads it, text_values does not: the SQL path, same rows
        {"updated_at": "2026-11-02T10:00:00.1234567Z"},  # 7 decimals: Postgres rounds them
        {"updated_at": "2026-11-02t10:00:00z"},
    ],
)
def test_text_in_other_shapes_is_left_to_postgres(
    postgres_url: str,
    pg_schema: str,
    other_schema: str,
    sql_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    spelled: dict[str, str],
) -> None:
    files = [[order(1), order(2, **spelled)]]
    counts = stage(postgres_url, pg_schema, landed(files))
    assert sql_calls == [False]
    assert counts[DAY].staged == 2 and counts[DAY].rejected == 0
    stage_in_sql(postgres_url, other_schema, landed(files), monkeypatch)
    assert rows_of(postgres_url, pg_schema) == rows_of(postgres_url, other_schema)


def test_a_column_of_another_type_than_the_contract_leaves_the_cast_to_sql(
    postgres_url: str, pg_schema: str, sql_calls: list[bool]
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        conn.execute(f'CREATE TABLE "{pg_schema}".orders (id bigint, amount numeric(6, 1))')
    stage(postgres_url, pg_schema, landed([[order(1, amount=2.25)]]))
    assert sql_calls == [False]  # the insert converts 2.25 into numeric(6,1); COPY would not cast
    assert rows_of(postgres_url, pg_schema)[0][3] == Decimal("2.3")


def test_a_stream_without_dedupe_and_airbyte_extraction_moments(
    postgres_url: str,
    pg_schema: str,
    other_schema: str,
    sql_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    appended = ORDERS.model_copy(update={"destination_sync_mode": "append"})
    counts = stage(postgres_url, pg_schema, landed([[order(1), order(1)], [order(1)]], appended))
    assert sql_calls == [] and counts[DAY].staged == 3

    early, late = datetime(2026, 11, 2, 1, tzinfo=UTC), datetime(2026, 11, 2, 2, tzinfo=UTC)
    files = [
        [{**order(2, name="late"), LANDED_AT_COLUMN: late}],
        [{**order(2, name="early"), LANDED_AT_COLUMN: early}],
    ]
    stage(postgres_url, pg_schema, landed(files), table="stamped")
    assert sql_calls == []
    with psycopg.connect(
        postgres_url
    ) as conn:  # equal cursors: the later extraction wins, not the later file
        assert conn.execute(f'SELECT name FROM "{pg_schema}".stamped').fetchall() == [("late",)]


def test_days_are_deduplicated_apart_and_a_failed_transaction_keeps_the_previous_rows(
    postgres_url: str, pg_schema: str, sql_calls: list[bool]
) -> None:
    second = date(2026, 11, 3)
    counts = stage(postgres_url, pg_schema, landed([[order(1)], [order(1)]], days=[DAY, second]))
    assert sql_calls == [] and [c.staged for c in counts.values()] == [1, 1]
    before = rows_of(postgres_url, pg_schema)
    with pytest.raises(RuntimeError), PostgresWarehouse(postgres_url).transaction("t") as session:
        session.execute(f'DELETE FROM "{pg_schema}".orders')
        session.stage(pg_schema, "orders", landed([[order(9)]]))
        raise RuntimeError("the run fails before commit")
    assert rows_of(postgres_url, pg_schema) == before
