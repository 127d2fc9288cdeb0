"""The bank's side of a comdirect login: customer lockout, logins (sessions), TAN challenges and
the tokens of each login's chain. No HTTP here: the app (`app.py`) maps requests to these steps
and `Refused` reasons to the bank's answers.

The state machine, per login (one password grant):

    password grant ─> TWO_FACTOR token ─> challenge (validate) ─> activation (PATCH with the
    challenge id, and the TAN unless push) ─> secondary grant (BANKING_RO ..., the TWO_FACTOR
    token is exchanged and ends) ─> refresh, refresh, ... ─> revoke, or the chain lapses

Rules, strict on purpose (a client proven here must never lock the customer out):

- Tokens live 599 s on the injectable clock. A refresh returns a new access and refresh token
  and ends the old pair (401 for both afterwards). A refresh token only works while its access
  token does (the refresh-token lifetime is unconfirmed; this is the strictest reading), so the
  session survives only if the chain is refreshed at least every 599 s; once it lapses, the
  session and its TAN are gone. Revoking a token ends its whole login.
- Three wrong TANs in a row lock online banking. Every PATCH of an open challenge that does not
  activate counts: a wrong or missing TAN, and a push not (yet) approved or denied (the bank
  answers both `TAN_UNGUELTIG`), so a client polls the push status before it PATCHes.
- Five challenges requested without a successful activation in between lock online banking:
  the fifth request is answered with the lock (the bank's documentation: "requesting five TAN
  challenges without approving one in between locks"). A new challenge ends the previous one;
  switching TAN type is a new challenge.
- Three wrong PINs in a row lock online banking too (unconfirmed for the API; the bank's rule for
  its website).
- A lock ends every login and refuses every further password grant, challenge and activation
  until `unlock()` (the customer calling the bank). A successful activation resets the TAN and
  challenge counts, a successful password grant the PIN count.
- Challenges expire after 300 s (unconfirmed). Push challenges resolve by the `push` mode:
  approve/deny/expire after `push_delay` seconds, `manual` by `resolve_push`, and `never` stays
  PENDING for good (to prove a client's own deadline).
"""

from __future__ import annotations

import base64
import random
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from plumbing_dagster.kit.emulator import TokenIssuer, derive_seed, same_secret
from plumbing_dagster.kit.emulator.tokens import Grant
from plumbing_dagster.sources.comdirect.emulator.ledger import hex_id

PUSH, PHOTO, SMS = "P_TAN_PUSH", "P_TAN", "M_TAN"
TAN_TYPES = (PUSH, PHOTO, SMS)
PUSH_MODES = ("approve", "deny", "expire", "never", "manual")
PushMode = Literal["approve", "deny", "expire", "never", "manual"]
PENDING, AUTHENTICATED, DENIED, EXPIRED = "PENDING", "AUTHENTICATED", "DENIED", "EXPIRED"
TOKEN_LIFETIME = 599
CHALLENGE_LIFETIME = 300.0
WRONG_TANS_TO_LOCK = 3
CHALLENGES_TO_LOCK = 5
WRONG_PINS_TO_LOCK = 3
TWO_FACTOR = "TWO_FACTOR"
SECONDARY_SCOPES = ("BANKING_RO", "BROKERAGE_RW", "MESSAGES_RO", "REPORTS_RO", "SESSION_RW")

Reason = Literal[
    "locked",  # online banking is locked
    "bad_credentials",  # wrong username or PIN
    "tan_invalid",  # wrong or missing TAN
    "push_pending",  # PATCH before the push was approved
    "push_denied",  # PATCH after the push was denied
    "challenge_expired",  # the challenge expired or a newer one replaced it
    "unknown_challenge",  # no such challenge in this login
    "tan_type",  # a TAN type the customer has not set up
    "already_active",  # the session TAN is active already
    "not_activated",  # secondary grant before the session TAN was activated
    "invalid_token",  # unknown, expired, revoked or exchanged token
    "insufficient_scope",  # a valid token without the route's scope
    "stale_refresh",  # a refresh token used already, or of a lapsed chain
    "session_id",  # x-http-request-info sessionId differs from the login's
    "request_id",  # x-http-request-info requestId repeated
]


class Refused(Exception):
    """The bank refuses a step; `reason` says why (the app renders it as the bank does)."""

    def __init__(self, reason: Reason):
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass
class Counters:
    """What the bank saw; tests read these to prove a client's restraint."""

    login_attempts: int = 0  # password grants tried
    failed_logins: int = 0  # of which with a wrong username or PIN
    challenges_issued: int = 0
    wrong_tans: int = 0  # PATCHes of a challenge that did not activate
    activations: int = 0
    secondary_grants: int = 0
    token_refreshes: int = 0
    revocations: int = 0
    status_polls: int = 0
    locks: int = 0


@dataclass
class Challenge:
    id: str  # 9 digits, for x-once-authentication-info on PATCH
    authentication_id: str  # 32 hex digits, in the status link
    typ: str
    issued_at: float
    content: str | None  # P_TAN: base64 PNG; M_TAN: the masked phone number; push: none
    status: str = PENDING
    used: bool = False


