"""The Jira Data Center client and streams against the emulator, over real HTTP on loopback.

What Data Center makes awkward, each pinned here: a lowered `maxResults`, the 10,000-result search
window, issues edited while a day is paged, truncated search changelogs, HTML 401s (and CAPTCHA),
rate limits, a context path, custom fields known only by their metadata, and histories with two
items of one field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.kit import ApiError, Extract, RetryPolicy, Window
from plumbing_dagster.kit.emulator import EmulatorServer, Fault
from plumbing_dagster.sources.jira import VENDOR, IssueScope, JiraEmulator, JiraWorld, connect
from plumbing_dagster.sources.jira.connection import JiraConnection
from plumbing_dagster.sources.jira.custom_fields import column_names, jira_datetime, sprint_name
from plumbing_dagster.sources.jira.emulator import SANDBOX_PAT, RateLimit
from plumbing_dagster.sources.jira.emulator.times import DAY_MS, day_start_ms
from plumbing_dagster.sources.jira.rows import DERIVE
from plumbing_dagster.sources.jira.search import read_issues, scope_jql, window_jql

START = date(2026, 10, 1)
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
DAY = date(2026, 11, 2)
FAST = RetryPolicy(attempts=4, base_delay=0.01)
FAMILY = tuple(DERIVE)
SCOPE = IssueScope(custom_fields=["Story Points", "Team", "Sprint"])


@pytest.fixture(scope="module")
def world() -> JiraWorld:
    return JiraWorld(start_date=START, now=NOW)


class Sleeps(list):
    """A `sleep` that records how long it was asked to wait (and waits that long)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if seconds < 0.5:
            time.sleep(seconds)


def _client(url: str, pat: str = SANDBOX_PAT, sleeps: Sleeps | None = None) -> Any:
    sleep = Sleeps() if sleeps is None else sleeps
    return connect(JiraConnection(base_url=url, pat=pat), retry=FAST, sleep=sleep)


def _read(client: Any, day: date = DAY, streams: tuple[str, ...] = FAMILY, scope: Any = SCOPE) -> list[dict]:
    extract = Extract(Window.for_day(day), "updated", options=scope, streams=streams)
    return [issue for page in read_issues(client, extract) for issue in page]


def _rows(stream: str, issues: list[dict]) -> list[dict]:
    return [row for issue in issues for row in DERIVE[stream](issue)]


def _expected(world: JiraWorld, day: date = DAY, **kwargs: Any) -> list[dict[str, Any]]:
    start = day_start_ms(day)
    return world.issues_updated_between(start, start + DAY_MS, **kwargs)


