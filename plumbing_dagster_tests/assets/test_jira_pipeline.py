"""Jira end to end: a day of the Data Center emulator landed (raw), staged in Postgres and built into
the reporting marts, checked against what the emulator's world says it served.

The emulator pages with a lowered `maxResults` and truncates search changelogs, the PAT's user
lives in UTC+02:00, and one test day holds 12,000 updated issues (past the search window).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import dagster as dg

from plumbing_dagster.keys import stream_selection
from plumbing_dagster.sources.jira import JiraEmulator, JiraWorld
from plumbing_dagster.sources.jira.emulator.times import DAY_MS, day_start_ms
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster_tests.assets.helpers import postgres_rows, served
from plumbing_dagster_tests.conftest import check_results, definitions_for, materialize

START = date(2026, 10, 1)
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)  # Helsinki, the PAT user's zone, is UTC+02:00 then
DAY = date(2026, 11, 2)
FAMILY = (
    "issues",
    "changelog_items",
    "issue_links",
    "issue_labels",
    "issue_components",
    "issue_fix_versions",
)
STREAMS = (*FAMILY, "fields", "projects")
MARTS = (
    "issues",
    "changelog",
    "issue_links",
    "issue_labels",
    "issue_components",
    "issue_fix_versions",
    "status_history",
)
EVERYTHING = [
    *stream_selection("jira", STREAMS),
    *(f"marts/jira/{m}" for m in MARTS),
]
ISSUES = ["raw/jira/issues_landed", "staging/jira/issues"]


def _day_issues(world: JiraWorld, day: date, **kwargs: Any) -> list[dict[str, Any]]:
    start = day_start_ms(day)
    return world.issues_updated_between(start, start + DAY_MS, **kwargs)


def _run(defs: Any, selection: list[str], apis: Any, day: date = DAY, instance: Any = None) -> Any:
    return materialize(
        defs, selection, partition_key=day.isoformat(), resources={"vendor_apis": apis}, instance=instance
    )


def _tables() -> dict[str, list[tuple]]:
    """Every Jira table and mart, sorted, as the reporting side reads them."""
    tables = [f"jira.{s}" for s in STREAMS] + [f"marts_jira.{m}" for m in MARTS]
    return {table: sorted(postgres_rows(f"SELECT * FROM {table}"), key=repr) for table in tables}


def test_a_day_lands_stages_and_builds_the_marts_and_a_rerun_changes_nothing(sandbox) -> None:
    world = JiraWorld(start_date=START, now=NOW)
    emulator = JiraEmulator(world, max_results_cap=40, truncate_changelog=True, changelog_limit=5)
    defs = definitions_for(sandbox)
    with served(VENDORS["jira"], emulator) as (_, apis):
        first = _run(defs, EVERYTHING, apis)
        tables = _tables()
        searches = emulator.requests["search"]
        second = _run(defs, EVERYTHING, apis)
        again = _tables()
    assert first.success and second.success
    assert again == tables  # every table and mart identical after the re-run

    expected = _day_issues(world, DAY, changelog=True)
    ids = sorted(int(i["id"]) for i in expected)
    assert len(ids) > 40 and searches == 3  # a count, then two pages of the lowered maxResults
    assert [r[0] for r in postgres_rows("SELECT id FROM jira.issues ORDER BY id")] == ids
    assert [r[0] for r in postgres_rows("SELECT id FROM marts_jira.issues ORDER BY id")] == ids

    # The whole changelog, also of issues whose search changelog was truncated to the last five.
    full = {int(i["id"]): world.issue(i["key"])["changelog"]["histories"] for i in expected}
    assert any(len(h) > 5 for h in full.values())
    items = [(int(h["id"]), n, i) for i, hs in full.items() for h in hs for n, _ in enumerate(h["items"])]
    staged = postgres_rows("SELECT history_id, item_index, issue_id FROM jira.changelog_items")
    assert sorted(staged) == sorted(items)
    assert sorted(
        postgres_rows("SELECT history_id, item_index, issue_id FROM marts_jira.changelog")
    ) == sorted(items)
    # One history with two items of one field (a component out, another in): both kept.
    pairs = postgres_rows(
        "SELECT history_id, field, count(*) FROM jira.changelog_items GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert pairs and all(field in ("Component", "Fix Version") for _, field, _ in pairs)

    links = [(int(i["id"]), int(link["id"])) for i in expected for link in i["fields"]["issuelinks"]]
    assert sorted(postgres_rows("SELECT issue_id, link_id FROM marts_jira.issue_links")) == sorted(links)
    labels = [(int(i["id"]), label) for i in expected for label in i["fields"]["labels"]]
    assert sorted(postgres_rows("SELECT issue_id, label FROM marts_jira.issue_labels")) == sorted(labels)
    components = [(int(i["id"]), c["name"]) for i in expected for c in i["fields"]["components"]]
    assert sorted(postgres_rows("SELECT issue_id, component FROM marts_jira.issue_components")) == sorted(
        components
    )
    versions = [(int(i["id"]), v["name"]) for i in expected for v in i["fields"]["fixVersions"]]
    assert sorted(postgres_rows("SELECT issue_id, version FROM marts_jira.issue_fix_versions")) == sorted(
        versions
    )

    # Time in each status: the stays follow the status items, the last one is the current status.
    stays = postgres_rows(
        "SELECT issue_id, status, is_current, seconds_in_status FROM marts_jira.status_history "
        "ORDER BY issue_id, visit"
    )
    moves = {i: [it for h in hs for it in h["items"] if it["field"] == "status"] for i, hs in full.items()}
    assert Counter(s[0] for s in stays) == Counter({i: len(m) + 1 for i, m in moves.items()})
    current = {int(i["id"]): i["fields"]["status"]["name"] for i in expected}
    assert {s[0]: s[1] for s in stays if s[2]} == current
    assert all(s[3] is not None and s[3] >= 0 for s in stays if not s[2])

    assert postgres_rows("SELECT count(*) FROM jira.fields WHERE column_name = 'story_points'") == [(1,)]
    assert postgres_rows("SELECT key FROM jira.projects ORDER BY key") == [("ABC",), ("OPS",), ("WEB",)]
    checks = check_results(first)
    assert all(e.passed for e in checks.values()), {k: v.metadata for k, v in checks.items() if not v.passed}
    assert "marts/jira/issue_labels:referential_integrity" in checks


def _days_of_each_issue(mart: str) -> dict[int, set[date]]:
    column = "id" if mart == "issues" else "issue_id"
    days: dict[int, set[date]] = {}
    for issue, day in postgres_rows(f"SELECT DISTINCT {column}, partition_date FROM marts_jira.{mart}"):
        days.setdefault(issue, set()).add(day)
    return days


def test_a_later_day_moves_an_updated_issue_out_of_the_older_days_marts(sandbox) -> None:
    """An issue updated on two days is in the marts once, in the later day — whichever day ran
    last, and also after the older day's marts are built again from its (older) staged version."""
    later = DAY + timedelta(days=1)
    world = JiraWorld(start_date=START, now=datetime.combine(later, time(0, 30), UTC))
    marts = [f"marts/jira/{m}" for m in MARTS]
    defs, instance = definitions_for(sandbox), dg.DagsterInstance.ephemeral()
    with served(VENDORS["jira"], JiraEmulator(world)) as (_, apis):
        assert _run(defs, EVERYTHING, apis, DAY, instance).success
        first = {int(i["id"]) for i in _day_issues(world, DAY)}
        world._fixed_now = NOW  # two days on: some of the first day's issues were updated again
        second = _run(defs, EVERYTHING, apis, later, instance)
        moved = first & {int(i["id"]) for i in _day_issues(world, later)}
        after_later_day = {mart: _days_of_each_issue(mart) for mart in MARTS}
        again = _run(defs, marts, apis, DAY, instance)  # the older day's staging is as it was
        after_rerun = {mart: _days_of_each_issue(mart) for mart in MARTS}
    assert second.success and again.success
    assert len(moved) >= 3, "the world updated none of the first day's issues on the next day"
    assert after_rerun == after_later_day
    for mart, days in after_later_day.items():
        assert {i: d for i, d in days.items() if len(d) > 1} == {}, f"marts_jira.{mart}: an issue in two days"
        assert {i: d for i, d in days.items() if i in moved} == {i: {later} for i in moved if i in days}, mart
    assert moved <= set(after_rerun["issues"])
    checks = {**check_results(second), **check_results(again)}
    assert all(e.passed for e in checks.values()), {k: v.metadata for k, v in checks.items() if not v.passed}


