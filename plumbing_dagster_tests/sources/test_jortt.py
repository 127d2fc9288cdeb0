"""The Jortt source against its emulator, over real HTTP on loopback.

The emulator's answers are checked against Jortt's own Swagger 2.0 document, so the client is
tested against the API's published shapes, not only against the emulator's idea of them.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pyarrow as pa
import pytest
from openapi_spec_validator.validation import OpenAPIV2SpecValidator

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.kit import (
    ApiError,
    ClientCredentials,
    ConnectionError_,
    Extract,
    Record,
    RestClient,
    RetryPolicy,
    Scrubber,
    Window,
)
from plumbing_dagster.kit.emulator import (
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
    Fault,
)
from plumbing_dagster.kit.extract import fetch_stream
from plumbing_dagster.sources.jortt import VENDOR, JorttEmulator, connect
from plumbing_dagster.sources.jortt.connection import JorttConnection
from plumbing_dagster.sources.jortt.endpoints import RENEWABLE_ERROR_KEYS, error_key

SPEC_PATH = Path(__file__).parent / "specs" / "jortt-swagger-2026-05-05.json"
NOW = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)  # a Monday; 11 days of data
DAY = date(2026, 1, 6)  # a Tuesday
RETRY = RetryPolicy(attempts=4, base_delay=0.01)
TOKEN_PATH = "/oauth-provider/oauth/token"
SECRET = "sandbox-jortt-secret"
CLIENT_ID = "sandbox-jortt-client"


# -- helpers ----------------------------------------------------------------------------------


class Recorder:
    """Passes requests to `app` and remembers (method, path, status) of each answer."""

    def __init__(self, app: EmulatorApp):
        self.app = app
        self.seen: list[tuple[str, str, int]] = []

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        response = self.app.handle(request)
        self.seen.append((request.method, request.path, response.status))
        return response

    def statuses(self, path_part: str) -> list[int]:
        return [status for _, path, status in self.seen if path_part in path]


class WithoutLinks:
    """Serves customer pages without `_links`: a page that parses but breaks the envelope."""

    def __init__(self, app: EmulatorApp):
        self.app = app

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        response = self.app.handle(request)
        if request.path.endswith("/customers") and response.status == 200:
            body = json.loads(response.body)
            body.pop("_links")
            response.body = json.dumps(body).encode()
        return response


CONFIGS = load_stream_configs(DEFAULT_DAG_DIR)["jortt"]


def make_client(server: EmulatorServer, **kwargs: Any) -> RestClient:
    return connect(VENDOR.sandbox_connection(server.url), retry=RETRY, **kwargs)


def rows(pages: Iterator[list[Record]]) -> list[Record]:
    return [record for page in pages for record in page]


def read(client: RestClient, stream: str) -> list[Record]:
    """The whole stream, as a snapshot read."""
    return rows(VENDOR.endpoints[stream].fetch(client, Extract(None)))


def organization(client: RestClient) -> Record:
    (record,) = read(client, "organizations")
    return record


def read_window(client: RestClient, stream: str, window: Window) -> list[Record]:
    """The stream for a window, as its committed config's sync mode reads it (pages may come as
    Arrow tables of the contract's fields)."""
    pages = fetch_stream(VENDOR.endpoints[stream], client, CONFIGS[stream], window)
    return [r for page in pages for r in (page.to_pylist() if isinstance(page, pa.Table) else page)]


def contract_view(records: list[Record], stream: str) -> list[Record]:
    """The records as landing keeps them: the stream contract's fields only."""
    return [{name: record.get(name) for name in CONFIGS[stream].fields} for record in records]


def by_key(records: list[Record], *key: str) -> dict[tuple[Any, ...], Record]:
    keyed = {tuple(r[k] for k in key): r for r in records}
    assert len(keyed) == len(records), "duplicate keys"
    return keyed


def all_invoices(emulator: JorttEmulator) -> list[Record]:
    start = datetime.combine(emulator.world.start_date, datetime.min.time(), UTC)
    return emulator.world.invoices_created_between(start, emulator.world.now + timedelta(seconds=1))


def raw_token(url: str, scope: str = "customers:read invoices:read organizations:read") -> str:
    response = httpx.post(
        f"{url}{TOKEN_PATH}",
        auth=(CLIENT_ID, SECRET),
        data={"grant_type": "client_credentials", "scope": scope},
    )
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def emulator() -> JorttEmulator:
    return JorttEmulator(now=NOW, rate_limit=None)


