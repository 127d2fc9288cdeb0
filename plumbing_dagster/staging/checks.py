"""Asset checks generated from the stream configs, for every staging asset.

- `key_unique_and_not_null` (blocking; `key_not_null` for append streams, which keep every
  landed version): no null key, no record put aside for a missing key, and for merge streams one
  row per key per day. Downstream assets in the same run wait for it.
- `reconciles_with_landing`: every staged key was landed that day, and every landed key is
  either staged or put aside with a reason; nothing is invented.
- `matches_contract`: the table's columns and types are the contract's.
- `no_rejected_records` (warning): records put aside for the window, with their reasons.
All checks are partitioned like their asset, look at the run's partition window only, and run
together in one op.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg
from dagster import AssetCheckExecutionContext

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.keys import staging_key
from plumbing_dagster.partitions import run_days
from plumbing_dagster.resources import LandingZoneResource, WarehouseResource
from plumbing_dagster.staging.landed import read_landed_days
from plumbing_dagster.tables import (
    PARTITION_COLUMN,
    REJECT_REASON_COLUMN,
    REJECTED_SUFFIX,
    days_filter,
    qualified,
    quote,
)
from plumbing_dagster.warehouses import WAREHOUSES

MISSING_KEY_REASON = "missing primary key"


def key_check_name(config: StreamConfig) -> str:
    return "key_unique_and_not_null" if config.destination_sync_mode == "merge" else "key_not_null"


CHECK_DESCRIPTIONS = {
    "key_unique_and_not_null": "The key is unique per day and never null; no record lacks it.",
    "key_not_null": "The key is never null; no record lacks it (an append stream keeps every version).",
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

    def run(
        self, name: str, reader: WarehouseResource, landing: LandingZoneResource, days: list[date]
    ) -> dg.AssetCheckResult:
        """The named check over `days`."""
        if name == "reconciles_with_landing":
            return self.reconciles_with_landing(reader, landing, days)
        if name == "matches_contract":
            return self.matches_contract(reader)
        if name == "no_rejected_records":
            return self.no_rejected_records(reader, days)
        return self.key_check(reader, days)

    def key_check(self, reader: WarehouseResource, days: list[date]) -> dg.AssetCheckResult:
        where = days_filter(days)
        duplicates = (
            f"""(SELECT count(*) FROM (SELECT {self.key_sql} FROM {self.table} WHERE {where}
                   GROUP BY {quote(PARTITION_COLUMN)}, {self.key_sql} HAVING count(*) > 1) AS d)
                 AS duplicate_keys,"""
            if self.config.destination_sync_mode == "merge"
            else ""
        )
        counts = reader.rows(
            self.warehouse,
            f"""SELECT {duplicates}
                  (SELECT count(*) FROM {self.table} WHERE {where} AND ({self.any_key_null})) AS null_keys,
                  (SELECT count(*) FROM {self.rejected_table} WHERE {where} AND
                     {quote(REJECT_REASON_COLUMN)} LIKE '{MISSING_KEY_REASON}%') AS records_without_key""",
        )[0]
        counts = {name: int(value) for name, value in counts.items()}
        return dg.AssetCheckResult(
            check_name=key_check_name(self.config),
            passed=not any(counts.values()),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=counts,
        )

    def reconciles_with_landing(
        self, reader: WarehouseResource, landing: LandingZoneResource, days: list[date]
    ) -> dg.AssetCheckResult:
        where = days_filter(days)
        landed = read_landed_days(landing.zone(), self.source, self.config, days, columns=self.keys)
        staged = reader.query(
            self.warehouse,
            f"SELECT {quote(PARTITION_COLUMN)}, {self.key_sql} FROM {self.table} WHERE {where}",
        )
        rejected = reader.rows(
            self.warehouse,
            f"""SELECT count(*) AS rejected,
                       count(*) FILTER (WHERE {quote(REJECT_REASON_COLUMN)} NOT LIKE '{MISSING_KEY_REASON}%')
                         AS rejected_with_key
                FROM {self.rejected_table} WHERE {where}""",
        )[0]
        import duckdb  # only in processes that use DuckDB: see plumbing_dagster.exit

        conn = duckdb.connect()
        try:
            conn.register("landed", landed)
            conn.register("staged", staged)
            on = " AND ".join(f"l.{quote(c)} = s.{quote(c)}" for c in [PARTITION_COLUMN, *self.keys])
            landed_keys = (
                f"(SELECT DISTINCT {quote(PARTITION_COLUMN)}, {self.key_sql} FROM landed "
                f"WHERE NOT ({self.any_key_null}))"
            )
            stats = conn.sql(
                f"""SELECT
                  (SELECT count(*) FROM landed) AS landed_rows,
                  (SELECT count(*) FROM {landed_keys}) AS landed_keys,
                  (SELECT count(*) FROM staged) AS staged_rows,
                  (SELECT count(*) FROM staged s WHERE NOT EXISTS
                     (SELECT 1 FROM landed l WHERE {on})) AS staged_not_landed,
                  (SELECT count(*) FROM {landed_keys} l WHERE NOT EXISTS
                     (SELECT 1 FROM staged s WHERE {on})) AS landed_not_staged"""
            ).fetchall()
            names = ["landed_rows", "landed_keys", "staged_rows", "staged_not_landed", "landed_not_staged"]
            counts = dict(zip(names, stats[0], strict=True))
        finally:
            conn.close()
        stats_all = {name: int(value) for name, value in {**counts, **rejected}.items()}
        passed = (
            stats_all["staged_not_landed"] == 0
            and stats_all["landed_not_staged"] <= stats_all["rejected_with_key"]
            and stats_all["staged_rows"] + stats_all["rejected"] <= stats_all["landed_rows"]
        )
        return dg.AssetCheckResult(check_name="reconciles_with_landing", passed=passed, metadata=stats_all)

    def matches_contract(self, reader: WarehouseResource) -> dg.AssetCheckResult:
        actual = reader.get(self.warehouse).columns(self.source, self.config.stream)
        kind = WAREHOUSES[self.warehouse]
        problems = []
        for name, spec in self.config.fields.items():
            wanted = kind.type_name(spec)
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
                FROM {self.rejected_table} WHERE {days_filter(days)}
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
    key_check = key_check_name(config)
    names = [key_check, "reconciles_with_landing", "matches_contract", "no_rejected_records"]
    if not config.checks.reconcile_with_landing:
        names.remove("reconciles_with_landing")
    specs = [
        dg.AssetCheckSpec(
            name=name,
            asset=key,
            description=CHECK_DESCRIPTIONS[name],
            blocking=name == key_check,  # duplicates and missing keys must not flow downstream
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
        days = run_days(context)
        selected = [
            name for name in names if dg.AssetCheckKey(key, name) in context.selected_asset_check_keys
        ]
        if len(days) > 1:
            # A range run: each day gets its own evaluation (the result yielded below has no
            # partition, and the UI would show the days' checks as skipped).
            for day in days:
                for name in selected:
                    result = checks.run(name, warehouse_reader, landing, [day])
                    context.op_execution_context.log_event(
                        dg.AssetCheckEvaluation(
                            asset_key=key,
                            check_name=name,
                            passed=result.passed,
                            metadata=result.metadata,
                            severity=result.severity,
                            partition=f"{day:%Y-%m-%d}",
                        )
                    )
        for name in selected:
            yield checks.run(name, warehouse_reader, landing, days)

    return [staging_checks]
