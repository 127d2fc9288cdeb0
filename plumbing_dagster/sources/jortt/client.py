"""The Jortt API client: OAuth client credentials, page-number paging through `_links.next`.

Retries, backoff and `Retry-After` live in `ApiClient`; auth in `JorttTokenAuth`. This module adds
Jortt's envelope (`{"data": [...], "_links": {..., "next": {"href": ...} | null}}`) and checks each
page has it, so a malformed page fails loudly instead of landing as an empty or partial day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx

from plumbing_dagster.sources.http import ApiClient, ApiError, RetryPolicy
from plumbing_dagster.sources.jortt.auth import VENDOR_NAME, JorttTokenAuth, public_url
from plumbing_dagster.sources.vendor import Connection, Page, Record

logger = logging.getLogger(__name__)

PROD_API_URL = "https://api.jortt.nl"
# The token endpoint lives on the app host, not the API host.
PROD_TOKEN_URL = "https://app.jortt.nl/oauth-provider/oauth/token"
TOKEN_PATH = "/oauth-provider/oauth/token"

# Versioned paths: the unversioned ones are aliases today and could move to a newer version.
CUSTOMERS_PATH = "/v1/customers"
INVOICES_PATH = "/v1/invoices"
PROJECTS_PATH = "/v1/projects"
ORGANIZATION_PATH = "/v1/organizations/me"


def line_items_path(project_id: str) -> str:
    return f"{PROJECTS_PATH}/{quote(project_id, safe='')}/line_items"


def default_token_url(base_url: str) -> str:
    """Where to ask for tokens when the connection does not say: Jortt's app host in production,
    else the API host itself (the emulator serves both)."""
    if httpx.URL(base_url).host == httpx.URL(PROD_API_URL).host:
        return PROD_TOKEN_URL
    return f"{base_url.rstrip('/')}{TOKEN_PATH}"


def _origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


class JorttClient:
    """Reads customers, invoices, projects, project line items and the organization from Jortt."""

    def __init__(
        self,
        connection: Connection,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        client_id, client_secret = connection.client_id or "", connection.client_secret or ""
        required = {"JORTT_CLIENT_ID": client_id, "JORTT_CLIENT_SECRET": client_secret}
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ValueError(
                f"{VENDOR_NAME}: {' and '.join(missing)} missing; "
                "set the credentials of the Jortt OAuth application"
            )
        self._base_url = connection.base_url.rstrip("/")
        self._origin = httpx.URL(self._base_url)
        self.auth = JorttTokenAuth(
            client_id,
            client_secret,
            connection.token_url or default_token_url(self._base_url),
            retry=retry,
            timeout=timeout,
            clock=clock,
        )
        self._api = ApiClient(VENDOR_NAME, self._base_url, auth=self.auth, timeout=timeout, retry=retry)

    def close(self) -> None:
        self._api.close()
        self.auth.close()

    def __enter__(self) -> JorttClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints ----------------------------------------------------------------------------

    def iter_customers(self) -> Iterator[Page]:
        """All customers (ordered by name by the API), page by page."""
        return self._iter_pages(CUSTOMERS_PATH)

    def iter_invoices(self) -> Iterator[Page]:
        """All invoices (ordered by `created_at` by the API), page by page (no date filter)."""
        return self._iter_pages(INVOICES_PATH)

    def iter_projects(self) -> Iterator[Page]:
        """All projects, 10 a page."""
        return self._iter_pages(PROJECTS_PATH)

    def iter_project_line_items(
        self, project_id: str, start_date: date | None = None, end_date: date | None = None
    ) -> Iterator[Page]:
        """A project's line items whose `date` lies in `[start_date, end_date)`, page by page.

        Every record carries `project_id` (the API sends it; set here too so it is never missing).
        """
        params: dict[str, Any] = {}
        if start_date is not None:
            params["start_date"] = start_date.isoformat()
        if end_date is not None:
            params["end_date"] = end_date.isoformat()
        for page in self._iter_pages(line_items_path(project_id), params):
            for record in page:
                if record.get("project_id") is None:
                    record["project_id"] = project_id
            yield page

    def organization(self) -> Record:
        """The organization the credentials belong to (`GET /organizations/me`)."""
        body = self._api.get_json(ORGANIZATION_PATH)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise self._malformed(ORGANIZATION_PATH, "expected an object with a 'data' object")
        return body["data"]

    # -- paging -------------------------------------------------------------------------------

    def _iter_pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Page]:
        url = path
        query: dict[str, Any] | None = {**(params or {}), "page": 1}
        visited: set[str] = set()
        pages = records = 0
        while True:
            body = self._api.get_json(url, params=query)
            data, next_url = self._page(body, path)
            pages, records = pages + 1, records + len(data)
            if data:
                yield data
            if next_url is None:
                break
            url = self._checked_next(next_url, path, visited)
            visited.add(url)
            query = None  # the link carries the page number and the filters
        logger.debug("%s: %s gave %d records in %d pages", VENDOR_NAME, path, records, pages)

    def _page(self, body: Any, path: str) -> tuple[Page, str | None]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise self._malformed(path, "expected an object with a 'data' list")
        data = body["data"]
        if not all(isinstance(record, dict) for record in data):
            raise self._malformed(path, "'data' holds something other than objects")
        links = body.get("_links")
        if not isinstance(links, dict) or "next" not in links:
            raise self._malformed(path, "expected '_links' with a 'next' entry")
        next_link = links["next"]
        if next_link is None:
            return data, None
        if not isinstance(next_link, dict) or not isinstance(next_link.get("href"), str):
            raise self._malformed(path, "'_links.next' is neither null nor an object with 'href'")
        return data, next_link["href"]

    def _checked_next(self, next_url: str, path: str, visited: set[str]) -> str:
        """The absolute URL of the next page, after checking it is safe to follow."""
        try:
            target = self._origin.join(next_url)  # Jortt sends absolute links; accept relative ones
        except httpx.InvalidURL:
            raise self._malformed(path, "'_links.next.href' is not a URL") from None
        # The link gets our bearer token: never follow it to another host.
        if _origin_of(target) != _origin_of(self._origin):
            raise self._malformed(path, f"'_links.next' points away from {self._origin.host}")
        if str(target) in visited:
            # The same link again would loop forever; a broken API, not an empty day.
            raise self._malformed(path, "'_links.next' repeats an earlier page")
        return str(target)

    def _malformed(self, path: str, problem: str) -> ApiError:
        url = public_url(f"{self._base_url}{path}")
        return ApiError(VENDOR_NAME, "GET", url, 200, f"malformed page: {problem}")
