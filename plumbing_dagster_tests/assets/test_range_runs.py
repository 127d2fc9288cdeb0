"""After one run over a range of days, every day tells its own truth: one materialization per day
with that day's rows, and one evaluation per day per check."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import dagster as dg

from plumbing_dagster.keys import raw_key
from plumbing_dagster.sources.shop import ShopWorld
from plumbing_dagster_tests.assets.helpers import day_window
from plumbing_dagster_tests.conftest import definitions_for, materialize

FIRST, DAYS = date(2026, 10, 3), 3
RANGE = [f"{FIRST + timedelta(days=i):%Y-%m-%d}" for i in range(DAYS)]
STAGING = dg.AssetKey(["staging", "shop", "orders"])
RAW = raw_key("shop", "orders")


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, day: str) -> list[dg.AssetMaterialization]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=10
    )
    return [r.asset_materialization for r in records.records if r.asset_materialization is not None]


def test_a_range_run_reports_each_days_rows_and_checks(sandbox):
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(
        definitions_for(sandbox),
        ["raw/shop/orders_landed", "staging/shop/orders"],
        partition_range=(RANGE[0], RANGE[-1]),
        instance=instance,
    )
    assert result.success
    world = ShopWorld()
    for day in RANGE:
        expected = len(world.orders_updated_between(*day_window(day)))
        (staged,) = _latest(instance, STAGING, day)  # one materialization per day
        assert staged.metadata["dagster/row_count"].value == expected
        assert staged.metadata["plumbing/landed_rows"].value == expected
        assert staged.metadata["plumbing/days"].value == 1
        assert list(staged.metadata["plumbing/landing_fingerprints"].value) == [day]
        (raw,) = _latest(instance, RAW, day)
        assert (
            raw.metadata["dagster/row_count"].value == expected and raw.metadata["plumbing/files"].value == 1
        )

    evaluations = [
        e.event_specific_data
        for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if e.dagster_event
        for e in [e.dagster_event]
    ]
    per_day = Counter((ev.check_name, ev.partition) for ev in evaluations if ev.partition is not None)
    checks = {"key_unique_and_not_null", "reconciles_with_landing", "matches_contract", "no_rejected_records"}
    assert per_day == Counter({(name, day): 1 for name in checks for day in RANGE})
    assert all(ev.passed for ev in evaluations)
    reconciled = [
        ev for ev in evaluations if ev.check_name == "reconciles_with_landing" and ev.partition == RANGE[1]
    ]
    assert reconciled[0].metadata["landed_rows"].value == len(
        world.orders_updated_between(*day_window(RANGE[1]))
    )
