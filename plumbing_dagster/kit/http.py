"""The HTTP client every vendor client builds on: timeouts, retries with exponential backoff and
full jitter, `Retry-After` on 429 and 5xx, and errors that name the request but never a secret.

Hand-written rather than taken from a retry library (or dlt's `requests`-based helpers) because our
clients are httpx, `Retry-After` must override the backoff and every error text must pass one
scrubbing hook; each is a few lines here.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from plumbing_dagster.kit.tls import tls_context

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry. `attempts` counts the first try."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for retry number `attempt` (1-based)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class Scrubber:
    """Replaces every registered secret in a text by `***`: the one hook all error texts pass.

    Auth helpers and connection settings register their secrets; short values are ignored (a
    two-letter "secret" would blank out unrelated words)."""

    MIN_LENGTH = 4

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= self.MIN_LENGTH)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)  # longest first: no partial leftovers
        for secret in secrets:
            text = text.replace(secret, "***")
        return text


class ApiError(RuntimeError):
    """A vendor call failed for good. Says which request (method, URL without query, the page or
    offset it was at) and why, never which credentials."""

    def __init__(
        self,
        vendor: str,
        method: str,
        url: str,
        status: int | None,
        detail: str,
        where: str | None = None,
        retryable: bool = False,
    ):
        self.vendor = vendor
        self.method = method
        self.url = url
        self.status = status
        self.detail = detail
        self.where = where
        self.retryable = retryable
        request = f"{vendor}: {method} {url}" + (f" ({where})" if where else "")
        super().__init__(
            f"{request} failed with HTTP {status}: {detail}" if status else f"{request} failed: {detail}"
        )

    def at(self, where: str) -> ApiError:
        """The same error, saying where in a paged read it happened."""
        return ApiError(self.vendor, self.method, self.url, self.status, self.detail, where, self.retryable)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def public_url(url: str | httpx.URL) -> str:
    """Scheme, host, port and path only: query strings and user info can carry secrets."""
    parsed = httpx.URL(str(url))
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def body_excerpt(response: httpx.Response, limit: int = 300) -> str:
    """The response body on one line, cut at `limit` characters."""
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - a body we cannot decode is still an error to report
        text = "<undecodable body>"
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


# Reads a vendor's error body into one line (its message keys, not the raw JSON), or None to fall
# back to the body excerpt. Vendors pass their own; the default knows no shape.
ErrorReader = Callable[[httpx.Response], str | None]


class ApiClient:
    """A small synchronous JSON client over `httpx.Client` with retries.

    Vendor clients own one of these and add auth (an `httpx.Auth`, see `kit.auth`); paging is
    `kit.paging`. `scrub` holds the secrets no error text may show.
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        scrub: Scrubber | None = None,
        read_error: ErrorReader | None = None,
    ):
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.scrub = scrub or Scrubber()
        self._read_error = read_error
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            verify=tls_context(),  # shared: httpx would load the CA bundle per client (kit/tls.py)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error_detail(self, response: httpx.Response) -> str:
        detail = (self._read_error(response) if self._read_error else None) or body_excerpt(response)
        return self.scrub(detail)

    def error(
        self, method: str, url: str | httpx.URL, status: int | None, detail: str, where: str | None = None
    ) -> ApiError:
        """An `ApiError` for a request to `url` (relative to the base URL or absolute)."""
        return ApiError(self.vendor, method, self.public_url(url), status, self.scrub(detail), where)

    def public_url(self, url: str | httpx.URL) -> str:
        """`url` (relative to the base URL, or absolute) without query or user info."""
        absolute = url if isinstance(url, httpx.URL) else self._http.build_request("GET", url).url
        return public_url(absolute)

    def retryable(self, response: httpx.Response) -> bool:
        """Whether a failed response is worth another attempt (429 and 5xx)."""
        return response.status_code in RETRYABLE_STATUS

    def request(self, method: str, url: str, *, where: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying transport errors, 429 and 5xx; raise `ApiError` at the end."""
        last_problem = ""
        last_status: int | None = None
        request_url: str | httpx.URL = url
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                last_status, last_problem = None, self.scrub(f"{type(exc).__name__}: {exc}")
                wait = self.retry.backoff(attempt)
            else:
                request_url = response.request.url
                if response.status_code < 400:
                    return response
                last_status, last_problem = response.status_code, self.error_detail(response)
                if not self.retryable(response):
                    break
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                wait = (
                    min(retry_after, self.retry.max_retry_after)
                    if retry_after is not None
                    else self.retry.backoff(attempt)
                )
            if attempt == self.retry.attempts:
                break
            logger.warning(
                "%s: %s %s%s answered %s; retry %d/%d in %.2fs",
                self.vendor,
                method,
                self.public_url(request_url),
                f" ({where})" if where else "",
                last_status or last_problem,
                attempt,
                self.retry.attempts - 1,
                wait,
            )
            self._sleep(wait)
        raise self.error(method, request_url, last_status, last_problem, where)

    def get_json(self, url: str, params: Mapping[str, Any] | None = None, where: str | None = None) -> Any:
        return self.parse_json(self.request("GET", url, params=params, where=where), where)

    def parse_json(self, response: httpx.Response, where: str | None = None) -> Any:
        """The response's JSON body, or an `ApiError` saying the page is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise self.error(
                response.request.method,
                response.request.url,
                response.status_code,
                f"response is not JSON: {body_excerpt(response, 120)}",
                where,
            ) from None
