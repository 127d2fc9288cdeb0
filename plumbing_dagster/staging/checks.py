"""Asset checks generated from the stream configs, for every staging asset.

- `key_unique_and_not_null` (blocking): one row per key per day, no null key, and no record put
  aside for a missing key. Downstream assets in the same run wait for it.
- `reconciles_with_landing`: every staged key was landed that day, and every landed key is
  either staged or put aside with a reason; nothing is invented.
- `matches_contract`: the table's columns and types are the contract's.
- `no_rejected_records` (warning): records put aside for the window, with their reasons.
All checks are partitioned like their asset, look at the run's partition window only, and run
together in one op.
"""

from collections.abc import Iterator, Sequence
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa
from dagster import AssetCheckExecutionContext

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.io_managers.sql import qualified, quote
from plumbing_dagster.io_managers.staged import (
    PARTITION_COLUMN,
    REJECT_REASON_COLUMN,
    REJECTED_SUFFIX,
)
from plumbing_dagster.resources import LandingZoneResource, WarehouseResource
from plumbing_dagster.sources.arrow import landing_type
from plumbing_dagster.sources.vendor import Window
from plumbing_dagster.staging.assets import staging_key
from plumbing_dagster.staging.landed import read_landed_days


def window_filter(days: Sequence[date], table_alias: str | None = None) -> str:
    column = f"{table_alias}.{quote(PARTITION_COLUMN)}" if table_alias else quote(PARTITION_COLUMN)
    return f"{column} >= DATE '{days[0]:%Y-%m-%d}' AND {column} <= DATE '{days[-1]:%Y-%m-%d}'"


def _days(context: AssetCheckExecutionContext) -> list[date]:
    window = context.partition_time_window
    return Window(window.start, window.end).days()


def expected_type(spec: FieldSpec, warehouse: str) -> str | None:
    """The information_schema data type a field must have; None accepts any nested type."""
    if warehouse == "duckdb":
        if spec.format == "date-time":
            return "TIMESTAMP WITH TIME ZONE"
        if spec.format == "date":
            return "DATE"
        if spec.is_nested:
            return None if landing_type(spec) != pa.string() else "VARCHAR"
        return {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}.get(spec.base_type, "VARCHAR")
    if spec.format == "date-time":
        return "timestamp with time zone"
    if spec.format == "date":
        return "date"
    if spec.is_nested:  # native nested values load as jsonb; loosely typed ones stay JSON text
        return "text" if landing_type(spec) == pa.string() else "jsonb"
    return {"integer": "bigint", "number": "double precision", "boolean": "boolean"}.get(
        spec.base_type, "text"
    )


CHECK_DESCRIPTIONS = {
    "key_unique_and_not_null": "The key is unique per day and never null; no record lacks it.",
    "reconciles_with_landing": "Staged keys match the day's landed files; unstaged keys were put aside.",
    "matches_contract": "Columns and types of the table are those of the stream contract.",
    "no_rejected_records": "No record of the window was put aside (see the __rejected table for reasons).",
}