@pytest.fixture(scope="module")
def server(emulator: JorttEmulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[tuple[JorttEmulator, EmulatorServer]]:
    """An emulator and server of its own, for tests that count requests or inject faults."""
    emulator = JorttEmulator(now=NOW, rate_limit=None)
    with EmulatorServer(emulator) as running:
        yield emulator, running


# -- Jortt's Swagger document as a validator --------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _swagger_definitions(spec: dict[str, Any]) -> dict[str, Any]:
    """The document's definitions as JSON Schema draft 4, with Jortt's quirks made explicit.

    1. Nullability. Swagger 2.0 has no `null` type; generators mark nullable fields with the
       `x-nullable: true` extension, which validators (bravado-core, go-swagger) read as "null is
       also allowed". Jortt's document (grape-swagger) marks none, lists every field as required,
       yet the API sends `null` for unset fields (its recorded responses: `invoice_number` of a
       draft, `_links.previous` on page 1). So every field of an entity counts as x-nullable; the
       response envelopes (`data`, `_links`) stay non-null.
    2. `Amount.value` is documented as a number, but the API sends decimal strings ("10.10"; the
       document's own example is "365.00"), so a decimal string is accepted as well.
    3. `ProjectLineItem.date` is documented as a date-time with the example pasted on every
       timestamp, but it is the calendar day filtered by the date-valued `start_date`/`end_date`;
       the emulator sends a date, so it is checked as one.
    """
    definitions = copy.deepcopy(spec["definitions"])
    for name, definition in definitions.items():
        if name.startswith("Jortt_V1_Entities_Responses_"):
            continue
        for field, schema in definition.get("properties", {}).items():
            definition["properties"][field] = {**schema, "x-nullable": True}
    definitions["Jortt_V1_Entities_Amount"]["properties"]["value"] = {
        "type": ["number", "string"],
        "pattern": r"^-?\d+(\.\d+)?$",
    }
    definitions["Jortt_V1_Entities_ProjectLineItem"]["properties"]["date"].update(format="date")
    return _x_nullable_to_draft4(definitions)


def _x_nullable_to_draft4(node: Any) -> Any:
    if isinstance(node, list):
        return [_x_nullable_to_draft4(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _x_nullable_to_draft4(v) for k, v in node.items() if k != "x-nullable"}
    return {"anyOf": [{"type": "null"}, converted]} if node.get("x-nullable") else converted


@pytest.fixture(scope="module")
def validator_for(spec: dict[str, Any]) -> Any:
    definitions = _swagger_definitions(spec)

    def build(schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        # `$ref: "#/definitions/..."` resolves against this root document.
        root = {"definitions": definitions, "allOf": [schema]}
        # Swagger 2.0 formats include `date`, which draft 4 alone does not check.
        return jsonschema.Draft4Validator(root, format_checker=jsonschema.FormatChecker())

    return build


def check_response(spec: dict[str, Any], validator_for: Any, path: str, body: Any) -> None:
    schema = spec["paths"][path]["get"]["responses"]["200"]["schema"]
    errors = sorted(validator_for(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{path}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5]
    )


def check_error(validator_for: Any, response: httpx.Response, status: int, key: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and body["error"]["key"] == key
    # No path documents its errors; the document's error entity is the object under "error".
    validator = validator_for({"$ref": "#/definitions/Jortt_Shared_Entities_Error"})
    assert not list(validator.iter_errors(body["error"]))


def test_the_document_is_swagger_2_but_for_its_reused_operation_ids(spec: dict[str, Any]) -> None:
    # The unversioned aliases repeat the operationIds of /v1/...; nothing else is wrong with it.
    errors = OpenAPIV2SpecValidator(spec).iter_errors()
    problems = [e for e in errors if "is not unique" not in str(e)]
    assert not problems


def test_every_response_matches_the_swagger_document(
    server: EmulatorServer, emulator: JorttEmulator, spec: dict[str, Any], validator_for: Any
) -> None:
    token = raw_token(server.url)
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})

    def every_page(path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        bodies, url = [], f"{server.url}{path}"
        query: dict[str, str] | None = {**(params or {}), "page": "1"}
        while url:
            response = api.get(url, params=query)
            assert response.status_code == 200, response.text
            bodies.append(response.json())
            url, query = (bodies[-1]["_links"]["next"] or {}).get("href"), None
        return bodies

    invoices = every_page("/v1/invoices")
    assert len(invoices) > 1
    for body in invoices:
        check_response(spec, validator_for, "/v1/invoices", body)
    assert {i["invoice_status"] for b in invoices for i in b["data"]} == {"draft", "sent"}
    assert invoices[0]["_links"]["previous"] is None and invoices[1]["_links"]["previous"]

    for body in every_page("/customers"):
        check_response(spec, validator_for, "/customers", body)
    projects = every_page("/projects")
    assert len(projects) > 1 and all(len(b["data"]) <= 10 for b in projects)
    for body in projects:
        check_response(spec, validator_for, "/projects", body)
    for project in emulator.world.projects():
        path = f"/v1/projects/{project['aggregate_id']}/line_items"
        for body in every_page(path, {"start_date": "2026-01-05", "end_date": "2026-01-10"}):
            check_response(spec, validator_for, "/v1/projects/{id}/line_items", body)
    organization = api.get("/organizations/me").json()
    check_response(spec, validator_for, "/organizations/me", organization)

    check_error(validator_for, httpx.get(f"{server.url}/v1/customers"), 401, "access_token.invalid")
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = api.get(f"/projects/{unknown}/line_items")
    check_error(validator_for, missing, 404, "resource.not_found")
    bad_date = api.get(
        f"/projects/{emulator.world.projects()[0]['aggregate_id']}/line_items",
        params={"start_date": "6 januari"},
    )
    check_error(validator_for, bad_date, 422, "params.invalid")
    assert bad_date.json()["error"]["details"][0]["param"] == "start_date"
    narrow = raw_token(server.url, scope="customers:read")
    check_error(
        validator_for,
        httpx.get(f"{server.url}/invoices", headers={"Authorization": f"Bearer {narrow}"}),
        401,
        "scopes.insufficient",
    )


def test_the_rate_limit_answers_429_in_jortts_shape(validator_for: Any) -> None:
    emulator = JorttEmulator(now=NOW, rate_limit=2)
    with EmulatorServer(emulator) as server:
        token = raw_token(server.url)
        headers = {"Authorization": f"Bearer {token}"}
        answers = [httpx.get(f"{server.url}/organizations/me", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    check_error(validator_for, answers[2], 429, "request.throttled")
    assert answers[2].headers["Retry-After"] == "1"


# -- the token ------------------------------------------------------------------------------


def test_one_token_serves_every_page(
    fresh: tuple[JorttEmulator, EmulatorServer], caplog: pytest.LogCaptureFixture
) -> None:
    emulator, server = fresh
    caplog.set_level(logging.DEBUG)
    with make_client(server) as client:
        invoices = read(client, "invoices")
        customers = read(client, "customers")
    assert emulator.api_requests["invoices"] > 1  # paged
    assert emulator.token_requests == 1
    assert len(invoices) == len(all_invoices(emulator)) and customers == emulator.world.customers()
    (token,) = emulator.tokens.access_tokens()  # the one token issued
    assert token not in caplog.text and SECRET not in caplog.text


def test_concurrent_requests_share_one_token(fresh: tuple[JorttEmulator, EmulatorServer]) -> None:
    emulator, server = fresh
    with make_client(server) as client, ThreadPoolExecutor(max_workers=8) as pool:
        organizations = list(pool.map(lambda _: organization(client), range(16)))
    assert organizations == [emulator.world.organization()] * 16
    assert emulator.token_requests == 1


def test_tokens_expired_mid_run_are_renewed_and_nothing_is_lost(
    fresh: tuple[JorttEmulator, EmulatorServer],
) -> None:
    emulator, server = fresh
    recorder = Recorder(emulator)
    server.app = recorder
    with make_client(server) as client:
        pages = VENDOR.endpoints["invoices"].fetch(client, Extract(None))
        first = next(pages)
        emulator.expire_tokens()
        invoices = first + rows(pages)
    assert emulator.token_requests == 2
    assert recorder.statuses("/invoices").count(401) == 1  # answered once, then renewed
    assert by_key(invoices, "id") == by_key(all_invoices(emulator), "id")


def test_the_token_is_renewed_shortly_before_it_expires() -> None:
    clock = [1_000_000.0]  # one clock for both sides, moved by hand
    emulator = JorttEmulator(now=NOW, rate_limit=None, clock=lambda: clock[0])
    recorder = Recorder(emulator)
    with EmulatorServer(recorder) as server, make_client(server, clock=lambda: clock[0]) as client:
        organization(client)
        clock[0] += 7200 - 100  # 100 s left: still good
        organization(client)
        assert emulator.token_requests == 1
        clock[0] += 70  # 30 s left: renewed before use
        organization(client)
    assert emulator.token_requests == 2
    assert 401 not in recorder.statuses("/organizations")


def test_a_missing_scope_is_not_retried_with_new_tokens(
    fresh: tuple[JorttEmulator, EmulatorServer],
) -> None:
    emulator, server = fresh
    auth = ClientCredentials(
        "jortt",
        f"{server.url}{TOKEN_PATH}",
        CLIENT_ID,
        SECRET,
        scopes=("customers:read",),
        scrub=Scrubber(),
        renewable=lambda response: error_key(response) in RENEWABLE_ERROR_KEYS,
        retry=RETRY,
    )
    with httpx.Client(base_url=server.url, auth=auth) as api:
        response = api.get("/v1/invoices")
    auth.close()
    assert response.status_code == 401
    assert response.json()["error"]["key"] == "scopes.insufficient"
    assert emulator.token_requests == 1


def test_token_endpoint_errors_are_retried(fresh: tuple[JorttEmulator, EmulatorServer]) -> None:
    emulator, server = fresh
    server.faults.add(Fault("server_error", times=1, path_prefix=TOKEN_PATH, status=503))
    server.faults.add(Fault("rate_limit", times=1, path_prefix=TOKEN_PATH, retry_after=None))
    with make_client(server) as client:
        assert organization(client) == emulator.world.organization()
    assert emulator.token_requests == 1  # the two faults never reached the emulator
    assert [kind for kind, _ in server.faults.fired] == ["server_error", "rate_limit"]


# -- faults and errors --------------------------------------------------------------------------


def test_429_then_success_gives_the_same_rows(fresh: tuple[JorttEmulator, EmulatorServer]) -> None:
    emulator, server = fresh
    expected = by_key(all_invoices(emulator), "id")
    # Jortt sends no Retry-After (undocumented): the first 429 has none, the second has one.
    server.faults.add(Fault("rate_limit", times=1, path_prefix="/v1/invoices", retry_after=None))
    server.faults.add(Fault("rate_limit", times=1, path_prefix="/v1/invoices", retry_after=0.01))
    with make_client(server) as client:
        assert by_key(read(client, "invoices"), "id") == expected
    assert [kind for kind, _ in server.faults.fired] == ["rate_limit", "rate_limit"]


def test_the_emulators_own_rate_limit_only_slows_the_client_down() -> None:
    emulator = JorttEmulator(now=NOW, rate_limit=2)
    recorder = Recorder(emulator)
    with EmulatorServer(recorder) as server, make_client(server) as client:
        invoices = read(client, "invoices")
    assert 429 in recorder.statuses("/invoices")
    assert by_key(invoices, "id") == by_key(all_invoices(emulator), "id")


def test_a_wrong_secret_fails_without_leaking_credentials(
    fresh: tuple[JorttEmulator, EmulatorServer], caplog: pytest.LogCaptureFixture
) -> None:
    _, server = fresh
    wrong = "not-the-secret-4f1c"
    connection = JorttConnection(
        base_url=server.url,
        token_url=f"{server.url}{TOKEN_PATH}",
        client_id=CLIENT_ID,
        client_secret=wrong,
    )
    caplog.set_level(logging.DEBUG)
    with connect(connection, retry=RETRY) as client, pytest.raises(ApiError) as caught:
        organization(client)
    error = caught.value
    assert error.status == 401 and error.vendor == "jortt"
    assert TOKEN_PATH in str(error) and "invalid_client" in str(error)
    for text in (str(error), repr(error), error.detail, caplog.text):
        assert wrong not in text and CLIENT_ID not in text


def test_missing_credentials_are_named_not_shown() -> None:
    with pytest.raises(ConnectionError_, match="JORTT_CLIENT_SECRET not set") as caught:
        JorttConnection.from_values({"base_url": "https://api.jortt.nl", "client_id": "my-id"})
    assert "my-id" not in str(caught.value) and "JORTT_CLIENT_ID" not in str(caught.value)
    settings = JorttConnection(base_url="https://api.jortt.nl", client_id="my-id", client_secret="my-secret")
    assert "my-id" not in repr(settings) and "my-secret" not in repr(settings)


def test_a_truncated_page_fails(fresh: tuple[JorttEmulator, EmulatorServer]) -> None:
    _, server = fresh
    server.faults.add(Fault("malformed", times=1, path_prefix="/v1/customers"))
    with make_client(server) as client, pytest.raises(ApiError, match="not JSON"):
        read(client, "customers")


def test_a_page_without_links_fails(fresh: tuple[JorttEmulator, EmulatorServer]) -> None:
    emulator, server = fresh
    server.app = WithoutLinks(emulator)
    with make_client(server) as client, pytest.raises(ApiError, match="malformed page") as caught:
        read(client, "customers")
    assert "_links" in str(caught.value) and "/v1/customers" in str(caught.value)


# -- streams ------------------------------------------------------------------------------------


def test_invoices_of_one_day_are_exactly_that_day(
    fresh: tuple[JorttEmulator, EmulatorServer],
) -> None:
    emulator, server = fresh
    window = Window.for_day(DAY)
    expected = emulator.world.invoices_created_between(window.start, window.end)
    with make_client(server) as client:
        got = read_window(client, "invoices", window)
    assert emulator.api_requests["invoices"] > 1  # the day was found across pages
    assert len(expected) > 10
    assert by_key(got, "id") == by_key(expected, "id")


def test_projects_and_customers_are_complete(server: EmulatorServer, emulator: JorttEmulator) -> None:
    with make_client(server) as client:
        projects = read(client, "projects")
        customers = read_window(client, "customers", Window.for_day(DAY))
        organizations = read_window(client, "organizations", Window.for_day(DAY))
    assert projects == emulator.world.projects() and len(projects) > 10
    # Snapshots: the window does not apply.
    assert contract_view(customers, "customers") == contract_view(emulator.world.customers(), "customers")
    assert contract_view(organizations, "organizations") == contract_view(
        [emulator.world.organization()], "organizations"
    )


def test_projects_by_update_day(server: EmulatorServer, emulator: JorttEmulator) -> None:
    window = Window(datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    expected = [
        p for p in emulator.world.projects() if window.contains(datetime.fromisoformat(p["updated_at"]))
    ]
    with make_client(server) as client:
        got = read_window(client, "projects", window)
    assert expected and by_key(got, "aggregate_id") == by_key(expected, "aggregate_id")


def test_line_items_of_one_day_carry_their_project(server: EmulatorServer, emulator: JorttEmulator) -> None:
    expected = [
        item
        for project in emulator.world.projects()
        for item in emulator.world.line_items(project["aggregate_id"], DAY, DAY + timedelta(days=1))
    ]
    with make_client(server) as client:
        got = read_window(client, "project_line_items", Window.for_day(DAY))
        with pytest.raises(ValueError, match="whole UTC days"):
            half_day = Window.for_day(DAY)
            half_day = Window(half_day.start, half_day.start + timedelta(hours=12))
            read_window(client, "project_line_items", half_day)
    assert len(expected) > 5
    key = ("project_id", "line_item_id")
    assert by_key(got, *key) == by_key(expected, *key)
    assert {item["date"] for item in got} == {DAY.isoformat()}


def test_the_data_is_deterministic_and_grows_with_the_clock() -> None:
    one_day = Window.for_day(DAY)

    def invoices(emulator: JorttEmulator) -> list[Record]:
        return emulator.world.invoices_created_between(one_day.start, one_day.end)

    first, again = invoices(JorttEmulator(now=NOW)), invoices(JorttEmulator(now=NOW))
    other_seed = invoices(JorttEmulator(seed=12, now=NOW))
    assert first == again and first != other_seed
    assert len(invoices(JorttEmulator(now=datetime(2026, 1, 6, 12, tzinfo=UTC)))) < len(first)


def test_the_package_knows_nothing_of_dagster() -> None:
    package = Path(VENDOR.connect.__code__.co_filename).parent
    for module in package.rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "import dagster" not in text and "from dagster" not in text, module.name
