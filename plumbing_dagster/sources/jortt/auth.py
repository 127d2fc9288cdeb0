"""OAuth 2.0 client credentials for the Jortt API, as an `httpx.Auth`.

Jortt issues no refresh token for this grant: a new access token is simply requested again. Tokens
live 7200 s; we renew one a minute before it runs out, and once more when the API still answers 401
`access_token.expired`/`access_token.invalid` (clock skew, a revoked token), then retry the request
once. The token request goes through its own `ApiClient`, so 429 and 5xx on the token endpoint are
retried like any other call. Errors name the token URL and status, never the id, secret or token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from plumbing_dagster.sources.http import ApiClient, ApiError, RetryPolicy

logger = logging.getLogger(__name__)

VENDOR_NAME = "jortt"
# Read scopes only: `invoices:read` also covers projects and their line items.
READ_SCOPES: tuple[str, ...] = ("customers:read", "invoices:read", "organizations:read")
TOKEN_LIFETIME_DEFAULT = 7200  # seconds; Jortt always sends expires_in, this is the fallback
RENEW_MARGIN = 60.0  # seconds left at which a token counts as spent
RENEWABLE_ERROR_KEYS = frozenset({"access_token.expired", "access_token.invalid"})


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # on the auth's clock


def public_url(url: str) -> str:
    # Scheme, host, port and path only: no user info or query string in error messages.
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def api_error_key(response: httpx.Response) -> str | None:
    """The `error.key` of a Jortt error body (`{"error": {"key": ...}}`), if there is one."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    key = error.get("key") if isinstance(error, dict) else None
    return key if isinstance(key, str) else None


class JorttTokenAuth(httpx.Auth):
    """Adds `Authorization: Bearer <token>` to every request; fetches and renews the token.

    Thread-safe: one lock guards the cached token, so concurrent requests share one token fetch.
    Synchronous only (the token request is a blocking call).
    """

    # The 401 body says whether the token expired (worth renewing) or the scope is missing (not).
    requires_response_body = True

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        *,
        scopes: Sequence[str] = READ_SCOPES,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not client_id or not client_secret:
            raise ValueError(f"{VENDOR_NAME}: JORTT_CLIENT_ID and JORTT_CLIENT_SECRET must both be set")
        self._secrets = (client_id, client_secret)
        self._token_url = token_url
        self._public_token_url = public_url(token_url)
        self._form = {"grant_type": "client_credentials", "scope": " ".join(scopes)}
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self.tokens_fetched = 0
        # base_url "" because the token URL is absolute (and on another host than the API).
        self._http = ApiClient(
            VENDOR_NAME,
            "",
            auth=httpx.BasicAuth(client_id, client_secret),
            timeout=timeout,
            retry=retry,
        )

    def close(self) -> None:
        self._http.close()

    # -- httpx.Auth ---------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        key = api_error_key(response)
        if key not in RENEWABLE_ERROR_KEYS:
            return  # e.g. scopes.insufficient: a new token would not help
        logger.info("%s: access token rejected (%s); requesting a new one", VENDOR_NAME, key)
        request.headers["Authorization"] = f"Bearer {self._renew(rejected=token)}"
        yield request  # once: a second 401 is an error for the caller

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        raise NotImplementedError("JorttTokenAuth fetches tokens synchronously; use httpx.Client")
        yield request  # pragma: no cover - makes this an async generator, as httpx expects

    # -- tokens -------------------------------------------------------------------------------

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_at - self._clock() < RENEW_MARGIN:
                self._token = self._fetch()
            return self._token.value

    def _renew(self, rejected: str) -> str:
        with self._lock:
            # Another thread may have renewed while this request was in flight.
            if self._token is None or self._token.value == rejected:
                self._token = self._fetch()
            return self._token.value

    def _fetch(self) -> _Token:
        requested_at = self._clock()  # the lifetime counts from the request, to be safe
        try:
            response = self._http.request("POST", self._token_url, data=self._form)
        except ApiError as exc:
            raise ApiError(
                VENDOR_NAME, "POST", self._public_token_url, exc.status, self._scrub(exc.detail)
            ) from None
        body = self._token_body(response)
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise self._bad_response("no access_token in the token response")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise self._bad_response(f"token_type is {token_type!r}, expected 'Bearer'")
        expires_in = body.get("expires_in")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            logger.warning(
                "%s: token response has no usable expires_in; assuming %d s",
                VENDOR_NAME,
                TOKEN_LIFETIME_DEFAULT,
            )
            expires_in = TOKEN_LIFETIME_DEFAULT
        self.tokens_fetched += 1
        logger.debug("%s: new access token, valid for %d s", VENDOR_NAME, expires_in)
        return _Token(access_token, requested_at + expires_in)

    def _token_body(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            # Not quoting the body: it may hold a token.
            raise self._bad_response("token response is not JSON") from None
        if not isinstance(body, dict):
            raise self._bad_response("token response is not a JSON object")
        return body

    def _bad_response(self, problem: str) -> ApiError:
        return ApiError(VENDOR_NAME, "POST", self._public_token_url, 200, problem)

    def _scrub(self, detail: str) -> str:
        """An OAuth error (`invalid_client: ...`) rather than the raw body, without credentials."""
        try:
            body = json.loads(detail)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            description = body.get("error_description")
            detail = body["error"] + (f": {description}" if isinstance(description, str) else "")
        for secret in self._secrets:
            detail = detail.replace(secret, "***")
        return detail
