"""Each paging strategy, once, over real HTTP: every record exactly once, the last page found by
the strategy's rule, servers that lower the page size, and envelopes that would loop or leak."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.kit import (
    ApiClient,
    ApiError,
    CursorInBody,
    LinkInBody,
    Offset,
    PageNumber,
    PageRequest,
    Paginator,
    RetryPolicy,
    iter_pages,
)
from plumbing_dagster.kit.emulator import EmulatorRequest, EmulatorResponse, EmulatorServer, Fault
from plumbing_dagster_tests.kit.apps import RECORDS, PagedApp

RETRY = RetryPolicy(attempts=2, base_delay=0.01)


@pytest.fixture
def app() -> PagedApp:
    return PagedApp(max_page=10)


@pytest.fixture
def api(app: PagedApp) -> Iterator[ApiClient]:
    with EmulatorServer(app) as server, ApiClient("kit", server.url, retry=RETRY) as client:
        yield client


def read(api: ApiClient, request: PageRequest, paginator: Paginator, records: str) -> list[list[dict]]:
    return [
        page if isinstance(page, list) else page.to_pylist()
        for page in iter_pages(api, request, paginator, records)
    ]


STRATEGIES = {
    "link in body": (PageRequest("GET", "/link"), LinkInBody("_links.next.href"), "data", 3),
    "cursor in body": (PageRequest("GET", "/cursor"), CursorInBody("next", "after"), "data", 3),
    # Asks for 25 a page, the server gives 10 and says so: the total ends the read after page 3.
    "page number, lowered size": (
        PageRequest("GET", "/pages"),
        PageNumber(size=25, total_path="total", served_size_path="per_page"),
        "data",
        3,
    ),
    # Asks for 50, gets 10: the next offset follows what came back, the total ends the read.
    "offset with total": (
        PageRequest("GET", "/offset"),
        Offset("startAt", "maxResults", limit=50, total_path="total", served_offset_path="startAt"),
        "issues",
        3,
    ),
    # An RPC call: offset and limit inside the JSON body, no total, a short page ends it.
    "offset in an rpc body": (
        PageRequest("POST", "/rpc", json={"jsonrpc": "2.0", "params": {"args": ["items", {}]}, "id": 1}),
        Offset("params.args.1.offset", "params.args.1.limit", limit=10, in_body=True),
        "result",
        3,
    ),
}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_record_comes_exactly_once(api: ApiClient, app: PagedApp, name: str) -> None:
    request, paginator, records, pages_expected = STRATEGIES[name]
    pages = read(api, request, paginator, records)
    assert [r for page in pages for r in page] == RECORDS
    assert len(pages) == pages_expected
    assert sum(app.requests.values()) == pages_expected  # no extra request after the last page


def test_an_rpc_read_of_an_exact_multiple_asks_once_more_and_stops_on_the_empty_page(app: PagedApp) -> None:
    app.records = RECORDS[:20]
    request, paginator, records, _ = STRATEGIES["offset in an rpc body"]
    with EmulatorServer(app) as server, ApiClient("kit", server.url) as api:
        pages = read(api, request, paginator, records)
    assert [r for page in pages for r in page] == RECORDS[:20] and app.requests["rpc"] == 3


def test_pages_parse_straight_into_arrow_with_the_same_rows(api: ApiClient) -> None:
    fields = {"id": FieldSpec(type="integer"), "name": FieldSpec(type="string")}
    request, paginator, records, _ = STRATEGIES["link in body"]
    pages = list(iter_pages(api, request, paginator, records, arrow_fields=fields))
    assert all(isinstance(page, pa.Table) for page in pages)
    assert [r for page in pages for r in page.to_pylist()] == RECORDS


class Envelope:
    """Answers every request with one fixed JSON body."""

    def __init__(self, body: object):
        self.body = body
        self.requests = 0

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        self.requests += 1
        return EmulatorResponse.of_json(self.body)


@pytest.mark.parametrize(
    ("body", "paginator", "problem"),
    [
        ({"data": [{"id": 1}], "next": "same"}, CursorInBody("next", "after"), "repeats an earlier one"),
        ({"data": [{"id": 1}]}, LinkInBody("_links.next.href"), "expected '_links' with a 'next' entry"),
        (
            {"data": [{"id": 1}], "_links": {"next": {"href": "http://elsewhere.example/link?page=2"}}},
            LinkInBody("_links.next.href"),
            "on another host (elsewhere.example)",
        ),
        ({"data": {"id": 1}}, CursorInBody("next", "after"), "expected a list at 'data'"),
        (
            {"data": [{"id": 1}], "per_page": "ten", "total": 3},
            PageNumber(size=1, served_size_path="per_page"),
            "'per_page' is missing or not an integer",
        ),
    ],
)
def test_a_broken_envelope_fails_naming_the_request_and_the_page(
    body, paginator: Paginator, problem: str
) -> None:
    app = Envelope(body)
    with (
        EmulatorServer(app) as server,
        ApiClient("kit", server.url) as api,
        pytest.raises(ApiError) as raised,
    ):
        read(api, PageRequest("GET", "/items"), paginator, "data")
    message = str(raised.value)
    assert problem in message and "malformed page" in message
    assert "/items (page " in message
    assert app.requests <= 2  # stopped at once, never looped


def test_an_offset_error_names_the_offset(app: PagedApp) -> None:
    with EmulatorServer(app) as server, ApiClient("kit", server.url, retry=RETRY) as api:
        server.faults.add(Fault("server_error", times=5, path_prefix="/offset"))
        request, paginator, records, _ = STRATEGIES["offset with total"]
        with pytest.raises(ApiError, match=r"/offset \(offset 0\) failed with HTTP 500"):
            read(api, request, paginator, records)
