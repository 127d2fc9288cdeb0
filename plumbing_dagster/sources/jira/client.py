"""The Jira Data Center client: a personal access token as `Authorization: Bearer`, REST v2 under the
instance's base URL (with its context path), and Data Center's ways of saying no.

- A 401 may be an HTML page whose reason is only in `X-Seraph-LoginReason`: it fails at once, never
  retried, with a message saying what to do. `AUTHENTICATION_DENIED` means Jira wants a CAPTCHA: a
  person must log in through the browser, and every retry would only prolong the lock.
- 429 and 5xx are retried (the kit's `ApiClient`, honouring `Retry-After`). With rate limiting on,
  every answer carries `X-RateLimit-*`: when it says no token is left, the next request waits for
  one instead of spending a 429.
- A 500 "Search limit exceeded" (paging past the search window) is not retried: the search narrows
  its window instead (`search.py`).
- `GET /rest/api/2/myself` is the connectivity probe (asked once, on first use: an error names the
  base URL) and tells the searching user's time zone.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from plumbing_dagster.kit import ApiClient, ApiError, ConnectionError_, RetryPolicy, Scrubber, bearer
from plumbing_dagster.kit.http import parse_retry_after
from plumbing_dagster.sources.jira.connection import JiraConnection

logger = logging.getLogger(__name__)

API_PATH = "/rest/api/2"
MYSELF_PATH = "/myself"
FIELD_PATH = "/field"
SEARCH_LIMIT_TEXT = "search limit exceeded"
TIMEOUT = 120.0  # a search page of 1,000 issues with changelogs can take a while on a busy instance
_LOGIN_URL = re.compile(r"login-url=(\S+)")


def instance_url(base_url: str) -> str:
    """The instance's base URL as given (context path kept), without a trailing slash or a REST path."""
    url = base_url.strip().rstrip("/")
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.query:
        raise ConnectionError_(
            "jira: JIRA_BASE_URL must be the instance's http(s) base URL, such as "
            "https://jira.example.com or https://example.com/jira (no query string)"
        )
    for suffix in (API_PATH, "/rest/api/latest", "/rest"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def _login_refused(response: httpx.Response) -> str:
    reason = response.headers.get("X-Seraph-LoginReason") or "none given"
    if "AUTHENTICATION_DENIED" in reason:
        found = _LOGIN_URL.search(response.headers.get("X-Authentication-Denied-Reason", ""))
        login = found.group(1) if found else str(response.request.url).split("/rest/")[0] + "/login.jsp"
        return (
            f"Jira demands a CAPTCHA after failed logins (X-Seraph-LoginReason: {reason}): a person must "
            f"log in once through the browser at {login}, then check JIRA_PAT. Not retried: every "
            "further attempt only prolongs the lock."
        )
    return (
        f"Jira refused the personal access token (X-Seraph-LoginReason: {reason}). Check JIRA_PAT: a "
        "valid, unexpired token of an active user, sent as a Bearer token (a PAT is no Basic-auth "
        "password). Not retried."
    )


def read_error(response: httpx.Response) -> str | None:
    """Data Center's error text: the login reason of a 401 (whose body may be HTML), else the
    `{"errorMessages": [...], "errors": {field: message}}` collection on one line."""
    if response.status_code == 401:
        return _login_refused(response)
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    messages = [m for m in body.get("errorMessages") or [] if isinstance(m, str)]
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(messages) or None


def is_search_limit(response: httpx.Response) -> bool:
    return response.status_code == 500 and SEARCH_LIMIT_TEXT in response.text.lower()


def _header_number(response: httpx.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None


class JiraApi(ApiClient):
    """`ApiClient` with Data Center's retry rules and its rate-limit headers honoured ahead of a 429."""

    def __init__(self, *args: Any, clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._pace_lock = threading.Lock()
        self._not_before = 0.0

    def retryable(self, response: httpx.Response) -> bool:
        if is_search_limit(response):
            return False  # deeper than the search window: narrowing the query is the answer
        return super().retryable(response)

    def request(self, method: str, url: str, *, where: str | None = None, **kwargs: Any) -> httpx.Response:
        with self._pace_lock:
            wait = self._not_before - self._clock()
        if wait > 0:
            self._sleep(wait)
        response = super().request(method, url, where=where, **kwargs)
        self._note_rate_limit(response)
        return response

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """No token left: the next request waits until the bucket has refilled one."""
        remaining = _header_number(response, "X-RateLimit-Remaining")
        if remaining is None or remaining >= 1:
            return
        fill_rate = _header_number(response, "X-RateLimit-FillRate")
        interval = _header_number(response, "X-RateLimit-Interval-Seconds")
        wait = interval / fill_rate if fill_rate and interval else 1.0
        retry_after = parse_retry_after(response.headers.get("Retry-After")) or 0.0
        wait = min(max(wait, retry_after), self.retry.max_retry_after)
        with self._pace_lock:
            self._not_before = max(self._not_before, self._clock() + wait)


class JiraClient:
    """What Jira's endpoints get: the `ApiClient` (`api`), the probe, and the field metadata."""

    def __init__(self, api: JiraApi, base_url: str):
        self.api = api
        self.base_url = base_url
        self._lock = threading.Lock()
        self._user: dict[str, Any] | None = None
        self._fields: list[dict[str, Any]] | None = None

    def myself(self) -> dict[str, Any]:
        """The token's user (`GET /myself`), asked once: the connectivity probe."""
        if self._user is not None:
            return self._user
        try:
            user = self.api.get_json(MYSELF_PATH, where="connectivity probe")
        except ApiError as problem:
            hint = (
                " Is the context path part of JIRA_BASE_URL (https://example.com/jira)?"
                if problem.status == 404
                else ""
            )
            raise ApiError(
                problem.vendor,
                problem.method,
                problem.url,
                problem.status,
                f"cannot use Jira at {self.base_url}: {problem.detail}{hint}",
                "connectivity probe",
            ) from None
        if not isinstance(user, dict) or not isinstance(user.get("name"), str):
            raise self.api.error(
                "GET", MYSELF_PATH, 200, f"{self.base_url} answered, but not with a Jira user", "probe"
            )
        with self._lock:
            if self._user is None:
                self._user = user
                logger.info(
                    "jira: %s as %s (time zone %s); windows are sent as epoch milliseconds, which no "
                    "time zone shifts",
                    self.base_url,
                    user["name"],
                    user.get("timeZone"),
                )
        return self._user

    @property
    def time_zone(self) -> str | None:
        zone = self.myself().get("timeZone")
        return zone if isinstance(zone, str) else None

    def field_metadata(self) -> list[dict[str, Any]]:
        """`GET /field` (every system and custom field), asked once per client."""
        if self._fields is None:
            fields = self.api.get_json(FIELD_PATH, where="field metadata, page 1")
            if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
                raise self.api.error("GET", FIELD_PATH, 200, "malformed page: expected a list of fields")
            self._fields = fields
        return self._fields

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    settings: JiraConnection,
    *,
    retry: RetryPolicy | None = None,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> JiraClient:
    """A client on the personal access token (`sleep`/`clock` pace retries and rate limits)."""
    base_url = instance_url(settings.base_url)
    scrub = Scrubber(settings.secrets())
    api = JiraApi(
        "jira",
        base_url + API_PATH,
        auth=bearer(settings.pat, scrub),
        headers={"Accept": "application/json"},
        scrub=scrub,
        read_error=read_error,
        retry=retry,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
    )
    return JiraClient(api, base_url)
