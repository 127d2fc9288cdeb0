"""Mart assets from the marts a source declares (`kit.marts.Mart`): one daily partitioned asset
per mart, computed by its SQL in its warehouse and written back through that warehouse's IO
manager, plus its checks."""

from collections.abc import Mapping
from datetime import date

import dagster as dg
import pyarrow as pa
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from plumbing_dagster.config import ConfigError, StreamConfig
from plumbing_dagster.io_managers import io_manager_key
from plumbing_dagster.io_managers.sql import META_ONE_DAY_PER, META_ONE_DAY_PER_KEY, META_ONE_DAY_PER_VIEW
from plumbing_dagster.keys import mart_key, staging_key
from plumbing_dagster.kit.marts import Mart, MartCheck, MartQuery
from plumbing_dagster.partitions import BACKFILL_POLICY, rows_per_day, run_days
from plumbing_dagster.resources import WarehouseResource
from plumbing_dagster.tables import CURRENT_SUFFIX, PARTITION_COLUMN, mart_schema, qualified, staging_schema
from plumbing_dagster.warehouses import WAREHOUSES


def check_mart_inputs(
    source: str, mart: Mart, streams: Mapping[str, StreamConfig], warehouse_of: Mapping[str, str]
) -> bool:
    """Whether the mart can be built: False when a stream it reads is not selected; an error when
    one goes to another warehouse than the mart runs in."""
    if mart.warehouse not in WAREHOUSES:
        raise ConfigError(f"mart {source}/{mart.name}: unknown warehouse {mart.warehouse!r}")
    if any(stream not in streams for stream in mart.reads):
        return False
    for stream in mart.reads:
        if warehouse_of[stream] != mart.warehouse:
            raise ConfigError(
                f"dag/streams/{source}/{stream}.json: field 'warehouse': the mart marts/{source}/{mart.name} "
                f"reads {stream} in {mart.warehouse}, but the stream goes to {warehouse_of[stream]}"
            )
    return True


def _mart_check(
    source: str, mart: Mart, check: MartCheck, partitions_def: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    key = mart_key(source, mart.name)

    def evaluate(reader: WarehouseResource, days: list[date]) -> tuple[bool, dict[str, int]]:
        row = reader.rows(mart.warehouse, check.sql(MartQuery(source, days)))[0]
        counts = {name: int(value) for name, value in row.items()}
        return bool(check.passed(counts)), counts

    @dg.asset_check(
        asset=key,
        name=check.name,
        blocking=check.blocking,
        partitions_def=partitions_def,
        description=check.description,
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse_reader: WarehouseResource
    ) -> dg.AssetCheckResult:
        days = run_days(context)
        if len(days) > 1:  # a range run: each day its own evaluation, as for staging checks
            for day in days:
                passed, counts = evaluate(warehouse_reader, [day])
                context.op_execution_context.log_event(
                    dg.AssetCheckEvaluation(
                        asset_key=key,
                        check_name=check.name,
                        passed=passed,
                        metadata=counts,
                        partition=f"{day:%Y-%m-%d}",
                    )
                )
        passed, counts = evaluate(warehouse_reader, days)
        return dg.AssetCheckResult(passed=passed, metadata=counts)

    return _check


def _missing_upstream(
    context: AssetExecutionContext, source: str, mart: Mart, snapshots: set[str], days: list[date]
) -> list[str]:
    """What the mart needs that was never materialized: each day of the streams it reads by day,
    and some day up to the last one of the snapshot streams it reads as `__current`."""
    wanted = [f"{day:%Y-%m-%d}" for day in days]
    problems = []
    for stream in mart.reads:
        key = staging_key(source, stream)
        done = context.instance.get_materialized_partitions(key)
        if stream in snapshots:
            if not any(partition <= wanted[-1] for partition in done):
                problems.append(f"{key.to_user_string()} has no materialized day up to {wanted[-1]}")
            continue
        missing = [day for day in wanted if day not in done]
        if missing:
            problems.append(f"{key.to_user_string()} is not materialized for {', '.join(missing)}")
    return problems


def _one_day_per(source: str, mart: Mart, streams: Mapping[str, StreamConfig]) -> dict[str, str]:
    """The IO manager's instructions for a mart whose rows follow their key's current version."""
    if mart.one_day_per is None:
        return {}
    column, stream = mart.one_day_per
    if stream not in mart.reads:
        raise ConfigError(
            f"mart {source}/{mart.name}: one_day_per refers to {stream}, which it does not read"
        )
    keys = streams[stream].key_columns
    if len(keys) != 1:
        raise ConfigError(
            f"mart {source}/{mart.name}: one_day_per needs {stream} to have one key column, not {keys}"
        )
    return {
        META_ONE_DAY_PER: column,
        META_ONE_DAY_PER_VIEW: qualified(staging_schema(source), stream + CURRENT_SUFFIX),
        META_ONE_DAY_PER_KEY: keys[0],
    }


def build_mart(
    source: str, mart: Mart, streams: Mapping[str, StreamConfig], partitions_def: dg.PartitionsDefinition
) -> tuple[dg.AssetsDefinition, list[dg.AssetChecksDefinition]]:
    key = mart_key(source, mart.name)
    snapshots = {name for name in mart.reads if streams[name].sync_mode == "full_refresh"}

    @dg.asset(
        key=key,
        deps=[staging_key(source, stream) for stream in mart.reads],
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        io_manager_key=io_manager_key(mart.warehouse),
        group_name=source,
        kinds={mart.warehouse},
        owners=list(mart.owners),
        pool=WAREHOUSES[mart.warehouse].write_pool,
        metadata={
            "partition_expr": PARTITION_COLUMN,
            "schema": mart_schema(source),
            **_one_day_per(source, mart, streams),
        },
        description=mart.description,
    )
    def _mart(context: AssetExecutionContext, warehouse_reader: WarehouseResource) -> pa.Table:
        days = run_days(context)
        missing = _missing_upstream(context, source, mart, snapshots, days)
        if missing:
            span = f"{days[0]}" + (f"..{days[-1]}" if len(days) > 1 else "")
            raise dg.Failure(
                f"{key.to_user_string()} for {span} needs what is not there yet: {'; '.join(missing)}. "
                f"Materialize those first, or select the mart with its upstreams (+{key.to_user_string()})."
            )
        table = warehouse_reader.query(mart.warehouse, mart.sql(MartQuery(source, days)))
        counts = rows_per_day(table)
        for day in days:  # each day's own row count (a range run makes one materialization per day)
            partition = f"{day:%Y-%m-%d}"
            context.add_asset_metadata(
                {"dagster/row_count": counts.get(partition, 0)}, partition_key=partition
            )
        return table

    return _mart, [_mart_check(source, mart, check, partitions_def) for check in mart.checks]
