"""The Jira Data Center emulator over real HTTP on loopback, checked against Atlassian's own OpenAPI
document for Jira Software Data Center 10.3 and against the facts in `vendor-apis.md`.

A Jira client will be written against this emulator, so these tests pin what makes Data Center
awkward: a lowered `maxResults`, the 10,000-result search window, quoted JQL dates read in the
searching user's zone at minute resolution, truncated search changelogs, moved keys, HTML 401s,
per-user rate limits, and change histories with two items of one field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jsonschema
import pytest

import plumbing_dagster.sources.jira as jira_package
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.sources.jira.emulator import SANDBOX_PAT, JiraEmulator, JiraWorld, RateLimit
from plumbing_dagster.sources.jira.emulator.times import DAY_MS, day_start_ms, epoch_ms

SPEC_PATH = Path(__file__).parent / "specs" / "jira-software-dc-openapi-10.3.24.json"
START = date(2026, 10, 1)
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)  # Helsinki (the PAT user's zone) is UTC+2 by then
DAY = date(2026, 10, 27)
DAY_START = day_start_ms(DAY)
AUTH = {"Authorization": f"Bearer {SANDBOX_PAT}"}
API = "/rest/api/2"
ORDER = "ORDER BY updated ASC, key ASC"
Body = dict[str, Any]


@pytest.fixture(scope="module")
def world() -> JiraWorld:
    # One world for the module: its data is immutable and its day caches make the tests fast.
    return JiraWorld(start_date=START, now=NOW)


@pytest.fixture(scope="module")
def server(world: JiraWorld) -> Iterator[EmulatorServer]:
    with EmulatorServer(JiraEmulator(world)) as running:
        yield running


@pytest.fixture
def api(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + API, headers=AUTH, timeout=30) as client:
        yield client


def search(api: httpx.Client, jql: str, **body: Any) -> Body:
    response = api.post("/search", json={"jql": jql, **body})
    assert response.status_code == 200, response.text
    return response.json()


def search_all(api: httpx.Client, jql: str, **body: Any) -> list[Body]:
    """Every issue, paging by `startAt` with the `maxResults` the server granted."""
    issues: list[Body] = []
    while True:
        page = search(api, jql, startAt=len(issues), **body)
        issues.extend(page["issues"])
        if not page["issues"] or page["startAt"] + len(page["issues"]) >= page["total"]:
            return issues


def window_jql(start_ms: int, end_ms: int) -> str:
    return f"updated >= {start_ms} AND updated < {end_ms} {ORDER}"


def _parse(jira_datetime: str) -> datetime:
    """`2026-10-27T23:51:13.178+0100`, as Jira writes date-times."""
    return datetime.strptime(jira_datetime, "%Y-%m-%dT%H:%M:%S.%f%z")


# -- Atlassian's document as a validator ------------------------------------------------------

JIRA_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$"
JIRA_DATE = r"^\d{4}-\d{2}-\d{2}$"


@pytest.fixture(scope="module")
def spec() -> Body:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _ref(name: str) -> Body:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Body) -> Body:
    return {"anyOf": [{"type": "null"}, schema]}


def _jira_datetimes(node: Any) -> Any:
    if isinstance(node, list):
        return [_jira_datetimes(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "date-time":
        node = {**{k: v for k, v in node.items() if k != "format"}, "pattern": JIRA_DATETIME}
    return {key: _jira_datetimes(value) for key, value in node.items()}


def _schemas(spec: Body) -> Body:
    """`components/schemas` with the document's defects tolerated, each one where it is applied:

    1. `format: date-time` means RFC 3339, but Data Center writes `2026-11-02T01:30:00.000+0100`
       (no colon in the offset): date-times are checked against Jira's own pattern instead.
    2. `VersionBean.releaseDate` is documented as a date-time; an issue's fix versions carry a
       calendar date (`2026-11-15`).
    3. No schema is `nullable` (OpenAPI 3.0 needs it for null), yet a change item's `from`/`to`
       are null when a field was empty: those four may be null.
    4. `IssueBean.fields` types every field value as an object, but summaries are strings, labels
       arrays, empty fields null. Instead each field the emulator serves is checked against the
       document's own bean for it (StatusJsonBean, UserJsonBean, ComponentBean, ...), and a
       link must carry exactly one of `inwardIssue`/`outwardIssue`.
    5. A select custom field's value is a CustomFieldOptionBean, whose `id` the document types as
       an integer while the issue view sends it as a string, as it does every other id.
    """
    schemas = _jira_datetimes(copy.deepcopy(spec["components"]["schemas"]))
    schemas["VersionBean"]["properties"]["releaseDate"] = {"type": "string", "pattern": JIRA_DATE}
    for name in ("from", "fromString", "to", "toString"):
        schemas["ChangeItemBean"]["properties"][name] = {"type": ["string", "null"]}
    option = copy.deepcopy(schemas["CustomFieldOptionBean"])
    option["properties"]["id"] = {"type": "string", "pattern": r"^\d+$"}
    schemas["IssueOptionValue"] = option
    datetime_ = {"type": "string", "pattern": JIRA_DATETIME}
    one_side = {"oneOf": [{"required": ["inwardIssue"]}, {"required": ["outwardIssue"]}]}
    schemas["IssueBean"]["properties"]["fields"] = {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "issuetype": _ref("IssueTypeJsonBean"),
            "project": _ref("ProjectJsonBean"),
            "status": _ref("StatusJsonBean"),
            "priority": _ref("PriorityJsonBean"),
            "resolution": _nullable(_ref("ResolutionJsonBean")),
            "resolutiondate": _nullable(datetime_),
            "assignee": _nullable(_ref("UserJsonBean")),
            "reporter": _ref("UserJsonBean"),
            "creator": _ref("UserJsonBean"),
            "created": datetime_,
            "updated": datetime_,
            "labels": {"type": "array", "items": {"type": "string"}},
            "components": {"type": "array", "items": _ref("ComponentBean")},
            "fixVersions": {"type": "array", "items": _ref("VersionBean")},
            "versions": {"type": "array", "items": _ref("VersionBean")},
            "issuelinks": {"type": "array", "items": {"allOf": [_ref("issueLinks"), one_side]}},
            "description": {"type": ["string", "null"]},
            "duedate": _nullable({"type": "string", "pattern": JIRA_DATE}),
            "comment": _ref("CommentsWithPaginationJsonBean"),
            "worklog": _ref("WorklogWithPaginationBean"),
            "customfield_10010": {"type": ["number", "null"]},
            "customfield_10020": _nullable(_ref("IssueOptionValue")),
            "customfield_10030": _nullable({"type": "array", "items": {"type": "string"}}),
        },
    }
    return schemas


@pytest.fixture(scope="module")
def conforms(spec: Body) -> Callable[[Any, Body], None]:
    """Asserts that a body matches a schema of the document (with the tolerances above)."""
    schemas = _schemas(spec)

    def check(body: Any, schema: Body) -> None:
        root = {"components": {"schemas": schemas}, "allOf": [schema]}
        validator = jsonschema.Draft4Validator(root, format_checker=jsonschema.FormatChecker())
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5])

    return check


def response_schema(spec: Body, path: str, method: str = "get") -> Body:
    return spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]


def test_the_documents_defects_are_still_there(spec: Body) -> None:
    """The tolerances below exist because of these defects; when Atlassian fixes one, revisit it."""
    # 6. `GET /api/2/field` and `GET /api/2/project` return arrays but are documented as one bean:
    #    their responses are checked as arrays of that bean.
    assert response_schema(spec, "/api/2/field") == _ref("FieldBean")
    assert response_schema(spec, "/api/2/project") == _ref("ProjectBean")
    # 7. Only HTTP Basic is documented; Data Center takes a PAT as a bearer token (and refuses it
    #    as a Basic password), so the tests authenticate as the server does, not as documented.
    assert set(spec["components"]["securitySchemes"]) == {"basic"}
    # 8. GET search's `fields` and `expand` are typed as `StringList`, an object; the server reads
    #    comma-separated text, which is what the tests send.
    parameters = {p["name"]: p for p in spec["paths"]["/api/2/search"]["get"]["parameters"]}
    assert parameters["expand"]["schema"] == _ref("StringList")
    assert spec["components"]["schemas"]["StringList"]["type"] == "object"
    # 9. Examples are not fixtures: the IssueBean example has an issue id "10004L" and `updated: 1`.
    text = json.dumps(spec["components"]["schemas"]["IssueBean"])
    assert '"10004L"' in text and '"updated": 1,' in text
    # 10. No 429 and no error bodies are documented: error responses (400, 404, 429, 500) are
    #     checked against the document's ErrorCollection, the shape every Jira REST error has.
    assert set(spec["paths"]["/api/2/search"]["post"]["responses"]) == {"200", "400"}
    assert "content" not in spec["paths"]["/api/2/issue/{issueIdOrKey}"]["get"]["responses"]["404"]
    # Tolerance 4's reason: every field value is typed as an object.
    fields = spec["components"]["schemas"]["IssueBean"]["properties"]["fields"]
    assert fields["additionalProperties"]["type"] == "object"


def test_responses_match_the_document(
    server: EmulatorServer,
    api: httpx.Client,
    world: JiraWorld,
    spec: Body,
    conforms: Callable[[Any, Body], None],
) -> None:
    results = response_schema(spec, "/api/2/search", "post")
    plain = search(api, window_jql(DAY_START, DAY_START + DAY_MS), maxResults=100)
    with_changelog = search(
        api,
        window_jql(DAY_START, DAY_START + DAY_MS),
        maxResults=100,
        expand=["changelog", "names", "schema"],
    )
    all_fields = search(api, f"project in (ABC, OPS, WEB) {ORDER}", maxResults=50, fields=["*all"])
    for body in (plain, with_changelog, all_fields):
        conforms(body, results)
        assert {"startAt", "maxResults", "total", "issues"} <= set(body)
    assert plain["total"] > 10 and all(isinstance(issue["id"], str) for issue in plain["issues"])
    assert all("changelog" in issue for issue in with_changelog["issues"])
    assert with_changelog["names"]["customfield_10010"] == "Story Points"
    got = api.get("/search", params={"jql": window_jql(DAY_START, DAY_START + DAY_MS), "expand": "changelog"})
    conforms(got.json(), response_schema(spec, "/api/2/search"))

    key = with_changelog["issues"][0]["key"]
    issue = api.get(f"/issue/{key}", params={"expand": "changelog"}).json()
    conforms(issue, response_schema(spec, "/api/2/issue/{issueIdOrKey}"))
    assert issue["changelog"]["total"] == len(issue["changelog"]["histories"])

    fields = api.get("/field").json()
    conforms(fields, {"type": "array", "items": response_schema(spec, "/api/2/field")})  # defect 6
    assert fields == world.fields()
    assert {"customfield_10010", "customfield_10020", "customfield_10030"} <= {f["id"] for f in fields}
    projects = api.get("/project").json()
    conforms(projects, {"type": "array", "items": response_schema(spec, "/api/2/project")})  # defect 6
    assert projects == world.projects(base_url=server.url)
    myself = api.get("/myself").json()
    conforms(myself, response_schema(spec, "/api/2/myself"))
    assert (myself["name"], myself["timeZone"]) == ("svc-plumbing", "Europe/Helsinki")
    conforms(api.get("/serverInfo").json(), response_schema(spec, "/api/2/serverInfo"))

    errors = _ref("ErrorCollection")  # defect 10
    for response, status in (
        (api.post("/search", json={"jql": "project = NOPE"}), 400),
        (api.post("/search", json={"jql": "", "startAt": 9990, "maxResults": 50}), 500),
        (api.get("/issue/ABC-999999"), 404),
        (api.get("/search/jql"), 404),
    ):
        assert response.status_code == status
        conforms(response.json(), errors)
        assert response.json()["errorMessages"]


# -- searching ------------------------------------------------------------------------------


def test_paging_with_a_lowered_max_results_returns_every_issue_once(world: JiraWorld) -> None:
    with EmulatorServer(JiraEmulator(world, max_results_cap=25)) as server:
        with httpx.Client(base_url=server.url + API, headers=AUTH) as api:
            first = search(api, window_jql(DAY_START - DAY_MS, DAY_START + DAY_MS), maxResults=100)
            issues = search_all(api, window_jql(DAY_START - DAY_MS, DAY_START + DAY_MS), maxResults=100)
    assert first["maxResults"] == 25 and len(first["issues"]) == 25  # lowered, read back
    expected = world.issues_updated_between(DAY_START - DAY_MS, DAY_START + DAY_MS)
    assert len(expected) > 50
    assert [i["id"] for i in issues] == [i["id"] for i in expected]
    assert len({i["id"] for i in issues}) == len(issues)


def test_an_epoch_ms_window_is_exactly_the_worlds(
    server: EmulatorServer, api: httpx.Client, world: JiraWorld
) -> None:
    start, end = DAY_START + 3_600_000 + 123, DAY_START + DAY_MS - 7
    got = search_all(api, window_jql(start, end), maxResults=1000)
    assert got == world.issues_updated_between(start, end, base_url=server.url)
    assert got and all(start <= epoch_ms(_parse(i["fields"]["updated"])) < end for i in got)
    # The bounds are exact to the millisecond: an issue's own `updated` is in, one ms later is out.
    first = epoch_ms(_parse(got[0]["fields"]["updated"]))
    keys_from = [i["key"] for i in search_all(api, window_jql(first, end))]
    keys_after = [i["key"] for i in search_all(api, window_jql(first + 1, end))]
    assert keys_from[0] == got[0]["key"] and got[0]["key"] not in keys_after


def test_quoted_dates_are_minutes_in_the_searching_users_zone(api: httpx.Client, world: JiraWorld) -> None:
    helsinki = ZoneInfo("Europe/Helsinki")  # UTC+02:00 in November: the PAT user's zone

    def local(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, helsinki)

    def quoted(moment: datetime) -> str:
        return f'"{moment.astimezone(helsinki):%Y/%m/%d %H:%M}"'

    utc_day = world.issues_updated_between(DAY_START, DAY_START + DAY_MS)
    updated = {i["key"]: epoch_ms(_parse(i["fields"]["updated"])) for i in utc_day}
    # 23:30 in Helsinki is 21:30 UTC, the same day; 00:30 the next day there is still 22:30 UTC.
    evening = [key for key, ms in updated.items() if local(ms).date() == DAY and local(ms).hour == 23]
    after_midnight = [key for key, ms in updated.items() if local(ms).date() > DAY]
    assert evening and after_midnight, "the world should have issues updated late on the day"
    day_start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    right = f"updated >= {quoted(day_start)} AND updated < {quoted(day_start + timedelta(days=1))} {ORDER}"
    assert '"2026/10/27 02:00"' in right  # the UTC day, written as Helsinki wall-clock minutes
    right_keys = [i["key"] for i in search_all(api, right)]
    assert right_keys == [i["key"] for i in utc_day] and set(evening + after_midnight) <= set(right_keys)
    # The same UTC day written in UTC, or in the server's zone (Berlin, UTC+1), misses its end.
    for hours in (0, 1):
        wrong = (
            f'updated >= "{DAY:%Y/%m/%d} 0{hours}:00" '
            f'AND updated < "{DAY + timedelta(days=1):%Y/%m/%d} 0{hours}:00" {ORDER}'
        )
        wrong_keys = {i["key"] for i in search_all(api, wrong)}
        assert wrong_keys != set(right_keys) and after_midnight[-1] not in wrong_keys
    # Minute resolution: `>= "hh:mm"` keeps the whole minute, the epoch form is exact.
    key, ms = next((k, v) for k, v in updated.items() if v % 60_000)
    minute = datetime.fromtimestamp(ms // 60_000 * 60, UTC)
    same_minute = {i["key"] for i in search_all(api, f"updated >= {quoted(minute)} AND updated <= {ms}")}
    next_minute = {i["key"] for i in search_all(api, f"updated >= {quoted(minute + timedelta(minutes=1))}")}
    assert key in same_minute and key not in next_minute
    assert key not in {i["key"] for i in search_all(api, f"updated >= {ms + 1} AND updated < {ms + 60_000}")}


def test_a_day_of_12000_updates_hits_the_search_window_and_splits() -> None:
    busy = date(2026, 10, 14)
    world = JiraWorld(start_date=date(2026, 10, 10), now=NOW, busy_days={busy: 12_000})
    start, end = day_start_ms(busy), day_start_ms(busy) + DAY_MS
    with EmulatorServer(JiraEmulator(world)) as server:
        with httpx.Client(base_url=server.url + API, headers=AUTH, timeout=60) as api:
            fields = ["updated"]
            pages = [
                search(api, window_jql(start, end), startAt=n, maxResults=1000, fields=fields)
                for n in range(0, 10_000, 1000)
            ]
            beyond = api.post(
                "/search", json={"jql": window_jql(start, end), "startAt": 10_000, "maxResults": 1000}
            )
            got = [i for page in pages for i in page["issues"]]
            # Past the window: narrow the JQL from the last `updated` seen, and skip what was read.
            resume = epoch_ms(_parse(got[-1]["fields"]["updated"]))
            seen = {i["id"] for i in got}
            rest = search_all(api, window_jql(resume, end), maxResults=1000, fields=fields)
    assert pages[0]["total"] >= 12_000 and pages[0]["maxResults"] == 1000
    assert beyond.status_code == 500
    assert "search limit exceeded" in beyond.json()["errorMessages"][0].lower()
    ids = [i["id"] for i in got] + [i["id"] for i in rest if i["id"] not in seen]
    expected = world.issues_updated_between(start, end, fields="updated")
    assert ids == [i["id"] for i in expected] and len(ids) == pages[0]["total"]


def test_search_truncates_changelogs_and_get_issue_has_them_all(world: JiraWorld) -> None:
    emulator = JiraEmulator(world, truncate_changelog=True, changelog_limit=5)
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url + API, headers=AUTH) as api:
        issues = search_all(api, window_jql(DAY_START - 2 * DAY_MS, DAY_START + DAY_MS), expand=["changelog"])
        long = [i for i in issues if i["changelog"]["total"] > 5]
        assert long and len(long) < len(issues)
        for issue in long[:10]:
            changelog = issue["changelog"]
            assert len(changelog["histories"]) == changelog["maxResults"] == 5
            assert changelog["startAt"] == changelog["total"] - 5  # the newest five
            full = api.get(f"/issue/{issue['key']}", params={"expand": "changelog"}).json()["changelog"]
            assert full["total"] == len(full["histories"]) == changelog["total"] and full["startAt"] == 0
            assert full["histories"][-5:] == changelog["histories"]
            assert issue["fields"]["updated"] == full["histories"][-1]["created"]


def test_fields_are_selected_as_jira_selects_them(api: httpx.Client) -> None:
    jql = window_jql(DAY_START, DAY_START + DAY_MS)
    default = search(api, jql, maxResults=1)["issues"][0]["fields"]
    every = search(api, jql, maxResults=1, fields=["*all"])["issues"][0]["fields"]
    some = search(api, jql, maxResults=1, fields=["summary", "customfield_10020", "nonsense"])["issues"][0]
    minus = search(api, jql, maxResults=1, fields=["*navigable", "-description"])["issues"][0]["fields"]
    by_get = api.get("/search", params={"jql": jql, "maxResults": 1, "fields": "summary,updated"}).json()
    assert "comment" not in default and "comment" in every and "updated" in default  # *navigable by default
    assert set(some["fields"]) == {"summary", "customfield_10020"}  # unknown ids are ignored
    assert "description" not in minus and set(minus) == set(default) - {"description"}
    assert set(by_get["issues"][0]["fields"]) == {"summary", "updated"}
    issue = api.get(f"/issue/{some['key']}").json()  # get-issue: *all by default
    assert set(issue["fields"]) == set(every) and "changelog" not in issue


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("projekt = ABC", "Field 'projekt' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("updated >= 2026/10/27", "Error in the JQL Query: The character '/' is a reserved JQL character"),
        ('updated >= "yesterday"', "Date value 'yesterday' for field 'updated' is invalid."),
        ("project = ABC AND", "Error in the JQL Query: Expecting a field name before the end of the query."),
        ("project = ABC ORDER BY nonsense", "Field 'nonsense' does not exist"),
        ("updated >= startOfWeek()", "Unable to find JQL function 'startOfWeek()'."),
        ("status = Done", "Error in the JQL Query: the emulator does not search by 'status'"),
    ],
)
def test_bad_jql_is_a_400_in_jiras_words(api: httpx.Client, jql: str, message: str) -> None:
    response = api.post("/search", json={"jql": jql})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {} and body["errorMessages"][0].startswith(message)


def test_without_validation_what_jira_would_reject_is_a_warning(api: httpx.Client) -> None:
    lenient = search(api, f"project in (ABC, NOPE) AND updated >= {DAY_START} {ORDER}", validateQuery=False)
    strict = search(api, f"project = ABC AND updated >= {DAY_START} {ORDER}")
    assert lenient["warningMessages"] == ["The value 'NOPE' does not exist for the field 'project'."]
    assert lenient["total"] == strict["total"] > 0 and "warningMessages" not in strict
    unknown = search(api, f"projekt = ABC OR updated >= {DAY_START} {ORDER}", validateQuery="false")
    assert unknown["warningMessages"][0].startswith("Field 'projekt' does not exist")
    assert unknown["total"] == search(api, f"updated >= {DAY_START}")["total"]  # its clause is false


# -- issues -----------------------------------------------------------------------------------


def _moved(world: JiraWorld) -> tuple[str, Body]:
    for issue in world.issues_updated_between(day_start_ms(START), epoch_ms(NOW) + 1, changelog=True):
        for history in issue["changelog"]["histories"]:
            for item in history["items"]:
                if item["field"] == "Key":
                    return item["fromString"], issue
    raise AssertionError("the world should have moved issues")


def test_a_moved_issue_answers_to_its_old_key_with_its_new_one(api: httpx.Client, world: JiraWorld) -> None:
    old_key, issue = _moved(world)
    assert old_key != issue["key"]
    got = api.get(f"/issue/{old_key}").json()
    assert (got["id"], got["key"]) == (issue["id"], issue["key"])
    assert api.get(f"/issue/{old_key.lower()}").json()["key"] == issue["key"]  # case-insensitive
    assert api.get(f"/issue/{issue['id']}").json()["key"] == issue["key"]
    found = search(api, f"key = {old_key}")["issues"]
    assert [i["key"] for i in found] == [issue["key"]]  # search answers with the current key
    project = issue["key"].split("-")[0]
    assert issue["fields"]["project"]["key"] == project != old_key.split("-")[0]


def test_one_history_can_hold_two_items_of_the_same_field(world: JiraWorld, api: httpx.Client) -> None:
    for summary in world.issues_updated_between(DAY_START - 3 * DAY_MS, DAY_START + DAY_MS):
        issue = api.get(f"/issue/{summary['key']}", params={"expand": "changelog"}).json()
        for history in issue["changelog"]["histories"]:
            items = [i for i in history["items"] if i["field"] in ("Component", "Fix Version")]
            fields = [i["field"] for i in items]
            if len(fields) == 2 and fields[0] == fields[1]:
                removed, added = items
                assert removed["to"] is None and removed["from"] is not None  # one value out ...
                assert added["from"] is None and added["to"] is not None  # ... another in
                return
    raise AssertionError("no history with two items of one field")


def test_links_have_exactly_one_side_and_mirror_each_other(api: httpx.Client) -> None:
    issues = search_all(api, f"updated >= {DAY_START - 3 * DAY_MS} {ORDER}", maxResults=1000)
    links = [(i["key"], link) for i in issues for link in i["fields"]["issuelinks"]]
    assert links
    for key, link in links[:20]:
        side = "outwardIssue" if "outwardIssue" in link else "inwardIssue"
        other = api.get(f"/issue/{link[side]['key']}", params={"fields": "issuelinks"}).json()
        mirror = [m for m in other["fields"]["issuelinks"] if m["id"] == link["id"]]
        opposite = "inwardIssue" if side == "outwardIssue" else "outwardIssue"
        assert len(mirror) == 1 and mirror[0][opposite]["key"] == key and side not in mirror[0]


# -- auth, headers, limits ----------------------------------------------------------------------


def test_a_wrong_pat_is_an_html_401_with_the_seraph_reason() -> None:
    emulator = JiraEmulator(JiraWorld(start_date=START, now=NOW), captcha_after=3)
    with EmulatorServer(emulator) as server:
        url = server.url + API + "/myself"
        answers = [
            httpx.get(url, headers={"Authorization": "Bearer not-the-pat"}),
            httpx.get(url, auth=("svc-plumbing", SANDBOX_PAT)),  # a PAT is no Basic password
            httpx.get(url, headers={"Authorization": "Bearer still-not"}),
            httpx.get(url, headers={"Authorization": "Bearer and-again"}),
        ]
        missing = httpx.get(url)
        good = httpx.get(url, headers=AUTH)
        anonymous = httpx.get(server.url + API + "/serverInfo")  # the one resource open to all
    for answer in [*answers, missing]:
        assert answer.status_code == 401 and answer.headers["content-type"].startswith("text/html")
        assert answer.headers["x-ausername"] == "anonymous" and answer.headers["x-arequestid"]
        with pytest.raises(json.JSONDecodeError):
            json.loads(answer.text)
    reasons = [a.headers["x-seraph-loginreason"] for a in answers]
    assert reasons == ["AUTHENTICATED_FAILED"] * 3 + ["AUTHENTICATION_DENIED"]  # CAPTCHA after three
    assert "CAPTCHA_CHALLENGE" in answers[-1].headers["x-authentication-denied-reason"]
    assert emulator.failed_logins == 4
    assert good.status_code == 200 and good.headers["x-ausername"] == "svc-plumbing"
    assert anonymous.status_code == 200 and anonymous.headers["x-ausername"] == "anonymous"


def test_the_rate_limit_is_a_429_and_every_answer_says_how_much_is_left(
    spec: Body, conforms: Callable[[Any, Body], None]
) -> None:
    clock = [100.0]
    limit = RateLimit(capacity=3, fill_rate=1, interval_seconds=2)
    emulator = JiraEmulator(JiraWorld(start_date=START, now=NOW), rate_limit=limit, clock=lambda: clock[0])
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url + API, headers=AUTH) as api:
        answers = [api.get("/myself") for _ in range(4)]
        clock[0] += 2.0  # one token back
        after = api.get("/myself")
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert [a.headers["retry-after"] for a in answers] == ["0", "0", "0", "2"]
    for answer in answers:
        assert answer.headers["x-ratelimit-limit"] == "3"
        assert answer.headers["x-ratelimit-interval-seconds"] == "2"
        assert answer.headers["x-ratelimit-fillrate"] == "1"
    conforms(answers[-1].json(), _ref("ErrorCollection"))  # defect 10: no 429 documented
    assert after.status_code == 200 and emulator.throttled_requests == 1


def test_cloud_only_paths_are_404_and_the_context_path_prefixes_everything(world: JiraWorld) -> None:
    emulator = JiraEmulator(world, context_path="/jira")
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url, headers=AUTH) as api:
        url = server.url
        for path in ("/search/jql", "/project/search", "/issue/ABC-1/changelog"):
            response = api.get(f"/jira{API}{path}")
            assert response.status_code == 404 and response.json()["errorMessages"]
            assert response.headers["x-ausername"] == "svc-plumbing"  # known before routing
        outside = api.get(f"{API}/myself")
        inside = api.get(f"/jira{API}/myself")
        latest = api.get("/jira/rest/api/latest/project")
        issue = api.get(f"/jira{API}/issue/ABC-1")
    assert outside.status_code == 404 and inside.status_code == 200
    assert latest.status_code == 200 and isinstance(latest.json(), list)
    assert issue.json()["self"] == f"{url}/jira{API}/issue/{issue.json()['id']}"
    # `project/search` is the project resource asked for a project keyed "search", as on DC.
    assert emulator.requests["unknown"] == 3 and emulator.requests["project"] == 2
    assert emulator.requests["myself"] == 1


# -- the world --------------------------------------------------------------------------------


def test_the_world_is_deterministic_and_follows_the_clock() -> None:
    def day(world: JiraWorld) -> list[Body]:
        return world.issues_updated_between(DAY_START, DAY_START + DAY_MS, fields="*all", changelog=True)

    world = JiraWorld(start_date=START, now=NOW)
    first = day(world)
    assert first == day(JiraWorld(start_date=START, now=NOW))
    assert first != day(JiraWorld(seed=3, start_date=START, now=NOW))
    # At noon that day the day's later changes have not happened yet; by NOW many of the issues
    # changed again and left the day: a window holds the issues whose *latest* change lies in it.
    earlier = JiraWorld(start_date=START, now=datetime(2026, 10, 27, 12, tzinfo=UTC))
    seen = day(earlier)
    assert seen and all(epoch_ms(_parse(i["fields"]["updated"])) <= epoch_ms(earlier.now) for i in seen)
    left = {i["key"]: i for i in seen if i["key"] not in {f["key"] for f in first}}
    assert left
    for key, before in sorted(left.items())[:5]:
        later = world.issue(key)
        assert later is not None and _ms(later) > _ms(before)


def _ms(issue: Body) -> int:
    return epoch_ms(_parse(issue["fields"]["updated"]))


def test_the_package_knows_nothing_of_dagster() -> None:
    for module in Path(jira_package.__file__).parent.rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "import dagster" not in text and "from dagster" not in text, module.name
