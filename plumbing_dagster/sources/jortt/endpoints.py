"""Jortt's streams and its client: OAuth client credentials, pages linked by `_links.next`.

No Jortt list endpoint filters by date, so windowed streams are filtered here on their cursor
(`ClientFilter`) — except project line items, whose endpoint filters on the line item's `date`
(`start_date` inclusive, `end_date` exclusive), asked for one project at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from plumbing_dagster.kit import (
    ApiClient,
    ClientCredentials,
    ClientFilter,
    Endpoint,
    Extract,
    LinkInBody,
    Page,
    PageRequest,
    RestClient,
    RetryPolicy,
    Scrubber,
    ServerFilter,
    iter_pages,
    rest_endpoint,
)
from plumbing_dagster.sources.jortt.connection import JorttConnection

PROD_API_HOST = "api.jortt.nl"
# The token endpoint lives on the app host, not the API host.
PROD_TOKEN_URL = "https://app.jortt.nl/oauth-provider/oauth/token"
TOKEN_PATH = "/oauth-provider/oauth/token"
# Read scopes only: `invoices:read` also covers projects and their line items.
READ_SCOPES = ("customers:read", "invoices:read", "organizations:read")
RENEWABLE_ERROR_KEYS = frozenset({"access_token.expired", "access_token.invalid"})
# Versioned paths: the unversioned ones are aliases today and could move to a newer version.
CUSTOMERS_PATH = "/v1/customers"
INVOICES_PATH = "/v1/invoices"
PROJECTS_PATH = "/v1/projects"
ORGANIZATION_PATH = "/v1/organizations/me"
NEXT_LINK = LinkInBody("_links.next.href")
# Jortt is a Dutch service; a timestamp that ever came without an offset would be local time.
JORTT_TIME = ClientFilter(naive_zone=ZoneInfo("Europe/Amsterdam"))


def line_items_path(project_id: str) -> str:
    return f"{PROJECTS_PATH}/{quote(project_id, safe='')}/line_items"


def error_key(response: httpx.Response) -> str | None:
    """The `error.key` of a Jortt error body (`{"error": {"key": ...}}`), if there is one."""
    try:
        error = response.json().get("error")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    key = error.get("key") if isinstance(error, dict) else None
    return key if isinstance(key, str) else None


def read_error(response: httpx.Response) -> str | None:
    """`key: message (param: message, ...)` from Jortt's error body."""
    try:
        error = response.json().get("error")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    if not isinstance(error, dict) or not isinstance(error.get("key"), str):
        return None
    text = f"{error['key']}: {error.get('message')}"
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    if details:
        text += " (" + "; ".join(f"{d.get('param')}: {d.get('message')}" for d in details) + ")"
    return text


def token_url(settings: JorttConnection) -> str:
    if settings.token_url:
        return settings.token_url
    if httpx.URL(settings.base_url).host == PROD_API_HOST:
        return PROD_TOKEN_URL
    return f"{settings.base_url.rstrip('/')}{TOKEN_PATH}"  # the emulator serves both


def connect(
    settings: JorttConnection,
    *,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> RestClient:
    """A client on the OAuth application's credentials (`clock` times the token's lifetime)."""
    scrub = Scrubber(settings.secrets())
    auth = ClientCredentials(
        "jortt",
        token_url(settings),
        settings.client_id,
        settings.client_secret,
        scopes=READ_SCOPES,
        scrub=scrub,
        # The 401 body says whether the token expired (worth renewing) or a scope is missing (not).
        renewable=lambda response: error_key(response) in RENEWABLE_ERROR_KEYS,
        retry=retry,
        timeout=timeout,
        clock=clock,
    )
    api = ApiClient(
        "jortt",
        settings.base_url,
        auth=auth,
        scrub=scrub,
        read_error=read_error,
        retry=retry,
        timeout=timeout,
    )
    return RestClient(api, auth)


def _project_line_items(client: RestClient, extract: Extract) -> Iterator[Page]:
    params: dict[str, Any] = {}
    if extract.window is not None:
        start, end = extract.window.whole_days()
        params = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    # Project ids first: paging /projects while issuing other calls would keep its pages open
    # for long, and a project created meanwhile could shift them.
    projects = [
        p
        for page in iter_pages(client.api, PageRequest("GET", PROJECTS_PATH), NEXT_LINK, "data")
        for p in page
    ]
    for project in projects:
        project_id = project.get("aggregate_id")
        if not isinstance(project_id, str) or not project_id:
            # Its line items could not be asked for: fail rather than land a day without them.
            raise ValueError(f"jortt: a project without aggregate_id (name={project.get('name')!r})")
        request = PageRequest("GET", line_items_path(project_id), params)
        for page in iter_pages(client.api, request, NEXT_LINK, "data"):
            for record in page:
                record.setdefault("project_id", project_id)  # the API sends it; never missing here
            yield page


def _organization(client: RestClient, extract: Extract) -> Iterator[Page]:
    where = "page 1"  # one object, one page
    body = client.api.get_json(ORGANIZATION_PATH, where=where)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        problem = "malformed page: expected an object with a 'data' object"
        raise client.api.error("GET", ORGANIZATION_PATH, 200, problem, where)
    yield [body["data"]]


ENDPOINTS = {
    e.name: e
    for e in (
        rest_endpoint(
            "customers",
            path=CUSTOMERS_PATH,
            records="data",
            paging=NEXT_LINK,
            primary_key=("id",),
            description="Customers (companies and private persons); a daily snapshot, as Jortt "
            "customers have no timestamps.",
        ),
        rest_endpoint(
            "invoices",
            path=INVOICES_PATH,
            records="data",
            paging=NEXT_LINK,
            primary_key=("id",),
            cursors={"created_at": JORTT_TIME},
            description="Invoices with their line items. The API cannot filter by date: by creation "
            "day every page is read and the day kept (an invoice's later status changes land only when "
            "its creation day is re-run); `full_refresh` lands all invoices, as they are, every day.",
        ),
        rest_endpoint(
            "projects",
            path=PROJECTS_PATH,
            records="data",
            paging=NEXT_LINK,
            primary_key=("aggregate_id",),
            cursors={"updated_at": JORTT_TIME, "created_at": JORTT_TIME},
            description="Projects (key `aggregate_id`); the API cannot filter by date, so a day's "
            "projects are picked here by their cursor.",
        ),
        Endpoint(
            name="project_line_items",
            fetch=_project_line_items,
            primary_key=("project_id", "line_item_id"),
            cursors={"date": ServerFilter()},
            description="Time registrations and costs of every project, by the day they are for "
            "(`date`); the API filters on that day, one request (or more) per project.",
        ),
        Endpoint(
            name="organizations",
            fetch=_organization,
            primary_key=("id",),
            description="The organization the credentials belong to; one record.",
        ),
    )
}
