"""Token serving for emulators: OAuth access tokens (with scopes and lifetimes), refresh tokens
that rotate, and the checks an API does on a bearer token.

Deterministic: token values come from a seeded generator, so two runs of a test see the same
tokens. The clock is injectable, so tests expire tokens without waiting.
"""

from __future__ import annotations

import base64
import hmac
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from plumbing_dagster.kit.emulator.world import derive_seed

Problem = Literal["invalid", "expired", "insufficient_scope"]


@dataclass
class Grant:
    scopes: frozenset[str]
    issued_at: float
    lifetime: int
    refresh_token: str | None = None
    expired: bool = False  # by expire_all() or rotation, before its time


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic ...` header, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user, password


def bearer_token(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class TokenIssuer:
    """Issues access tokens (and rotating refresh tokens) and checks bearer tokens."""

    def __init__(self, name: str, seed: int, lifetime: int, clock: Callable[[], float] = time.time):
        self.lifetime = lifetime
        self.clock = clock
        self._rng = random.Random(derive_seed(name, seed, "tokens"))
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}  # by access token
        self._refresh: dict[str, str] = {}  # refresh token -> its access token
        self.issued = 0

    def _new_value(self) -> str:
        return base64.urlsafe_b64encode(self._rng.randbytes(32)).decode("ascii").rstrip("=")

    def issue(self, scopes: Iterable[str], *, refreshable: bool = False) -> tuple[str, Grant]:
        with self._lock:
            access = self._new_value()
            refresh = self._new_value() if refreshable else None
            grant = Grant(frozenset(scopes), self.clock(), self.lifetime, refresh)
            self._grants[access] = grant
            if refresh:
                self._refresh[refresh] = access
            self.issued += 1
            return access, grant

    def access_tokens(self) -> list[str]:
        """Every access token issued so far (tests look for them where they must not be)."""
        with self._lock:
            return list(self._grants)

    def rotate(self, refresh_token: str) -> tuple[str, Grant] | None:
        """A new pair for a valid refresh token; the old pair stops working. None if not valid."""
        with self._lock:
            access = self._refresh.pop(refresh_token, None)
            grant = self._grants.get(access) if access else None
            if grant is None or grant.expired or self._ended(grant):
                return None
            grant.expired = True
        return self.issue(grant.scopes, refreshable=True)

    def revoke(self, access_token: str) -> bool:
        with self._lock:
            grant = self._grants.get(access_token)
            if grant is None:
                return False
            grant.expired = True
            if grant.refresh_token:
                self._refresh.pop(grant.refresh_token, None)
            return True

    def expire_all(self) -> None:
        """Every token issued so far stops working (as after a server-side expiry)."""
        with self._lock:
            for grant in self._grants.values():
                grant.expired = True

    def _ended(self, grant: Grant) -> bool:
        return self.clock() >= grant.issued_at + grant.lifetime

    def check(self, token: str | None, scope: str | None = None) -> Problem | None:
        """None when `token` is valid (and has `scope`), else what is wrong with it."""
        with self._lock:
            grant = self._grants.get(token) if token else None
            if grant is None:
                return "invalid"
            if grant.expired or self._ended(grant):
                return "expired"
            if scope and scope not in grant.scopes:
                return "insufficient_scope"
        return None
