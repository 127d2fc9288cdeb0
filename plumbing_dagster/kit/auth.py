"""Auth helpers as `httpx.Auth`, written once: a header (API key, bearer token), OAuth 2.0 client
credentials, and refresh-token rotation with a cross-process token store.

Every helper registers its secrets with the client's `Scrubber`, so no error text can show them.
dlt's `OAuth2ClientCredentials` and friends are `requests` auth classes; our clients are httpx.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from plumbing_dagster.kit.http import ApiClient, ApiError, RetryPolicy, Scrubber, public_url

logger = logging.getLogger(__name__)

TOKEN_LIFETIME_DEFAULT = 3600  # seconds, when a token response leaves out expires_in
RENEW_MARGIN = 60.0  # seconds left at which a token counts as spent


class HeaderAuth(httpx.Auth):
    """Sends one fixed header on every request: an API key, or a bearer token."""

    def __init__(self, name: str, value: str, scrub: Scrubber | None = None):
        self._name, self._value = name, value
        if scrub is not None:
            scrub.add(value)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._name] = self._value
        yield request


def bearer(token: str, scrub: Scrubber | None = None) -> HeaderAuth:
    """`Authorization: Bearer <token>` (API keys and personal access tokens sent as bearer)."""
    if scrub is not None:
        scrub.add(token)
    return HeaderAuth("Authorization", f"Bearer {token}", scrub)


def read_oauth_error(response: httpx.Response) -> str | None:
    """An RFC 6749 error body (`{"error": "invalid_client", "error_description": ...}`) on one line."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    description = body.get("error_description")
    return body["error"] + (f": {description}" if isinstance(description, str) else "")