@dataclass
class Login:
    """One password grant and everything that hangs off it: the session and its token chain."""

    identifier: str  # the session's identifier, 32 hex digits
    tan_active: bool = False
    ended: bool = False
    challenges: list[Challenge] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)  # access tokens of the chain
    request_session_id: str | None = None  # the client's sessionId, bound at first use
    last_request_id: str | None = None

    @property
    def current(self) -> Challenge | None:
        return self.challenges[-1] if self.challenges else None


class LoginDesk:
    """Customers' logins at the bank (one customer). Thread-safe; every step takes the lock."""

    def __init__(
        self,
        seed: int,
        *,
        username: str,
        password: str,
        tan_types: Sequence[str],
        correct_tan: str,
        push: PushMode,
        push_delay: float,
        clock: Callable[[], float],
    ):
        if not tan_types or any(t not in TAN_TYPES for t in tan_types):
            raise ValueError(f"tan_types must be some of {TAN_TYPES}")
        if push not in PUSH_MODES:
            raise ValueError(f"push must be one of {PUSH_MODES}")
        self.username, self.password, self.correct_tan = username, password, correct_tan
        self.tan_types, self.push, self.push_delay, self.clock = tuple(tan_types), push, push_delay, clock
        self.tokens = TokenIssuer("comdirect", seed, TOKEN_LIFETIME, clock)
        self.counters = Counters()
        self.locked = False
        self._rng = random.Random(derive_seed("comdirect", seed, "sessions"))
        self._lock = threading.RLock()
        self._logins: list[Login] = []
        self._by_token: dict[str, Login] = {}
        self._by_refresh: dict[str, Login] = {}
        self._wrong_tans_in_row = self._challenges_without_success = self._wrong_pins_in_row = 0

    # -- the OAuth server --------------------------------------------------------------------------

    def password_grant(self, username: str, password: str) -> tuple[Login, str, Grant]:
        with self._lock:
            self.counters.login_attempts += 1
            if self.locked:
                raise Refused("locked")
            if not (same_secret(username, self.username) and same_secret(password, self.password)):
                self.counters.failed_logins += 1
                if username == self.username:  # only the customer's own PIN counts toward the lock
                    self._wrong_pins_in_row += 1
                if self._wrong_pins_in_row >= WRONG_PINS_TO_LOCK:
                    self._lock_out()
                    raise Refused("locked")
                raise Refused("bad_credentials")
            self._wrong_pins_in_row = 0
            login = Login(identifier=hex_id(self._rng))
            self._logins.append(login)
            return login, *self._issue(login, (TWO_FACTOR,))

    def secondary_grant(self, token: str) -> tuple[Login, str, Grant]:
        """The TWO_FACTOR token, exchanged for the banking scopes once its session TAN is active."""
        with self._lock:
            login = self.authenticate(token, (TWO_FACTOR,))
            if not login.tan_active:
                raise Refused("not_activated")
            self.tokens.revoke(token)
            self.counters.secondary_grants += 1
            return login, *self._issue(login, SECONDARY_SCOPES)

    def refresh(self, refresh_token: str) -> tuple[Login, str, Grant]:
        with self._lock:
            login = self._by_refresh.pop(refresh_token, None)
            if login is None or login.ended:
                raise Refused("stale_refresh")
            rotated = self.tokens.rotate(refresh_token)
            if rotated is None:
                if all(self.tokens.check(access) is not None for access in login.tokens):
                    self._end(login)  # the chain lapsed: the session and its TAN are gone
                raise Refused("stale_refresh")
            access, grant = rotated
            self._register(login, access, grant)
            self.counters.token_refreshes += 1
            return login, access, grant

    def revoke(self, token: str) -> None:
        with self._lock:
            login = self.authenticate(token, None)
            self._end(login)
            self.counters.revocations += 1

    def authenticate(self, token: str | None, scopes: Sequence[str] | None) -> Login:
        """The login of a valid bearer token holding one of `scopes` (None: any scope)."""
        with self._lock:
            problem = self.tokens.check(token)
            login = self._by_token.get(token or "")
            if problem is not None or login is None or login.ended:
                raise Refused("invalid_token")
            if scopes is not None and all(self.tokens.check(token, s) is not None for s in scopes):
                raise Refused("insufficient_scope")
            return login

    # -- the session API ---------------------------------------------------------------------------

    def check_request_info(self, login: Login, session_id: str, request_id: str) -> None:
        """A login keeps the client's first sessionId for good; a requestId is new per call."""
        with self._lock:
            if login.request_session_id is None:
                login.request_session_id = session_id
            elif session_id != login.request_session_id:
                raise Refused("session_id")
            if request_id == login.last_request_id:
                raise Refused("request_id")
            login.last_request_id = request_id

    def request_challenge(self, login: Login, typ: str | None) -> Challenge:
        with self._lock:
            if self.locked:
                raise Refused("locked")
            if login.tan_active:
                raise Refused("already_active")
            typ = typ or self.tan_types[0]  # without a type, the customer's preferred one
            if typ not in self.tan_types:
                raise Refused("tan_type")
            if self._challenges_without_success + 1 >= CHALLENGES_TO_LOCK:
                self._lock_out()
                raise Refused("locked")
            previous = login.current
            if previous is not None and not previous.used:
                previous.status = EXPIRED
            challenge = Challenge(
                id=f"{self._rng.randint(10**8, 10**9 - 1)}",
                authentication_id=hex_id(self._rng),
                typ=typ,
                issued_at=self.clock(),
                content=_challenge_content(typ, self._rng),
            )
            login.challenges.append(challenge)
            self.counters.challenges_issued += 1
            self._challenges_without_success += 1
            return challenge

    def poll(self, login: Login, authentication_id: str) -> Challenge:
        with self._lock:
            for challenge in login.challenges:
                if challenge.authentication_id == authentication_id:
                    self.counters.status_polls += 1
                    self._settle(challenge)
                    return challenge
            raise Refused("unknown_challenge")

    def activate(self, login: Login, challenge_id: str, tan: str | None) -> None:
        with self._lock:
            if self.locked:
                raise Refused("locked")
            if login.tan_active:
                raise Refused("already_active")
            challenge = next((c for c in login.challenges if c.id == challenge_id), None)
            if challenge is None:
                raise Refused("unknown_challenge")
            self._settle(challenge)
            if challenge.status == EXPIRED:
                raise Refused("challenge_expired")
            if challenge.typ == PUSH:
                if challenge.status != AUTHENTICATED:
                    self._wrong_tan("push_pending" if challenge.status == PENDING else "push_denied")
            elif tan != self.correct_tan:
                self._wrong_tan("tan_invalid")
            challenge.status, challenge.used = AUTHENTICATED, True
            login.tan_active = True
            self.counters.activations += 1
            self._wrong_tans_in_row = self._challenges_without_success = 0

    # -- test controls -----------------------------------------------------------------------------

    def resolve_push(self, status: str) -> Challenge:
        """Approve, deny or expire the newest pending push challenge (push mode `manual`)."""
        with self._lock:
            for login in reversed(self._logins):
                challenge = login.current
                if challenge and challenge.typ == PUSH and not challenge.used:
                    self._settle(challenge)
                    if challenge.status == PENDING:
                        challenge.status = status
                        return challenge
            raise LookupError("no push challenge is pending")

    def unlock(self) -> None:
        """Lift the lock and clear the counts in a row, as the bank's hotline would."""
        with self._lock:
            self.locked = False
            self._wrong_tans_in_row = self._challenges_without_success = self._wrong_pins_in_row = 0

    def logins(self) -> list[Login]:
        with self._lock:
            return list(self._logins)

    # -- inside --------------------------------------------------------------------------------------

    def _issue(self, login: Login, scopes: Sequence[str]) -> tuple[str, Grant]:
        access, grant = self.tokens.issue(scopes, refreshable=True)
        self._register(login, access, grant)
        return access, grant

    def _register(self, login: Login, access: str, grant: Grant) -> None:
        login.tokens.add(access)
        self._by_token[access] = login
        if grant.refresh_token:
            self._by_refresh[grant.refresh_token] = login

    def _end(self, login: Login) -> None:
        """The login's session ends: every token of its chain and its session TAN."""
        login.ended, login.tan_active = True, False
        for access in login.tokens:
            self.tokens.revoke(access)
        for challenge in login.challenges:
            if challenge.status == PENDING:
                challenge.status = EXPIRED

    def _lock_out(self) -> None:
        self.locked = True
        self.counters.locks += 1
        for login in self._logins:
            self._end(login)

    def _wrong_tan(self, reason: Reason) -> None:
        self.counters.wrong_tans += 1
        self._wrong_tans_in_row += 1
        if self._wrong_tans_in_row >= WRONG_TANS_TO_LOCK:
            self._lock_out()
            raise Refused("locked")
        raise Refused(reason)

    def _settle(self, challenge: Challenge) -> None:
        """Move a pending challenge on by the clock: the push mode's answer, or expiry."""
        if challenge.status != PENDING:
            return
        age = self.clock() - challenge.issued_at
        if challenge.typ == PUSH:
            if self.push == "never":
                return
            answers = {"approve": AUTHENTICATED, "deny": DENIED, "expire": EXPIRED}
            if self.push in answers and age >= self.push_delay:
                challenge.status = answers[self.push]
                return
        if age >= CHALLENGE_LIFETIME:
            challenge.status = EXPIRED


def _challenge_content(typ: str, rng: random.Random) -> str | None:
    if typ == PHOTO:
        return _photo_tan_png(rng)
    if typ == SMS:
        return f"+49 151 ******{rng.randint(10, 99)}"
    return None


def _photo_tan_png(rng: random.Random, cells: int = 24, scale: int = 4) -> str:
    """A photoTAN-like mosaic as a real (greyscale) PNG, base64-encoded as the bank sends it."""
    grid = [[rng.getrandbits(1) for _ in range(cells)] for _ in range(cells)]
    side = cells * scale
    rows = b"".join(
        b"\x00" + bytes(0 if grid[y // scale][x // scale] else 255 for x in range(side)) for y in range(side)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")
