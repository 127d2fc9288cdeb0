"""Breaks when the private dagster internals the warehouse IO managers are built on change shape.

`plumbing_dagster/io_managers/{duckdb,postgres}.py` rely on `dagster._core.storage.db_io_manager`:
`DbIOManager.handle_output` must run connect -> ensure_schema_exists -> delete_table_slice ->
handler.handle_output inside ONE `connect` context (the clients open their transaction there and
roll back when an exception leaves it). If a test here fails after a dagster upgrade, re-read
that module before changing the expectations.
"""

import inspect
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from dagster._core.definitions.partitions.utils import TimeWindow
from dagster._core.storage import db_io_manager
from dagster._core.storage.db_io_manager import (
    DbClient,
    DbIOManager,
    DbTypeHandler,
    TablePartitionDimension,
    TableSlice,
)

from plumbing_dagster.io_managers.db_client import WarehouseDbClient

DAILY = dg.DailyPartitionsDefinition(start_date="2026-10-01")
CLIENT_ABSTRACT = {"connect", "delete_table_slice", "ensure_schema_exists", "get_select_statement"}


def test_dagster_minor_version_is_the_one_the_io_managers_were_built_on() -> None:
    assert dg.__version__.split(".")[:2] == ["1", "13"]


def test_table_slice_and_partition_dimension_fields() -> None:
    assert TableSlice._fields == ("table", "schema", "database", "columns", "partition_dimensions")
    assert TablePartitionDimension._fields == ("partition_expr", "partitions")


def test_type_handler_and_client_abstract_methods() -> None:
    assert DbTypeHandler.__abstractmethods__ == frozenset({"handle_output", "load_input", "supported_types"})
    assert list(inspect.signature(DbTypeHandler.handle_output).parameters) == [
        "self",
        "context",
        "table_slice",
        "obj",
        "connection",
    ]
    assert list(inspect.signature(DbTypeHandler.load_input).parameters) == [
        "self",
        "context",
        "table_slice",
        "connection",
    ]

    abstract = {
        name for name, member in vars(DbClient).items() if getattr(member, "__isabstractmethod__", False)
    }
    assert abstract == CLIENT_ABSTRACT
    assert "get_table_name" in vars(DbClient)


def test_our_client_implements_every_abstract_client_method() -> None:
    for name in CLIENT_ABSTRACT:
        assert not getattr(getattr(WarehouseDbClient, name), "__isabstractmethod__", False), name


def test_db_io_manager_constructor_keywords() -> None:
    parameters = inspect.signature(DbIOManager.__init__).parameters
    assert {
        "type_handlers",
        "db_client",
        "database",
        "schema",
        "io_manager_name",
        "default_load_type",
    } <= set(parameters)
    assert all(
        parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in parameters if name != "self"
    )


def test_table_metadata_set_import_path_still_exists() -> None:
    from dagster._core.definitions.metadata.metadata_set import TableMetadataSet

    assert dict(TableMetadataSet(row_count=1)) == {"dagster/row_count": 1}


class RecordingClient(DbClient):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @contextmanager
    def connect(self, context: dg.OutputContext | dg.InputContext, table_slice: TableSlice) -> Iterator[Any]:
        connection = object()
        self.calls.append(("connect", table_slice))
        try:
            yield connection
        except BaseException as error:
            self.calls.append(("connect:error", type(error).__name__))
            raise
        self.calls.append(("connect:exit", connection))

    def ensure_schema_exists(
        self, context: dg.OutputContext, table_slice: TableSlice, connection: Any
    ) -> None:
        self.calls.append(("ensure_schema_exists", connection))

    def delete_table_slice(self, context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        self.calls.append(("delete_table_slice", connection))

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        return f"SELECT * FROM {table_slice.schema}.{table_slice.table}"


class RecordingHandler(DbTypeHandler[pa.Table]):
    def __init__(self, client: RecordingClient, fail: bool = False) -> None:
        self.client = client
        self.fail = fail

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pa.Table, connection: Any
    ) -> Mapping[str, Any]:
        self.client.calls.append(("handler.handle_output", connection))
        if self.fail:
            raise RuntimeError("write failed")
        return {"dagster/row_count": obj.num_rows}

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pa.Table:
        self.client.calls.append(("handler.load_input", connection))
        return pa.table({"x": [1]})

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pa.Table]


def _io_manager(client: RecordingClient, fail: bool = False) -> DbIOManager:
    return DbIOManager(
        type_handlers=[RecordingHandler(client, fail)],
        db_client=client,
        database="db",
        schema="warehouse",
        io_manager_name="Recording",
        default_load_type=pa.Table,
    )


def _output_context() -> dg.OutputContext:
    return dg.build_output_context(
        asset_key=dg.AssetKey(["orders"]),
        partition_key="2026-11-01",
        asset_partitions_def=DAILY,
        definition_metadata={"partition_expr": "partition_date"},
    )


def test_handle_output_runs_schema_delete_and_write_inside_one_connect() -> None:
    client = RecordingClient()
    context = _output_context()

    _io_manager(client).handle_output(context, pa.table({"x": [1, 2]}))

    names = [name for name, _ in client.calls]
    assert names == [
        "connect",
        "ensure_schema_exists",
        "delete_table_slice",
        "handler.handle_output",
        "connect:exit",
    ]
    table_slice = client.calls[0][1]
    assert table_slice == TableSlice(
        table="orders",
        schema="warehouse",
        database="db",
        columns=None,
        partition_dimensions=[
            TablePartitionDimension(
                partition_expr="partition_date",
                partitions=TimeWindow(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)),
            )
        ],
    )
    connections = {id(connection) for _, connection in client.calls[1:]}
    assert len(connections) == 1, "every step gets the connection connect() yielded"
    metadata = context.get_logged_metadata()
    assert metadata["dagster/row_count"].value == 2
    assert metadata["Query"].value == "SELECT * FROM warehouse.orders"
    assert metadata["dagster/table_name"].value == "db.warehouse.orders"


def test_a_failing_handler_raises_through_the_connect_context() -> None:
    client = RecordingClient()

    with pytest.raises(RuntimeError, match="write failed"):
        _io_manager(client, fail=True).handle_output(_output_context(), pa.table({"x": [1]}))

    assert [name for name, _ in client.calls][-2:] == ["handler.handle_output", "connect:error"]


def test_load_input_reads_inside_one_connect() -> None:
    client = RecordingClient()
    context = dg.build_input_context(
        upstream_output=_output_context(),
        asset_key=dg.AssetKey(["orders"]),
        partition_key="2026-11-01",
        asset_partitions_def=DAILY,
        dagster_type=dg.DagsterType(lambda _, value: True, name="Anything", typing_type=Any),
    )

    loaded = _io_manager(client).load_input(context)

    assert loaded.column("x").to_pylist() == [1]
    assert [name for name, _ in client.calls] == [
        "connect",
        "handler.load_input",
        "connect:exit",
    ]


def test_module_still_exposes_what_we_import() -> None:
    for name in ("DbClient", "DbIOManager", "DbTypeHandler", "TableSlice"):
        assert hasattr(db_io_manager, name), name
