"""An emulator of the comdirect REST API (seed 003) over `ComdirectWorld`, faithful to
`vendor-apis.md`, recorded live responses and, where they agree with those, the bank's Swagger
document (version 20.04). The login rules it enforces are in `session.py`.

Routes (`{user}` is the literal `user`; every `/api` call needs a Bearer token and
`x-http-request-info: {"clientRequestId": {"sessionId": "<1-32 hex, the login's>", "requestId":
"<9 digits, new per call>"}}`):

    POST   /oauth/token                 grant_type password | cd_secondary | refresh_token
    DELETE /oauth/revoke                Bearer; 204, ends the login's tokens and session TAN
    GET    /api/session/clients/user/v1/sessions                  TWO_FACTOR or SESSION_RW
    POST   /api/session/clients/user/v1/sessions/{id}/validate    201 + x-once-authentication-info
    PATCH  /api/session/clients/user/v1/sessions/{id}             x-once-authentication-info {"id"}
                                                                  (+ x-once-authentication: TAN)
    GET    /api/session/v1/authentications/{authenticationId}     push status (the link's href)
    GET    /api/banking/clients/user/v2/accounts/balances         BANKING_RO
    GET    /api/banking/v2/accounts/{accountId}/balances          BANKING_RO
    GET    /api/banking/v1/accounts/{accountId}/transactions      BANKING_RO

Answers: OAuth errors `{"error", "error_description"}` (401 for bad client, credentials, stale or
exchanged tokens; 401 `invalid_token` / 403 `insufficient_scope` at the API); the API's errors
`{"code", "messages": [...]}` mirrored in `x-http-response-info` (percent-encoded JSON): 422
`request.query.invalid` for parameters, 400 `TAN_UNGUELTIG`, 422 `expired`, 422
`UNPROCESSABLE_ONCE_AUTHENTICATION_INFO_HEADER`, 400 `request.header.invalid` for a missing or
wrong `x-http-request-info`, and, once online banking is locked, 422 `ZUGANG_GESPERRT` at the API
and 401 `invalid_grant` "Zugang gesperrt" at the token endpoint (the lock's exact answer is
unconfirmed). Unknown accounts and paths: 404 with an empty body. At most `rate_limit` requests
a second on the whole host (429, `Retry-After: 1`).

With `state_dir`, the bank remembers its logins, tokens and counts between processes there
(`memory.py`), as one real bank would for every sandbox run and CLI call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from plumbing_dagster.kit.emulator import (
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    RateLimiter,
    Route,
    bearer_token,
    same_secret,
)
from plumbing_dagster.sources.comdirect.emulator import render
from plumbing_dagster.sources.comdirect.emulator.ledger import Account
from plumbing_dagster.sources.comdirect.emulator.memory import BankMemory, issued_tokens
from plumbing_dagster.sources.comdirect.emulator.protocol import (
    check_session_body,
    once_info,
    refusal,
    request_info,
)
from plumbing_dagster.sources.comdirect.emulator.query import TransactionQuery
from plumbing_dagster.sources.comdirect.emulator.render import business_error, empty, message, oauth_error
from plumbing_dagster.sources.comdirect.emulator.session import (
    AUTHENTICATED,
    DENIED,
    EXPIRED,
    SECONDARY_SCOPES,
    TAN_TYPES,
    TOKEN_LIFETIME,
    TWO_FACTOR,
    Challenge,
    Counters,
    Login,
    LoginDesk,
    PushMode,
    Refused,
)
from plumbing_dagster.sources.comdirect.emulator.world import ComdirectWorld

SANDBOX_CLIENT_ID = "sandbox-comdirect-client"
SANDBOX_CLIENT_SECRET = "sandbox-comdirect-secret"  # only ever accepted by this emulator
SANDBOX_USERNAME = "12345678"  # Zugangsnummer
SANDBOX_PASSWORD = "246810"  # PIN
SESSIONS = "/api/session/clients/user/v1/sessions"
AUTHENTICATIONS = "/api/session/v1/authentications"
ROUTE_SCOPES = {"session": (TWO_FACTOR, "SESSION_RW"), "banking": ("BANKING_RO",)}


class ComdirectEmulator(EmulatorApp):
    """The comdirect OAuth server and API. Ask `world` what it serves, `counters` what it saw."""

    def __init__(
        self,
        world: ComdirectWorld | None = None,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        username: str = SANDBOX_USERNAME,
        password: str = SANDBOX_PASSWORD,
        push: PushMode = "approve",
        push_delay_seconds: float = 0.0,
        tan_types: Sequence[str] = TAN_TYPES,
        correct_tan: str = "123456",
        clock: Callable[[], float] = time.time,
        rate_limit: int | None = 10,
        state_dir: str | Path | None = None,
    ):
        """`push`: how the customer answers a push challenge (after `push_delay_seconds` on
        `clock`; `manual`: when a test calls `approve()`/`deny()`/`expire()`; `never`: not at
        all). `tan_types`: the customer's TAN methods, the first is the preferred one.
        `clock`: seconds, for token and challenge lifetimes. `rate_limit`: requests per second
        (None: unlimited). `state_dir`: where the bank remembers between processes, once that
        folder exists (None: in memory only)."""
        super().__init__()
        self.world = world or ComdirectWorld()
        self.client_id, self.client_secret = client_id, client_secret
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self.desk = LoginDesk(
            self.world.seed,
            username=username,
            password=password,
            tan_types=tan_types,
            correct_tan=correct_tan,
            push=push,
            push_delay=push_delay_seconds,
            clock=clock,
        )
        self.memory = BankMemory(state_dir) if state_dir is not None else None

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        if self.memory is None:
            return super().handle(request)
        with self.memory.remembering(self.desk):
            return super().handle(request)

    # -- test controls ---------------------------------------------------------------------------

    @property
    def counters(self) -> Counters:
        """Login attempts, challenges issued, wrong TANs, refreshes, revocations, locks, ..."""
        return self.desk.counters

    @property
    def locked(self) -> bool:
        return self.desk.locked

    def unlock(self) -> None:
        self.desk.unlock()

    def approve(self) -> Challenge:
        """The customer approves the pending push challenge in the app (push mode `manual`)."""
        return self.desk.resolve_push(AUTHENTICATED)

    def deny(self) -> Challenge:
        return self.desk.resolve_push(DENIED)

    def expire(self) -> Challenge:
        return self.desk.resolve_push(EXPIRED)

    def access_tokens(self) -> list[str]:
        """Every access token issued (tests look for them where they must not be)."""
        return self.desk.tokens.access_tokens()

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token the bank remembers issuing."""
        return issued_tokens(self.desk)

    def recall(self) -> ComdirectEmulator:
        """Load what the bank remembers in `state_dir` (tests read counters another process left)."""
        if self.memory is not None:
            self.memory.recall(self.desk)
        return self

    # -- the EmulatorApp hooks ---------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        session = SESSIONS + "/(?P<identifier>[^/]+)"
        account = "/accounts/(?P<account_id>[^/]+)"
        return [
            Route("POST", "/oauth/token", self._token, "token", None),
            Route("DELETE", "/oauth/revoke", self._revoke, "revoke", None),
            Route("GET", SESSIONS, self._guard(self._sessions), "sessions", "session"),
            Route("POST", session + "/validate", self._guard(self._validate), "validate", "session"),
            Route("PATCH", session, self._guard(self._activate), "activate", "session"),
            Route("GET", AUTHENTICATIONS + "/(?P<auth_id>[^/]+)", self._guard(self._poll), "poll", "session"),
            Route(
                "GET", "/api/banking/clients/user/v2/accounts/balances", self._balances, "balances", "banking"
            ),
            Route("GET", "/api/banking/v2" + account + "/balances", self._balance, "balance", "banking"),
            Route(
                "GET",
                "/api/banking/v1" + account + "/transactions",
                self._transactions,
                "transactions",
                "banking",
            ),
        ]

    def error(self, status: int, key: str, message_text: str, details: Any = None) -> EmulatorResponse:
        """The API's `{code, messages}`; `details` may name the message's key, args and origin."""
        extra = details if isinstance(details, dict) else {}
        body = message(
            extra.get("key", key), message_text, args=extra.get("args"), origin=extra.get("origin", ())
        )
        return business_error(status, key, [body])

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        try:
            login = self.desk.authenticate(_bearer(request), ROUTE_SCOPES[str(route.scope)])
            self.desk.check_request_info(login, *request_info(request))
        except Refused as refused:
            return refusal(refused.reason)
        return None

    def throttled(self) -> EmulatorResponse:
        response = self.error(
            429, "request.throttled", "Zu viele Anfragen. Bitte versuchen Sie es später erneut."
        )
        response.headers["Retry-After"] = "1"
        return response

    def not_found(self, request: EmulatorRequest) -> EmulatorResponse:
        return empty(404)

    def method_not_allowed(self, request: EmulatorRequest) -> EmulatorResponse:
        return empty(405)

    # -- OAuth -------------------------------------------------------------------------------------

    def _token(self, request: EmulatorRequest) -> EmulatorResponse:
        form = request.form()
        if not (
            same_secret(form.get("client_id"), self.client_id)
            and same_secret(form.get("client_secret"), self.client_secret)
        ):
            return oauth_error(401, "invalid_client", "Bad client credentials")
        grant_type = form.get("grant_type")
        needs = {
            "password": ("username", "password"),
            "cd_secondary": ("token",),
            "refresh_token": ("refresh_token",),
        }
        if grant_type not in needs:
            return oauth_error(400, "unsupported_grant_type", "Unsupported grant type")
        missing = [name for name in needs[grant_type] if not form.get(name)]
        if missing:
            return oauth_error(400, "invalid_request", f"Missing parameter: {', '.join(missing)}")
        try:
            if grant_type == "password":
                _, access, grant = self.desk.password_grant(form["username"], form["password"])
            elif grant_type == "cd_secondary":
                _, access, grant = self.desk.secondary_grant(form["token"])
            else:
                _, access, grant = self.desk.refresh(form["refresh_token"])
        except Refused as refused:
            descriptions = {
                "locked": "Zugang gesperrt",
                "bad_credentials": "Bad credentials",
                "not_activated": "Session-TAN ist nicht aktiviert",
                "stale_refresh": "Invalid refresh token",
            }
            return oauth_error(401, "invalid_grant", descriptions.get(refused.reason, "Invalid token"))
        body = {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": grant.refresh_token,
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(sorted(grant.scopes, key=_scope_order)),
            "kdnr": self.world.customer_number,
            "bpid": self.world.bpid,
            "kontaktId": self.world.contact_id,
        }
        return EmulatorResponse.of_json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, request: EmulatorRequest) -> EmulatorResponse:
        try:
            self.desk.revoke(_bearer(request) or "")
        except Refused:
            return oauth_error(401, "invalid_token", "Invalid access token")
        return EmulatorResponse(204)

    # -- session -----------------------------------------------------------------------------------

    def _sessions(self, request: EmulatorRequest) -> EmulatorResponse:
        login = self._login(request)
        return EmulatorResponse.of_json([render.session(login.identifier, login.tan_active)])

    def _validate(self, request: EmulatorRequest, identifier: str) -> EmulatorResponse:
        login = self._login(request)
        if identifier != login.identifier:
            return empty(404)
        check_session_body(request, identifier)
        wanted = once_info(request, "typ", required=False)
        challenge = self.desk.request_challenge(login, wanted)
        info: dict[str, Any] = {
            "id": challenge.id,
            "typ": challenge.typ,
            "availableTypes": list(self.desk.tan_types),
        }
        if challenge.content is not None:
            info["challenge"] = challenge.content
        info["link"] = {
            "href": f"{AUTHENTICATIONS}/{challenge.authentication_id}",
            "rel": "related",
            "method": "GET",
            "type": "application/json",
        }
        # 201, where the document says 200; the body echoes the requested session.
        return EmulatorResponse.of_json(
            render.session(identifier, True),
            status=201,
            headers={"x-once-authentication-info": json.dumps(info, separators=(",", ":"))},
        )

    def _activate(self, request: EmulatorRequest, identifier: str) -> EmulatorResponse:
        login = self._login(request)
        if identifier != login.identifier:
            return empty(404)
        check_session_body(request, identifier)
        challenge_id = once_info(request, "id", required=True) or ""
        self.desk.activate(login, challenge_id, request.header("x-once-authentication"))
        return EmulatorResponse.of_json(render.session(identifier, True))

    def _poll(self, request: EmulatorRequest, auth_id: str) -> EmulatorResponse:
        try:
            challenge = self.desk.poll(self._login(request), auth_id)
        except Refused as refused:
            if refused.reason == "unknown_challenge":
                return empty(404)
            raise
        return EmulatorResponse.of_json({"authenticationId": auth_id, "status": challenge.status})

    # -- banking -----------------------------------------------------------------------------------

    def _balances(self, request: EmulatorRequest) -> EmulatorResponse:
        now = self.world.now
        with_account = request.arg("without-attr") != "account"
        values = [self._balance_of(acc, now, with_account) for acc in self.world.account_list()]
        return EmulatorResponse.of_json(
            {"paging": {"index": 0, "matches": len(values)}, "aggregated": {}, "values": values}
        )

    def _balance(self, request: EmulatorRequest, account_id: str) -> EmulatorResponse:
        acc = self.world.account(account_id)
        if acc is None:
            return empty(404)
        with_account = request.arg("without-attr") != "account"
        return EmulatorResponse.of_json(self._balance_of(acc, self.world.now, with_account))

    def _transactions(self, request: EmulatorRequest, account_id: str) -> EmulatorResponse:
        acc = self.world.account(account_id)
        if acc is None:
            return empty(404)
        query = TransactionQuery.parse(request)  # a BadRequest becomes the API's 422
        return EmulatorResponse.of_json(query.answer(self.world, acc, self.world.now))

    def _balance_of(self, acc: Account, now: datetime, with_account: bool) -> dict[str, Any]:
        booked = self.world.balance_at(acc.account_id, now)
        available = self.world.available_at(acc.account_id, now)
        return render.balance(acc, self.world.client_id, booked, available, with_account)

    # -- helpers -----------------------------------------------------------------------------------

    def _login(self, request: EmulatorRequest) -> Login:
        return self.desk.authenticate(_bearer(request), None)

    def _guard(self, handler: Callable[..., EmulatorResponse]) -> Callable[..., EmulatorResponse]:
        """The bank's answer for a refused step, instead of an exception."""

        def guarded(request: EmulatorRequest, **groups: str) -> EmulatorResponse:
            try:
                return handler(request, **groups)
            except Refused as refused:
                return refusal(refused.reason)

        return guarded


def _bearer(request: EmulatorRequest) -> str | None:
    return bearer_token(request.header("authorization"))


def _scope_order(scope: str) -> int:
    order = (TWO_FACTOR, *SECONDARY_SCOPES)
    return order.index(scope) if scope in order else len(order)
