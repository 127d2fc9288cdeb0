"""The HTTP client every vendor client builds on: timeouts, retries with exponential backoff and
full jitter, `Retry-After` on 429 and 5xx, and errors that never carry credentials.

Hand-written rather than taken from a retry library because `Retry-After` must override the
backoff and the error text must be scrubbed of secrets; both are a few lines here.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

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


class ApiError(RuntimeError):
    """A vendor call failed for good. Says which call and why, never which credentials."""

    def __init__(self, vendor: str, method: str, url: str, status: int | None, detail: str):
        self.vendor = vendor
        self.method = method
        self.url = url
        self.status = status
        self.detail = detail
        where = f"{vendor}: {method} {url}"
        super().__init__(
            f"{where} failed with HTTP {status}: {detail}" if status else f"{where} failed: {detail}"
        )


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


def _public_url(request: httpx.Request) -> str:
    # Only scheme, host and path: query strings can carry tokens on some APIs.
    url = request.url
    return f"{url.scheme}://{url.host}{':' + str(url.port) if url.port else ''}{url.path}"


def _error_detail(response: httpx.Response, limit: int = 300) -> str:
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - a body we cannot decode is still an error to report
        text = "<undecodable body>"
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


class ApiClient:
    """A small synchronous JSON client over `httpx.Client` with retries.

    Vendor clients own one of these and add auth (an `httpx.Auth`) and pagination.
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
    ):
        self.vendor = vendor
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying transport errors, 429 and 5xx; raise `ApiError` at the end."""
        last_problem = ""
        last_status: int | None = None
        request_url = url
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                last_status, last_problem = None, f"{type(exc).__name__}: {exc}"
                wait = self.retry.backoff(attempt)
            else:
                request_url = _public_url(response.request)
                if response.status_code < 400:
                    return response
                last_status, last_problem = response.status_code, _error_detail(response)
                if response.status_code not in RETRYABLE_STATUS:
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
                "%s: %s %s answered %s; retry %d/%d in %.2fs",
                self.vendor,
                method,
                request_url,
                last_status or last_problem,
                attempt,
                self.retry.attempts - 1,
                wait,
            )
            self._sleep(wait)
        raise ApiError(self.vendor, method, request_url, last_status, last_problem)

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.parse_json(self.request("GET", url, params=params))

    def parse_json(self, response: httpx.Response) -> Any:
        """The response's JSON body, or an `ApiError` saying the page is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                self.vendor,
                response.request.method,
                _public_url(response.request),
                response.status_code,
                f"response is not JSON: {_error_detail(response, 120)}",
            ) from None
