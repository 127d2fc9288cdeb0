"""The type handlers both warehouse IO managers use, written once against `WarehouseSession`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice

from plumbing_dagster.io_managers.sql import (
    META_ONE_DAY_PER,
    META_ONE_DAY_PER_KEY,
    META_ONE_DAY_PER_VIEW,
    delete_statement,
    select_statement,
    superseded_filter,
)
from plumbing_dagster.io_managers.staged import META_CURRENT_VIEW, META_CURSOR, LandedDays, key_columns
from plumbing_dagster.tables import CURRENT_SUFFIX, KEYS_SUFFIX, REJECTED_SUFFIX, qualified, quote
from plumbing_dagster.warehouses.base import WarehouseSession, current_view_sql


def table_metadata(
    session: WarehouseSession, schema: str, table: str, rows: int, definition: dg.TableSchema | None = None
) -> dict[str, Any]:
    """Row count and the table's actual columns, with the descriptions the definition gives them."""
    described = {c.name: c.description for c in definition.columns} if definition else {}
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(name, kind, description=described.get(name) or "")
                for name, kind in session.columns(schema, table).items()
            ]
        ),
        "dagster/row_count": rows,
        "plumbing/warehouse": session.location,
    }


def _replace_slice(connection: WarehouseSession, table_slice: TableSlice, table: str, data: pa.Table) -> None:
    """The slice's partitions of a companion table (`__rejected`, `__keys`) replaced by `data`."""
    if connection.table_exists(table_slice.schema, table):
        connection.execute(delete_statement(table_slice, table))
    connection.write(table_slice.schema, table, data)


def _remove_superseded(
    context: dg.OutputContext, connection: WarehouseSession, table_slice: TableSlice, where: str | None
) -> None:
    """Rows of other days whose key's current version is in the written days, deleted (and said)."""
    if where is None:
        return
    table = qualified(table_slice.schema, table_slice.table)
    part = quote(table_slice.partition_dimensions[0].partition_expr)
    moved = connection.rows(
        f"SELECT CAST({part} AS VARCHAR) AS moved_day, count(*) AS moved_rows "
        f"FROM {table} WHERE {where} GROUP BY 1 ORDER BY 1"
    )
    if moved:
        connection.execute(f"DELETE FROM {table} WHERE {where}")
        context.log.info(
            f"{table_slice.schema}.{table_slice.table}: rows whose current version is now in the written "
            "days left " + ", ".join(f"{m['moved_day']} ({m['moved_rows']} rows)" for m in moved)
        )


class ArrowHandler(DbTypeHandler[pa.Table]):
    """Arrow tables, written by column name; inputs read the slice as Arrow."""

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pa.Table, connection: WarehouseSession
    ) -> Mapping[str, Any]:
        connection.write(table_slice.schema, table_slice.table, obj)
        metadata = context.definition_metadata or {}
        if metadata.get(META_ONE_DAY_PER):
            _remove_superseded(
                context,
                connection,
                table_slice,
                superseded_filter(
                    table_slice,
                    metadata[META_ONE_DAY_PER],
                    metadata[META_ONE_DAY_PER_VIEW],
                    metadata[META_ONE_DAY_PER_KEY],
                ),
            )
        return table_metadata(connection, table_slice.schema, table_slice.table, obj.num_rows)

    def load_input(
        self, context: dg.InputContext, table_slice: TableSlice, connection: WarehouseSession
    ) -> pa.Table:
        return connection.read(select_statement(table_slice))

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pa.Table]


class LandedDaysHandler(DbTypeHandler[LandedDays]):
    """Landed days staged in the open transaction: rows, records put aside, key snapshots, and
    the `__current` view. The days' rows of the staged table are already deleted (DbClient)."""

    def handle_output(
        self,
        context: dg.OutputContext,
        table_slice: TableSlice,
        obj: LandedDays,
        connection: WarehouseSession,
    ) -> Mapping[str, Any]:
        schema, table = table_slice.schema, table_slice.table
        if connection.table_exists(schema, table + REJECTED_SUFFIX):
            connection.execute(delete_statement(table_slice, table + REJECTED_SUFFIX))
        days = connection.stage(schema, table, obj.landed)
        if obj.keys is not None:
            _replace_slice(connection, table_slice, table + KEYS_SUFFIX, obj.keys)

        metadata = context.definition_metadata or {}
        mode = metadata.get(META_CURRENT_VIEW)
        if mode:
            columns = list(connection.columns(schema, table))
            keys_table = table + KEYS_SUFFIX if connection.table_exists(schema, table + KEYS_SUFFIX) else None
            body = current_view_sql(
                schema, table, columns, key_columns(metadata), metadata.get(META_CURSOR), mode, keys_table
            )
            connection.replace_view(schema, table + CURRENT_SUFFIX, body)
        if obj.on_staged is not None:
            obj.on_staged(days)
        definition = metadata.get("dagster/column_schema")
        totals = {
            name: sum(getattr(day, name) for day in days.values())
            for name in ("landed", "staged", "rejected", "duplicates")
        }
        context.log.info(
            f"{schema}.{table}: {totals['landed']} landed rows over {len(obj.landed.days)} day(s) -> "
            f"{totals['staged']} staged, {totals['rejected']} put aside, "
            f"{totals['duplicates']} older versions dropped"
        )
        return {
            **table_metadata(
                connection, schema, table, totals["staged"], getattr(definition, "schema", definition)
            ),
            "plumbing/rejected_count": totals["rejected"],
            "plumbing/landed_rows": totals["landed"],
            "plumbing/duplicates_dropped": totals["duplicates"],
            **obj.metadata,
        }

    def load_input(
        self, context: dg.InputContext, table_slice: TableSlice, connection: WarehouseSession
    ) -> LandedDays:
        raise TypeError("a staged table is loaded as a pyarrow Table (or a pandas DataFrame)")

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [LandedDays]


def type_handlers() -> list[DbTypeHandler]:
    """Landed days to stage and Arrow; pandas DataFrames too once pandas is loaded (an asset that returns
    one has imported it), so code locations that never use pandas never pay its import."""
    handlers: list[DbTypeHandler] = [LandedDaysHandler(), ArrowHandler()]
    if "pandas" in sys.modules:
        from plumbing_dagster.io_managers.pandas import PandasViaArrowHandler

        handlers.append(PandasViaArrowHandler(ArrowHandler()))
    return handlers
