"""The banking client: an `ApiClient` whose every call carries the stored session's bearer token
(refreshed by `RotatingTokens` when near expiry) and its login's `x-http-request-info`.

`connect(settings)` never starts a challenge. It checks a stored session at once, so a run whose
session has lapsed fails before any landing with `session expired: run comdirect_login`, and
nothing else is tried.

The sandbox has no person to approve a TAN, yet its streams must be readable out of the box (the
vendor-contract suite, previews, a first materialisation). Its settings carry `sandbox_login`, which
no environment variable can set (see `connection.py`): a sandbox client whose store has *never*
held a login logs in by itself, on first use, against the emulator on loopback, whose push-TAN
approves itself after a short delay. That session lives in the client's memory only and is never
stored. Once a person ran `comdirect_login`, the sandbox behaves as production: the stored session
is used and kept alive, and when it lapses runs fail until the next `comdirect_login`. A
`sandbox_login` against any host but loopback is refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator

import httpx

from plumbing_dagster.kit import (
    ApiClient,
    ConnectionError_,
    RestClient,
    RetryPolicy,
    RotatingTokens,
    Scrubber,
)
from plumbing_dagster.kit.auth import Token
from plumbing_dagster.sources.comdirect.api import RequestIds, read_error, request_info
from plumbing_dagster.sources.comdirect.connection import ComdirectConnection
from plumbing_dagster.sources.comdirect.login import LoginFlow, LoginRequest
from plumbing_dagster.sources.comdirect.store import MemorySessionStore, SessionStore, open_store
from plumbing_dagster.sources.comdirect.tokens import EXPIRED, SessionExpired, rotating

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SANDBOX_PUSH_TIMEOUT = 30.0  # seconds; the emulator approves well before


def sandbox_session(
    settings: ComdirectConnection, *, clock: Callable[[], float], sleep: Callable[[float], None]
) -> MemorySessionStore:
    """A session logged in against the sandbox's emulator, kept in memory (see the module docstring)."""
    if not settings.sandbox_login or httpx.URL(settings.base_url).host not in LOOPBACK:
        raise SessionExpired(EXPIRED)  # production: only a person starts a login
    store = MemorySessionStore(open_store(settings).customer)
    logger.warning(
        "comdirect sandbox: no login was ever stored, so this client logs in against the emulator "
        "(its push-TAN approves itself); the session is not stored. Run comdirect_login to keep one."
    )
    flow = LoginFlow(settings, store, clock=clock, sleep=sleep, log=logger)
    try:
        flow.run(LoginRequest(push_timeout=SANDBOX_PUSH_TIMEOUT))
    finally:
        flow.close()
    return store


class BankingAuth(httpx.Auth):
    """The session's bearer token and `x-http-request-info` on every call. A 401 is retried once
    when the stored pair has changed since (another process rotated it while this call was on its
    way); a 401 for the stored pair itself means the bank ended the session: `SessionExpired`."""

    def __init__(self, tokens: Callable[[], RotatingTokens], session_id: Callable[[], str | None]):
        self._tokens = tokens
        self._session_id = session_id
        self._ids = RequestIds()

    def _sign(self, request: httpx.Request, token: Token) -> None:
        session_id = (token.extra or {}).get("session_id") or self._session_id()
        if not session_id:
            raise SessionExpired(EXPIRED)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        request.headers["x-http-request-info"] = request_info(session_id, self._ids)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        tokens = self._tokens()
        token = tokens.current()
        self._sign(request, token)
        response = yield request
        if response.status_code != 401:
            return
        fresh = tokens.current()
        if fresh.access_token == token.access_token:
            raise SessionExpired(f"{EXPIRED} (the bank refused the stored session)")
        self._sign(request, fresh)
        response = yield request
        if response.status_code == 401:
            raise SessionExpired(f"{EXPIRED} (the bank refused the stored session)")


class ComdirectClient(RestClient):
    """`api` for paged reads; `clock` is the client's wall clock (snapshot times, bank days)."""

    def __init__(
        self,
        settings: ComdirectConnection,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ):
        self.settings, self.clock, self._sleep = settings, clock, sleep
        self.scrub = Scrubber(settings.secrets())
        self._lock = threading.Lock()
        self._store: SessionStore | None = None
        self._tokens: RotatingTokens | None = None
        auth = BankingAuth(self.tokens, self._stored_session_id)
        api = ApiClient(
            "comdirect",
            settings.base_url,
            auth=auth,
            scrub=self.scrub,
            read_error=read_error,
            retry=retry,
            timeout=timeout,
            sleep=sleep,
        )
        super().__init__(api)

    def tokens(self) -> RotatingTokens:
        """The session's rotating pair, opened on first use (the sandbox may log in here)."""
        with self._lock:
            if self._tokens is None:
                store = open_store(self.settings)
                if self.settings.sandbox_login and not store.exists():
                    store.close()
                    store = sandbox_session(self.settings, clock=self.clock, sleep=self._sleep)
                self._store = store
                self._tokens = rotating(self.settings, store, clock=self.clock, scrub=self.scrub)
            return self._tokens

    def _stored_session_id(self) -> str | None:
        record = self._store.read() if self._store is not None else None
        return record.session_id if record is not None else None

    def close(self) -> None:
        super().close()
        if self._tokens is not None:
            self._tokens.endpoint.close()
        if self._store is not None:
            self._store.close()


def connect(
    settings: ComdirectConnection,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
) -> ComdirectClient:
    """A banking client on the stored session (`clock`: wall-clock seconds, as the store's).

    A stored session (always, in production) is checked at once: when it has lapsed, this raises
    `SessionExpired` before any stream is read. Only the sandbox's never-stored case waits for
    first use, where it logs in by itself."""
    client = ComdirectClient(settings, clock=clock, sleep=sleep, retry=retry, timeout=timeout)
    if not settings.sandbox_login or _stored(settings):
        try:
            client.tokens().current()  # no live session: fail now, before anything is landed
        except BaseException:
            client.close()
            raise
    return client


def _stored(settings: ComdirectConnection) -> bool:
    try:
        store = open_store(settings)
    except ConnectionError_:
        return False  # said on first use, where a caller expects the failure
    try:
        return store.exists()
    finally:
        store.close()


def connector(
    clock: Callable[[], float], sleep: Callable[[float], None]
) -> Callable[[ComdirectConnection], ComdirectClient]:
    """`connect` on a given clock and sleep (a test's simulated ones)."""

    def connect_on_clock(settings: ComdirectConnection) -> ComdirectClient:
        return connect(settings, clock=clock, sleep=sleep)

    return connect_on_clock