@pytest.fixture
def serve(world: JiraWorld) -> Iterator[Any]:
    servers: list[EmulatorServer] = []

    def start(**options: Any) -> EmulatorServer:
        server = EmulatorServer(JiraEmulator(options.pop("world", world), **options)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- the search ---------------------------------------------------------------------------------


def test_the_window_is_epoch_milliseconds_with_the_scope_and_a_stable_order() -> None:
    scope = scope_jql(IssueScope(projects=["ABC", "OPS"], issue_types=['Bug "x"']))
    assert scope == 'project in ("ABC", "OPS") AND issuetype in ("Bug \\"x\\"")'
    assert window_jql(1_793_577_600_000, 1_793_664_000_000, scope) == (
        f"updated >= 1793577600000 AND updated < 1793664000000 AND {scope} ORDER BY updated ASC, key ASC"
    )
    with pytest.raises(ValueError, match="not a Jira project key"):
        IssueScope(projects=["abc"])


def test_a_day_is_read_once_whatever_maxresults_the_server_grants(serve, world: JiraWorld) -> None:
    server = serve(max_results_cap=7)
    with _client(server.url) as client:
        issues = _read(client, streams=("issues",))
    expected = _expected(world)
    assert [i["id"] for i in issues] == [i["id"] for i in expected]  # updated, then key order
    assert server.app.requests["search"] == 1 + -(-len(expected) // 7)  # the count, then the pages


def test_the_scope_narrows_the_search_to_its_projects_and_issue_types(serve, world: JiraWorld) -> None:
    server = serve()
    with _client(server.url) as client:
        issues = _read(client, streams=("issues",), scope=IssueScope(projects=["OPS"], issue_types=["Bug"]))
    expected = [
        i["id"]
        for i in _expected(world)
        if i["fields"]["project"]["key"] == "OPS" and i["fields"]["issuetype"]["name"] == "Bug"
    ]
    assert expected and [i["id"] for i in issues] == expected
    # The query is validated: a scope Jira does not know fails the run, never lands an empty day.
    with _client(server.url) as client, pytest.raises(ApiError, match="HTTP 400: The value 'NOPE' does not"):
        _read(client, streams=("issues",), scope=IssueScope(projects=["NOPE"]))


def test_a_window_beyond_the_search_window_is_split_not_truncated(serve, world: JiraWorld) -> None:
    # This server's window is 30 results, not Data Center's default 10,000: paging past it is a 500
    # "Search limit exceeded", which is not retried; the client narrows its window and reads on.
    server = serve(search_window=30, max_results_cap=20)
    with _client(server.url) as client:
        issues = _read(client, streams=("issues",))
    ids = [i["id"] for i in issues]
    assert sorted(ids) == sorted(i["id"] for i in _expected(world)) and len(ids) == len(set(ids)) > 30
    assert server.app.requests["search"] > 5


def test_issues_edited_while_the_day_is_paged_are_neither_missed_nor_repeated(serve) -> None:
    world = JiraWorld(start_date=START, now=NOW)
    server = serve(world=world, max_results_cap=10)
    later = NOW + timedelta(days=2)
    before = {i["id"] for i in _expected(world, date(2026, 11, 3))}
    original, pages = server.app.handle, []

    def edit_after_two_pages(request: Any) -> Any:
        response = original(request)
        if request.path.endswith("/search"):
            pages.append(request)
            if len(pages) == 3:  # the count and two pages: then time passes
                world.move_clock(later)
        return response

    server.app.handle = edit_after_two_pages
    with _client(server.url) as client:
        read = [i["id"] for i in _read(client, date(2026, 11, 3), streams=("issues",))]
    stayed = before & {i["id"] for i in _expected(world, date(2026, 11, 3))}
    assert len(stayed) < len(before)  # some issues left the day while it was read ...
    assert stayed <= set(read) and len(read) == len(set(read))  # ... and none of the others was missed


def test_a_truncated_search_changelog_is_completed_from_the_issue(serve, world: JiraWorld) -> None:
    server = serve(truncate_changelog=True, changelog_limit=3)
    with _client(server.url) as client:
        issues = _read(client, streams=("changelog_items",))
    long = [i for i in issues if i["changelog"]["total"] > 3]
    assert long and server.app.requests["issue"] == len(long)
    for issue in issues:
        full = world.issue(issue["key"])["changelog"]["histories"]
        got = [(r["history_id"], r["item_index"], r["field"]) for r in DERIVE["changelog_items"](issue)]
        assert got == [(int(h["id"]), n, item["field"]) for h in full for n, item in enumerate(h["items"])]


def test_one_change_history_with_two_items_of_the_same_field_keeps_both(serve) -> None:
    server = serve()
    with _client(server.url) as client:
        rows = _rows("changelog_items", _read(client, streams=("changelog_items",)))
    keys = [(r["history_id"], r["item_index"]) for r in rows]
    assert len(keys) == len(set(keys))
    by_history: dict[int, list[dict]] = {}
    for row in rows:
        by_history.setdefault(row["history_id"], []).append(row)
    twice = [h for h in by_history.values() if len(h) == 2 and h[0]["field"] == h[1]["field"]]
    assert twice
    removed, added = twice[0]
    assert (removed["item_index"], added["item_index"]) == (0, 1)
    assert removed["to_value"] is None and added["from_value"] is None


# -- errors, limits, the connection --------------------------------------------------------------


def test_429_with_retry_after_then_success_gives_the_same_rows(serve) -> None:
    server = serve()
    with _client(server.url) as client:
        clean = _rows("issues", _read(client, streams=("issues",)))
    server.faults.add(Fault("rate_limit", times=2, path_prefix="/rest/api/2/search", retry_after=0.25))
    sleeps = Sleeps()
    with _client(server.url, sleeps=sleeps) as client:
        again = _rows("issues", _read(client, streams=("issues",)))
    assert again == clean and sleeps == [0.25, 0.25]
    assert [kind for kind, _ in server.faults.fired] == ["rate_limit", "rate_limit"]


def test_the_rate_limit_headers_pace_requests_before_a_429(serve) -> None:
    server = serve(rate_limit=RateLimit(capacity=2, fill_rate=40, interval_seconds=1), max_results_cap=10)
    sleeps = Sleeps()
    with _client(server.url, sleeps=sleeps) as client:
        issues = _read(client, streams=("issues",))
    assert len(issues) > 40 and server.app.requests["search"] > 5
    assert server.app.throttled_requests == 0  # it waited for a token each time none was left
    assert sleeps and all(0 < s <= 0.025 + 1e-9 for s in sleeps)


def test_an_html_401_fails_at_once_with_a_clear_message_and_no_retry(serve) -> None:
    server = serve()
    sleeps = Sleeps()
    with _client(server.url, pat="not-the-token-7f3a", sleeps=sleeps) as client:
        with pytest.raises(ApiError) as raised:
            _read(client)
    message = str(raised.value)
    assert "HTTP 401" in message and "X-Seraph-LoginReason: AUTHENTICATED_FAILED" in message
    assert "JIRA_PAT" in message and server.url in message and "<html>" not in message
    assert "not-the-token-7f3a" not in message
    assert server.requests_served == 1 and sleeps == []  # the probe, once


def test_a_captcha_says_a_person_must_log_in_through_the_browser(serve) -> None:
    server = serve(captcha_after=0)
    with _client(server.url, pat="wrong-token-for-captcha") as client:
        with pytest.raises(ApiError, match="AUTHENTICATION_DENIED") as raised:
            _read(client)
    assert f"log in once through the browser at {server.url}/login.jsp" in str(raised.value)
    assert server.requests_served == 1


def test_a_context_path_is_part_of_the_base_url_and_the_probe_says_so(serve, world: JiraWorld) -> None:
    server = serve(context_path="/jira")
    with _client(server.url + "/jira/") as client:
        assert [i["id"] for i in _read(client, streams=("issues",))] == [i["id"] for i in _expected(world)]
        assert client.time_zone == "Europe/Helsinki" and client.base_url == server.url + "/jira"
    with _client(server.url) as client, pytest.raises(ApiError) as raised:
        _read(client)
    assert f"cannot use Jira at {server.url}:" in str(raised.value)
    assert "Is the context path part of JIRA_BASE_URL" in str(raised.value)


def test_an_unreachable_instance_is_named_by_its_base_url() -> None:
    with connect(
        JiraConnection(base_url="http://127.0.0.1:9/jira", pat="x" * 8), retry=RetryPolicy(1)
    ) as client:
        with pytest.raises(ApiError, match=r"cannot use Jira at http://127\.0\.0\.1:9/jira"):
            client.myself()


# -- streams ------------------------------------------------------------------------------------


def test_custom_fields_are_columns_named_by_their_metadata(serve, world: JiraWorld) -> None:
    server = serve()
    with _client(server.url) as client:
        issues = _read(client, streams=("issues",))
        with pytest.raises(ValueError, match=r"no custom field 'Story Pointz' \(custom fields: Sprint, "):
            _read(client, streams=("issues",), scope=IssueScope(custom_fields=["Story Pointz"]))
    rows = {row["id"]: row for row in _rows("issues", issues)}
    for issue in _expected(world, fields="*all"):
        row, fields = rows[int(issue["id"])], issue["fields"]
        assert row["story_points"] == fields["customfield_10010"]
        assert row["team"] == (fields["customfield_10020"] or {}).get("value")
        assert (
            row["sprint"] == [sprint_name(s) for s in fields["customfield_10030"] or []]
            or row["sprint"] is None
        )
        assert row["updated"] == jira_datetime(fields["updated"]) and row["updated"][-3] == ":"
    assert any(row["sprint"] for row in rows.values())


def test_custom_field_columns_never_collide() -> None:
    fields = [
        {"id": "customfield_1", "name": "Team", "custom": True},
        {"id": "customfield_2", "name": "team", "custom": True},
        {"id": "customfield_3", "name": "Status", "custom": True},
        {"id": "customfield_4", "name": "Story Points", "custom": True},
        {"id": "status", "name": "Status", "custom": False},
    ]
    assert column_names(fields, {"status"}) == {
        "customfield_1": "team_1",
        "customfield_2": "team_2",
        "customfield_3": "status_3",
        "customfield_4": "story_points",
    }
    assert (
        sprint_name(
            "com.atlassian.greenhopper.service.sprint.Sprint@1a[id=4,rapidViewId=1,state=ACTIVE,"
            "name=Q4, part 2,startDate=2026-11-01T09:00:00.000+01:00,endDate=<null>]"
        )
        == "Q4, part 2"
    )
    assert jira_datetime("2026-11-02T01:30:00.000+0100") == "2026-11-02T01:30:00.000+01:00"
    assert jira_datetime("2026-11-02T01:30:00.000-07:00") == "2026-11-02T01:30:00.000-07:00"


def test_each_stream_gives_exactly_the_columns_it_describes(serve) -> None:
    server = serve()
    with _client(server.url) as client:
        issues = _read(client)
        for name, endpoint in VENDOR.endpoints.items():
            described = set(endpoint.describe(client, SCOPE if endpoint.family else None))
            if endpoint.family:
                rows = _rows(name, issues)
            else:
                rows = [r for page in endpoint.fetch(client, Extract(None)) for r in page]
            assert rows, name
            assert all(set(row) == described for row in rows), name


def test_the_field_dump_says_which_column_each_field_becomes(serve) -> None:
    server = serve()
    with _client(server.url) as client:
        rows = {r["id"]: r for page in VENDOR.endpoints["fields"].fetch(client, Extract(None)) for r in page}
    assert rows["customfield_10010"]["column_name"] == "story_points"
    assert rows["customfield_10010"]["schema_custom_id"] == 10010 and rows["customfield_10010"]["custom"]
    assert rows["resolutiondate"]["column_name"] == "resolved" and rows["labels"]["column_name"] is None
    assert rows["summary"]["clause_names"] == ["summary"]


def test_the_family_stream_configs_share_one_scope() -> None:
    # One search feeds every stream of the family, with the options of whichever is read first.
    configs = load_stream_configs(DEFAULT_DAG_DIR, {"jira": VENDOR}, only="jira")["jira"]
    scopes = {name: json.dumps(configs[name].options, sort_keys=True) for name in FAMILY if name in configs}
    assert len(set(scopes.values())) == 1, scopes
    assert all(configs[name].warehouse == "postgres" for name in configs)