@dataclass(frozen=True)
class Token:
    """An access token (and, with rotation, its refresh token); `expires_at` on the auth's clock."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    extra: dict[str, Any] | None = None  # other fields of the token response (kept for the vendor)


class TokenEndpoint:
    """POSTs OAuth forms to a token URL and reads the token response. Errors name the URL and the
    OAuth error, never a token, id or secret."""

    def __init__(
        self,
        vendor: str,
        token_url: str,
        *,
        scrub: Scrubber,
        basic_auth: tuple[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.vendor = vendor
        self.url = token_url
        self.clock = clock
        self.requests = 0
        self.scrub = scrub
        # base_url "" because the token URL is absolute (and may be on another host than the API).
        self._http = ApiClient(
            vendor,
            "",
            auth=httpx.BasicAuth(*basic_auth) if basic_auth else None,
            timeout=timeout,
            retry=retry,
            scrub=scrub,
            read_error=read_oauth_error,
        )

    def close(self) -> None:
        self._http.close()

    def bad_response(self, problem: str) -> ApiError:
        return ApiError(self.vendor, "POST", public_url(self.url), 200, problem)

    def post(self, form: dict[str, str]) -> Token:
        requested_at = self.clock()  # the lifetime counts from the request, to be safe
        self.requests += 1
        response = self._http.request("POST", self.url, data=form)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            # Not quoting the body: it may hold a token.
            raise self.bad_response("token response is not JSON") from None
        if not isinstance(body, dict):
            raise self.bad_response("token response is not a JSON object")
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise self.bad_response("no access_token in the token response")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise self.bad_response(f"token_type is {token_type!r}, expected 'Bearer'")
        expires_in = body.get("expires_in")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            logger.warning(
                "%s: token response has no usable expires_in; assuming %d s",
                self.vendor,
                TOKEN_LIFETIME_DEFAULT,
            )
            expires_in = TOKEN_LIFETIME_DEFAULT
        refresh_token = body.get("refresh_token")
        self.scrub.add(access_token, refresh_token if isinstance(refresh_token, str) else None)
        extra = {k: v for k, v in body.items() if k not in ("access_token", "refresh_token")}
        return Token(
            access_token,
            requested_at + expires_in,
            refresh_token if isinstance(refresh_token, str) else None,
            extra,
        )


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials (client id and secret as HTTP Basic auth, `scope` in the form).

    No refresh token: a new access token is requested a minute before the old one runs out, and
    once more when the API still answers a response `renewable` accepts (an expired or revoked
    token; by default any 401), after which the request is retried once. Thread-safe: one lock
    guards the cached token, so concurrent requests share one token fetch. Synchronous only.
    """

    # A 401 body may say whether renewing helps (expired token) or not (missing scope).
    requires_response_body = True

    def __init__(
        self,
        vendor: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: Sequence[str] = (),
        scrub: Scrubber,
        renewable: Callable[[httpx.Response], bool] = lambda response: True,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        scrub.add(client_id, client_secret)
        self.vendor = vendor
        self.endpoint = TokenEndpoint(
            vendor,
            token_url,
            scrub=scrub,
            basic_auth=(client_id, client_secret),
            retry=retry,
            timeout=timeout,
            clock=clock,
        )
        self._form = {"grant_type": "client_credentials"}
        if scopes:
            self._form["scope"] = " ".join(scopes)
        self._renewable = renewable
        self._lock = threading.Lock()
        self._token: Token | None = None

    @property
    def tokens_fetched(self) -> int:
        return self.endpoint.requests

    def close(self) -> None:
        self.endpoint.close()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or not self._renewable(response):
            return
        logger.info("%s: access token rejected; requesting a new one", self.vendor)
        request.headers["Authorization"] = f"Bearer {self._renew(rejected=token)}"
        yield request  # once: a second 401 is an error for the caller

    def _current(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_at - self.endpoint.clock() < RENEW_MARGIN:
                self._token = self.endpoint.post(self._form)
            return self._token.access_token

    def _renew(self, rejected: str) -> str:
        with self._lock:
            # Another thread may have renewed while this request was in flight.
            if self._token is None or self._token.access_token == rejected:
                self._token = self.endpoint.post(self._form)
            return self._token.access_token


class SessionExpired(RuntimeError):
    """There is no usable token pair: a person has to log in again. The message says how."""


class TokenStore(Protocol):
    """Where a rotating token pair lives between processes (a 0600 file, a Postgres row)."""

    def lock(self) -> AbstractContextManager[None]:
        """Held while a pair is read, refreshed and saved: one refresher at a time, across processes."""
        ...

    def load(self) -> Token | None: ...

    def save(self, token: Token) -> None:
        """Stores the pair atomically (readers see the old pair or the new one)."""
        ...


class RotatingTokens(httpx.Auth):
    """A bearer token kept alive by refresh-token rotation (every refresh returns a new pair and
    invalidates the old one), shared between processes through a `TokenStore`.

    Before each request the stored pair is used; when it is within `margin` seconds of expiry it
    is refreshed under the store's lock and the new pair is **saved before it is used**, so a
    crash never leaves a pair only in memory. A process that finds the stored pair newer than its
    own simply uses it: two processes never refresh from the same token. A refresh the server
    refuses (400/401) means the chain has lapsed: `SessionExpired` with `expired_message`, and no
    further attempt. The clock is wall-clock seconds (pairs are compared across processes).
    """

    def __init__(
        self,
        endpoint: TokenEndpoint,
        store: TokenStore,
        *,
        refresh_form: Callable[[Token], dict[str, str]],
        expired_message: str,
        margin: float = RENEW_MARGIN,
    ):
        self.endpoint = endpoint
        self.store = store
        self._refresh_form = refresh_form
        self.expired_message = expired_message
        self.margin = margin
        self.refreshes = 0

    def current(self) -> Token:
        """The stored pair, refreshed first if it is about to expire."""
        with self.store.lock():
            token = self.store.load()
            if token is None:
                raise SessionExpired(self.expired_message)
            self.endpoint.scrub.add(token.access_token, token.refresh_token)
            if token.expires_at - self.endpoint.clock() >= self.margin:
                return token
            return self._refresh(token)

    def refresh(self) -> Token:
        """Refresh now, whatever the expiry (the keep-alive schedule calls this)."""
        with self.store.lock():
            token = self.store.load()
            if token is None:
                raise SessionExpired(self.expired_message)
            return self._refresh(token)

    def _refresh(self, token: Token) -> Token:
        if token.refresh_token is None or token.expires_at <= self.endpoint.clock():
            raise SessionExpired(self.expired_message)
        try:
            fresh = self.endpoint.post(self._refresh_form(token))
        except ApiError as error:
            if error.status in (400, 401):
                raise SessionExpired(f"{self.expired_message} ({error.detail})") from None
            raise
        self.store.save(fresh)
        self.refreshes += 1
        logger.info(
            "%s: session refreshed; the new token is valid for %.0f s",
            self.endpoint.vendor,
            fresh.expires_at - self.endpoint.clock(),
        )
        return fresh

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.current().access_token}"
        yield request