def test_an_update_late_in_the_evening_of_a_user_in_utc_plus_2_lands_in_its_utc_day(sandbox) -> None:
    world = JiraWorld(start_date=START, now=NOW)
    defs = definitions_for(sandbox)
    with served(VENDORS["jira"], JiraEmulator(world)) as (_, apis):
        assert _run(defs, ISSUES, apis).success
    expected = _day_issues(world, DAY)
    helsinki = [
        datetime.fromisoformat(i["fields"]["updated"]).astimezone(_zone("Europe/Helsinki")) for i in expected
    ]
    # 23:30 in Helsinki is 21:30 UTC the same day; 00:30 in Helsinki is 22:30 UTC the day before.
    assert any(moment.hour == 23 for moment in helsinki) and any(moment.date() > DAY for moment in helsinki)
    staged = postgres_rows("SELECT id, updated FROM jira.issues ORDER BY id")
    assert [r[0] for r in staged] == sorted(int(i["id"]) for i in expected)
    assert {r[1].date() for r in staged} == {DAY}  # every one in its UTC day


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_a_day_with_12000_updated_issues_lands_all_of_them_once(sandbox) -> None:
    busy = date(2026, 10, 14)
    world = JiraWorld(start_date=date(2026, 10, 10), issues_per_day=5, now=NOW, busy_days={busy: 12_000})
    emulator = JiraEmulator(world)
    defs = definitions_for(sandbox)
    with served(VENDORS["jira"], emulator) as (_, apis):
        result = _run(defs, ISSUES, apis, busy)
    assert result.success
    expected = sorted(int(i["id"]) for i in _day_issues(world, busy, fields="updated"))
    assert len(expected) >= 12_000
    assert [r[0] for r in postgres_rows("SELECT id FROM jira.issues ORDER BY id")] == expected
    landed = result.asset_materializations_for_node("raw_jira")[0].metadata["dagster/row_count"].value
    assert landed == len(expected)  # landed once each, not only deduplicated in staging
    assert emulator.requests["search"] >= 12 + 2  # 13 pages of 1,000 and the counts of the split
    assert all(e.passed for e in check_results(result).values())
