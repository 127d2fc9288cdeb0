"""The comdirect login, a person's act: password grant, session, one TAN challenge (push-TAN
preferred), its answer, activation, secondary grant; the resulting token pair goes to the store.

Nothing here ever loops on challenges. Each login requests exactly one (a refused TAN type is no
challenge, so falling back from push to the customer's own method still makes one), never
retries a request that could count at the bank (the login's client tries once; only the
idempotent push-status poll is repeated, until its deadline), and PATCHes a push challenge only
once the app approved it (the bank counts an unapproved PATCH as a wrong TAN).

The bank locks online banking after five challenges without a successful activation, three wrong
TANs or three wrong PINs. The store keeps our count of each (`Guard`), written *before* the
request that may count, and corrected only on an answer that proves the bank did not count it.
A login is refused before anything is sent when our counts reach two unanswered challenges, one
wrong TAN or one wrong PIN, unless the person says `override`; and always when one more failure
would lock, until the person confirms `counts_reset` (after logging in elsewhere, which resets the
bank's counts).

A photoTAN/SMS-TAN login at a terminal asks for the TAN (`ask`). A job cannot ask: its run
issues the challenge, keeps it in the store (`Pending`) and ends saying what to do; the next run,
with the TAN in its run config, finishes that same challenge.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from plumbing_dagster.kit import ApiClient, ApiError, RetryPolicy, Scrubber
from plumbing_dagster.kit.auth import Token, TokenEndpoint
from plumbing_dagster.sources.comdirect.api import (
    PHOTO,
    PUSH,
    SESSIONS,
    RequestIds,
    new_session_id,
    read_error,
    request_info,
)
from plumbing_dagster.sources.comdirect.connection import ComdirectConnection
from plumbing_dagster.sources.comdirect.guard import (
    LOCKED,
    TAN_WAIT,
    WRONG_TANS_TO_LOCK,
    Challenge,
    LoginFailed,
    LoginRefused,
    LoginRequest,
    LoginResult,
    refusal,
)
from plumbing_dagster.sources.comdirect.store import Guard, Pending, SessionRecord, SessionStore
from plumbing_dagster.sources.comdirect.tokens import EXPIRED, SessionExpired, keep_alive

__all__ = ["EXPIRED", "LoginFailed", "LoginFlow", "LoginRefused", "LoginRequest", "LoginResult"]

POLL_WAITS = (0.5, 1.0, 2.0)  # then every POLL_EVERY seconds (peers poll every ~3 s)
POLL_EVERY = 3.0
ONE_TRY = RetryPolicy(attempts=1)
TRANSIENT = (None, 429, 500, 502, 503, 504)


def _waits() -> Iterator[float]:
    yield from POLL_WAITS
    while True:
        yield POLL_EVERY


class LoginFlow:
    """One customer's login against `settings`, its record in `store`."""

    def __init__(
        self,
        settings: ComdirectConnection,
        store: SessionStore,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        log: logging.Logger | Any,
        timeout: float = 30.0,
    ):
        self.settings, self.store, self.clock, self.sleep, self.log = settings, store, clock, sleep, log
        self.scrub = Scrubber(settings.secrets())
        self._oauth = TokenEndpoint(
            "comdirect", settings.oauth_url, scrub=self.scrub, retry=ONE_TRY, clock=clock
        )
        self._api = ApiClient(
            "comdirect",
            settings.base_url,
            scrub=self.scrub,
            read_error=read_error,
            retry=ONE_TRY,
            timeout=timeout,
        )
        self._ids = RequestIds()

    def close(self) -> None:
        self._oauth.close()
        self._api.close()

    # -- the flow -------------------------------------------------------------------------------

    def run(self, request: LoginRequest, ask: Callable[[str], str] | None = None) -> LoginResult:
        with self.store.login_lock():
            self.store.prepare()
            record = self.store.read() or SessionRecord(self.store.customer)
            if request.counts_reset:
                record.guard = Guard()
                self.store.write(record)
            if request.tan is not None:
                return self._finish_pending(record, request.tan)
            pending = record.pending
            if pending is not None and self.clock() < pending.issued_at + TAN_WAIT:
                raise LoginRefused(
                    "comdirect login refused: a TAN challenge started by an earlier run waits for its "
                    "TAN; launch comdirect_login with run config tan: <the TAN> (a new challenge now "
                    "would count toward the bank's lock)"
                )
            if record.token is not None and record.token.expires_at > self.clock():
                alive = self._still_active()
                if alive is not None:
                    return alive
            problem = refusal(record.guard, request.override)
            if problem:
                raise LoginRefused(problem)
            two_factor = self._password_grant(record)
            session_id = new_session_id()
            identifier = self._session(two_factor.access_token, session_id)
            challenge = self._challenge(
                record, two_factor.access_token, session_id, identifier, request.tan_type
            )
            if challenge.typ == PUSH:
                self._await_push(two_factor.access_token, session_id, challenge, request.push_timeout)
                tan = None
            elif ask is None:
                record.pending = Pending(
                    two_factor.access_token, two_factor.expires_at, identifier, challenge.id, challenge.typ,
                    self.clock(), session_id,
                )  # fmt: skip
                self.store.write(record)
                self.log.info(f"comdirect: {challenge.typ} challenge sent; the next run brings its TAN")
                return LoginResult("tan_needed", challenge.typ, challenge=challenge)
            else:
                tan = self._ask_tan(ask, challenge)
            self._activate(record, two_factor.access_token, session_id, identifier, challenge, tan)
            return self._secondary(record, two_factor.access_token, session_id, challenge.typ)

    def _still_active(self) -> LoginResult | None:
        """The stored session, refreshed (which proves it alive), or None when it has lapsed."""
        try:
            token = keep_alive(self.settings, self.store, clock=self.clock, threshold=float("inf"))
        except SessionExpired:
            return None
        except ApiError as error:
            raise LoginFailed(
                f"comdirect: could not check the stored session, so no login: {error}"
            ) from None
        return LoginResult("already_active", valid_for=token.expires_at - self.clock())

    def _finish_pending(self, record: SessionRecord, tan: str) -> LoginResult:
        pending = record.pending
        if pending is None:
            raise LoginRefused("no TAN challenge is waiting: run comdirect_login without tan first")
        if self.clock() >= min(pending.expires_at, pending.issued_at + TAN_WAIT):
            record.pending = None
            self.store.write(record)
            raise LoginFailed(
                "comdirect login failed: the TAN challenge expired before its TAN came; run "
                "comdirect_login without tan to start a new one"
            )
        challenge = Challenge(pending.challenge_id, pending.typ, None, None)
        self._activate(
            record, pending.two_factor_token, pending.session_id, pending.identifier, challenge, tan
        )
        return self._secondary(record, pending.two_factor_token, pending.session_id, pending.typ)

    # -- the steps ------------------------------------------------------------------------------

    def _get(self, path: str, headers: dict[str, str]) -> Any:
        return self._api.parse_json(self._api.request("GET", path, headers=headers))

    def _headers(self, token: str, session_id: str, **extra: str) -> dict[str, str]:
        self.scrub.add(token)
        return {
            "Authorization": f"Bearer {token}",
            "x-http-request-info": request_info(session_id, self._ids),
            **extra,
        }

    def _password_grant(self, record: SessionRecord) -> Token:
        record.guard.wrong_pins += 1  # counted before it is sent: a lost answer may have counted
        self.store.write(record)
        form = {
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "grant_type": "password",
            "username": self.settings.username,
            "password": self.settings.password,
        }
        try:
            token = self._oauth.post(form)
        except ApiError as error:
            if "invalid_client" in error.detail or error.status in (400, 429):
                record.guard.wrong_pins -= 1  # refused before the PIN was looked at
                self.store.write(record)
                raise LoginFailed(f"comdirect refused the password grant: {error}") from None
            if "gesperrt" in error.detail.lower():
                raise LoginFailed(LOCKED) from None
            if error.status == 401:
                raise LoginFailed(
                    f"comdirect refused the access number or PIN (COMDIRECT_USERNAME, COMDIRECT_PASSWORD): "
                    f"{error.detail}; wrong PINs since the last successful login: {record.guard.wrong_pins}"
                ) from None
            raise LoginFailed(f"comdirect login failed at the password grant: {error}") from None
        record.guard.wrong_pins = 0
        self.store.write(record)
        return token

    def _session(self, token: str, session_id: str) -> str:
        try:
            sessions = self._get(SESSIONS, self._headers(token, session_id))
        except ApiError as error:
            raise LoginFailed(f"comdirect login failed reading the session: {error}") from None
        if not (isinstance(sessions, list) and sessions and isinstance(sessions[0], dict)):
            raise LoginFailed("comdirect login failed: the bank listed no session")
        identifier = sessions[0].get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise LoginFailed("comdirect login failed: the session has no identifier")
        return identifier

    def _challenge(
        self, record: SessionRecord, token: str, session_id: str, identifier: str, wanted: str | None
    ) -> Challenge:
        body = {"identifier": identifier, "sessionTanActive": True, "activated2FA": True}
        for typ in [wanted] if wanted else [PUSH, None]:
            record.guard.challenges += 1
            self.store.write(record)
            extra = {"x-once-authentication-info": json.dumps({"typ": typ})} if typ else {}
            try:
                response = self._api.request(
                    "POST",
                    f"{SESSIONS}/{identifier}/validate",
                    headers=self._headers(token, session_id, **extra),
                    json=body,
                )
            except ApiError as error:
                if "ZUGANG_GESPERRT" in error.detail:
                    raise LoginFailed(LOCKED) from None
                if error.status is None or error.status >= 500:
                    raise LoginFailed(f"comdirect login failed requesting the challenge: {error}") from None
                record.guard.challenges -= 1  # answered with a refusal: no challenge was made
                self.store.write(record)
                if typ == PUSH and wanted is None and "ONCE_AUTHENTICATION_INFO" in error.detail:
                    self.log.info("comdirect: no push-TAN for this customer; using their own TAN method")
                    continue
                raise LoginFailed(f"comdirect login failed requesting the challenge: {error}") from None
            return self._read_challenge(response.headers.get("x-once-authentication-info"))
        raise LoginFailed("comdirect login failed: the bank offered no TAN method")  # pragma: no cover

    def _read_challenge(self, header: str | None) -> Challenge:
        try:
            info = json.loads(header or "")
            link = (info.get("link") or {}).get("href")
            challenge = Challenge(str(info["id"]), str(info["typ"]), info.get("challenge"), link)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LoginFailed(
                "comdirect login failed: the challenge header is missing or unreadable"
            ) from None
        what = {PUSH: "push-TAN challenge sent: approve it in the comdirect app"}
        self.log.info(f"comdirect: {what.get(challenge.typ, challenge.typ + ' challenge sent')}")
        return challenge

    def _await_push(self, token: str, session_id: str, challenge: Challenge, timeout: float) -> None:
        if not challenge.link or not challenge.link.startswith("/"):
            raise LoginFailed("comdirect login failed: the push challenge has no status link on the API")
        deadline = self.clock() + timeout
        for wait in _waits():
            self.sleep(max(0.0, min(wait, deadline - self.clock())))
            try:
                status = self._get(challenge.link, self._headers(token, session_id)).get("status")
            except ApiError as error:
                if error.status not in TRANSIENT:
                    raise LoginFailed(f"comdirect login failed polling the push status: {error}") from None
                status = "PENDING"  # a passing problem: ask again until the deadline
            except AttributeError:
                status = None
            if status == "AUTHENTICATED":
                return
            if status != "PENDING":
                raise LoginFailed(
                    f"comdirect login failed: the push-TAN ended as {status} (denied or expired in the app). "
                    "No further challenge was sent; run comdirect_login again when you can approve it."
                )
            if self.clock() >= deadline:
                raise LoginFailed(
                    f"comdirect login stopped: the push-TAN was not approved within {timeout:.0f} s. No "
                    "further challenge was sent; the open one expires at the bank by itself."
                )

    def _ask_tan(self, ask: Callable[[str], str], challenge: Challenge) -> str:
        if challenge.typ == PHOTO and challenge.content:
            fd, path = tempfile.mkstemp(prefix="comdirect-phototan-", suffix=".png")
            try:
                with os.fdopen(fd, "wb") as image:
                    image.write(base64.b64decode(challenge.content))
                tan = ask(f"photoTAN: scan {path} with the comdirect photoTAN app, then type the TAN: ")
            finally:
                os.unlink(path)
        else:
            tan = ask(f"SMS-TAN sent to {challenge.content or 'your phone'}; type the TAN: ")
        tan = (tan or "").strip()
        if not tan:
            raise LoginFailed("comdirect login stopped: no TAN given (the challenge expires by itself)")
        return tan

    def _activate(
        self,
        record: SessionRecord,
        token: str,
        session_id: str,
        identifier: str,
        challenge: Challenge,
        tan: str | None,
    ) -> None:
        extra = {"x-once-authentication-info": json.dumps({"id": challenge.id})}
        if tan is not None:
            self.scrub.add(tan)
            extra["x-once-authentication"] = tan
        record.guard.wrong_tans += 1  # counted before it is sent, as the PIN
        self.store.write(record)
        body = {"identifier": identifier, "sessionTanActive": True, "activated2FA": True}
        try:
            self._api.request(
                "PATCH",
                f"{SESSIONS}/{identifier}",
                headers=self._headers(token, session_id, **extra),
                json=body,
            )
        except ApiError as error:
            if "ZUGANG_GESPERRT" in error.detail:
                raise LoginFailed(LOCKED) from None
            if "TAN_UNGUELTIG" not in error.detail and error.status is not None and error.status < 500:
                record.guard.wrong_tans -= 1  # refused for another reason (an expired challenge)
            record.pending = None  # a new login starts a new challenge, under the rules above
            self.store.write(record)
            if "TAN_UNGUELTIG" in error.detail:
                raise LoginFailed(
                    f"comdirect login failed: the TAN was not accepted; wrong TANs since the last "
                    f"successful login: {record.guard.wrong_tans} (the bank locks at {WRONG_TANS_TO_LOCK})"
                ) from None
            raise LoginFailed(f"comdirect login failed activating the session: {error}") from None
        record.guard, record.pending = Guard(), None
        self.store.write(record)

    def _secondary(self, record: SessionRecord, token: str, session_id: str, typ: str) -> LoginResult:
        endpoint = TokenEndpoint("comdirect", self.settings.oauth_url, scrub=self.scrub, clock=self.clock)
        form = {
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "grant_type": "cd_secondary",
            "token": token,
        }
        try:
            pair = endpoint.post(form)
        except ApiError as error:
            raise LoginFailed(f"comdirect login failed at the secondary grant: {error}") from None
        finally:
            endpoint.close()
        record.token, record.session_id, record.logged_in_at = pair, session_id, self.clock()
        self.store.write(record)
        self.log.info("comdirect: logged in; the session is kept alive by comdirect_keepalive")
        return LoginResult("active", typ, valid_for=pair.expires_at - self.clock())