class StagingChecks:
    """The SQL and arithmetic of the generated checks for one staging table."""

    def __init__(self, source: str, config: StreamConfig, warehouse: str):
        self.source = source
        self.config = config
        self.warehouse = warehouse
        self.table = qualified(source, config.stream)
        self.rejected_table = qualified(source, config.stream + REJECTED_SUFFIX)
        self.keys = config.key_columns
        self.key_sql = ", ".join(quote(k) for k in self.keys)
        self.any_key_null = " OR ".join(f"{quote(k)} IS NULL" for k in self.keys)

    def key_unique_and_not_null(self, reader: WarehouseResource, days: list[date]) -> dg.AssetCheckResult:
        where = window_filter(days)
        counts = reader.rows(
            self.warehouse,
            f"""SELECT
                  (SELECT count(*) FROM (SELECT {self.key_sql} FROM {self.table} WHERE {where}
                     GROUP BY {quote(PARTITION_COLUMN)}, {self.key_sql} HAVING count(*) > 1) AS d)
                    AS duplicate_keys,
                  (SELECT count(*) FROM {self.table} WHERE {where} AND ({self.any_key_null})) AS null_keys,
                  (SELECT count(*) FROM {self.rejected_table} WHERE {where}
                     AND {quote(REJECT_REASON_COLUMN)} LIKE 'missing primary key%') AS records_without_key""",
        )[0]
        counts = {name: int(value) for name, value in counts.items()}
        return dg.AssetCheckResult(
            check_name="key_unique_and_not_null",
            passed=not any(counts.values()),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=counts,
        )

    def reconciles_with_landing(
        self, reader: WarehouseResource, landing: LandingZoneResource, days: list[date]
    ) -> dg.AssetCheckResult:
        where = window_filter(days)
        landed = read_landed_days(landing.zone(), self.source, self.config, days, columns=self.keys)
        staged = reader.query(
            self.warehouse,
            f"SELECT {quote(PARTITION_COLUMN)}, {self.key_sql} FROM {self.table} WHERE {where}",
        )
        rejected = reader.rows(
            self.warehouse,
            f"""SELECT count(*) AS rejected,
                       count(*) FILTER (WHERE {quote(REJECT_REASON_COLUMN)} NOT LIKE 'missing primary key%')
                         AS rejected_with_key
                FROM {self.rejected_table} WHERE {where}""",
        )[0]
        conn = duckdb.connect()
        try:
            conn.register("landed", landed)
            conn.register("staged", staged)
            on = " AND ".join(f"l.{quote(c)} = s.{quote(c)}" for c in [PARTITION_COLUMN, *self.keys])
            landed_keys = (
                f"(SELECT DISTINCT {quote(PARTITION_COLUMN)}, {self.key_sql} FROM landed "
                f"WHERE NOT ({self.any_key_null}))"
            )
            stats = (
                conn.sql(
                    f"""SELECT
                      (SELECT count(*) FROM landed) AS landed_rows,
                      (SELECT count(*) FROM {landed_keys}) AS landed_keys,
                      (SELECT count(*) FROM staged) AS staged_rows,
                      (SELECT count(*) FROM staged s WHERE NOT EXISTS
                         (SELECT 1 FROM landed l WHERE {on})) AS staged_not_landed,
                      (SELECT count(*) FROM {landed_keys} l WHERE NOT EXISTS
                         (SELECT 1 FROM staged s WHERE {on})) AS landed_not_staged"""
                )
                .to_arrow_table()
                .to_pylist()[0]
            )
        finally:
            conn.close()
        stats = {name: int(value) for name, value in {**stats, **rejected}.items()}
        passed = (
            stats["staged_not_landed"] == 0
            and stats["landed_not_staged"] <= stats["rejected_with_key"]
            and stats["staged_rows"] + stats["rejected"] <= stats["landed_rows"]
        )
        return dg.AssetCheckResult(check_name="reconciles_with_landing", passed=passed, metadata=stats)

    def matches_contract(self, reader: WarehouseResource) -> dg.AssetCheckResult:
        actual = {
            row["column_name"]: row["data_type"]
            for row in reader.rows(
                self.warehouse,
                f"""SELECT column_name, data_type FROM information_schema.columns
                    WHERE table_schema = '{self.source}' AND table_name = '{self.config.stream}'""",
            )
        }
        problems = []
        for name, spec in self.config.fields.items():
            wanted = expected_type(spec, self.warehouse)
            if name not in actual:
                problems.append(f"missing column {name}")
            elif wanted is not None and actual[name] != wanted:
                problems.append(f"{name} is {actual[name]}, contract says {wanted}")
        extra = sorted(set(actual) - set(self.config.fields) - {PARTITION_COLUMN})
        problems += [f"column {name} is not in the contract" for name in extra]
        return dg.AssetCheckResult(
            check_name="matches_contract",
            passed=not problems,
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none")},
        )

    def no_rejected_records(self, reader: WarehouseResource, days: list[date]) -> dg.AssetCheckResult:
        reasons = reader.rows(
            self.warehouse,
            f"""SELECT {quote(REJECT_REASON_COLUMN)} AS reason, count(*) AS records
                FROM {self.rejected_table} WHERE {window_filter(days)}
                GROUP BY 1 ORDER BY 2 DESC LIMIT 20""",
        )
        total = sum(int(r["records"]) for r in reasons)
        listing = "\n".join(f"- {r['records']}× {r['reason']}" for r in reasons) or "none"
        return dg.AssetCheckResult(
            check_name="no_rejected_records",
            passed=total == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rejected_records": total, "reasons": dg.MetadataValue.md(listing)},
        )


def build_staging_checks(
    source: str, config: StreamConfig, partitions_def: dg.PartitionsDefinition, warehouse: str
) -> list[dg.AssetChecksDefinition]:
    """The generated checks of one staging asset, run together in one op (one process, not four)."""
    key = staging_key(source, config.stream)
    names = [
        n
        for n in CHECK_DESCRIPTIONS
        if n != "reconciles_with_landing" or config.checks.reconcile_with_landing
    ]
    specs = [
        dg.AssetCheckSpec(
            name=name,
            asset=key,
            description=CHECK_DESCRIPTIONS[name],
            blocking=name == "key_unique_and_not_null",  # duplicates must not flow downstream
            partitions_def=partitions_def,
        )
        for name in names
    ]
    checks = StagingChecks(source, config, warehouse)

    @dg.multi_asset_check(name=f"staging_{source}_{config.stream}_checks", specs=specs, can_subset=True)
    def staging_checks(
        context: AssetCheckExecutionContext,
        warehouse_reader: WarehouseResource,
        landing: LandingZoneResource,
    ) -> Iterator[dg.AssetCheckResult]:
        days = _days(context)
        selected = {check_key.name for check_key in context.selected_asset_check_keys}
        if "key_unique_and_not_null" in selected:
            yield checks.key_unique_and_not_null(warehouse_reader, days)
        if "reconciles_with_landing" in selected:
            yield checks.reconciles_with_landing(warehouse_reader, landing, days)
        if "matches_contract" in selected:
            yield checks.matches_contract(warehouse_reader)
        if "no_rejected_records" in selected:
            yield checks.no_rejected_records(warehouse_reader, days)

    return [staging_checks]
