"""Mart assets from the marts a source declares (`kit.marts.Mart`): one daily partitioned asset
per mart, computed by its SQL in its warehouse and written back through that warehouse's IO
manager, plus its checks."""

from collections.abc import Mapping

import dagster as dg
import pyarrow as pa
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from plumbing_dagster.config import ConfigError, StreamConfig
from plumbing_dagster.io_managers import io_manager_key
from plumbing_dagster.keys import mart_key, staging_key
from plumbing_dagster.kit.marts import Mart, MartCheck, MartQuery
from plumbing_dagster.partitions import BACKFILL_POLICY, run_days
from plumbing_dagster.resources import WarehouseResource
from plumbing_dagster.tables import PARTITION_COLUMN, mart_schema
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
    @dg.asset_check(
        asset=mart_key(source, mart.name),
        name=check.name,
        blocking=check.blocking,
        partitions_def=partitions_def,
        description=check.description,
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse_reader: WarehouseResource
    ) -> dg.AssetCheckResult:
        query = MartQuery(source, run_days(context))
        counts = {k: int(v) for k, v in warehouse_reader.rows(mart.warehouse, check.sql(query))[0].items()}
        return dg.AssetCheckResult(passed=bool(check.passed(counts)), metadata=counts)

    return _check


def build_mart(
    source: str, mart: Mart, partitions_def: dg.PartitionsDefinition
) -> tuple[dg.AssetsDefinition, list[dg.AssetChecksDefinition]]:
    @dg.asset(
        key=mart_key(source, mart.name),
        deps=[staging_key(source, stream) for stream in mart.reads],
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        io_manager_key=io_manager_key(mart.warehouse),
        group_name=source,
        kinds={mart.warehouse},
        owners=list(mart.owners),
        pool=WAREHOUSES[mart.warehouse].write_pool,
        metadata={"partition_expr": PARTITION_COLUMN, "schema": mart_schema(source)},
        description=mart.description,
    )
    def _mart(context: AssetExecutionContext, warehouse_reader: WarehouseResource) -> pa.Table:
        return warehouse_reader.query(mart.warehouse, mart.sql(MartQuery(source, run_days(context))))

    return _mart, [_mart_check(source, mart, check, partitions_def) for check in mart.checks]
