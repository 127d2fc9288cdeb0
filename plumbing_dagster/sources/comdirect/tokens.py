"""Keeping a comdirect session alive: the stored pair, refreshed by the kit's `RotatingTokens`
under the store's lock (the new pair is saved before it is used; a process that finds a newer
pair uses it, so two processes never refresh from the same token).

Tokens live 599 s and a refresh token dies with its access token, so the chain must be refreshed
within every ten minutes or the session and its TAN are gone. Two things refresh:

- every run, before any call whose pair has less than `RUN_MARGIN` left;
- the `comdirect_keepalive` schedule, every `KEEPALIVE_EVERY_MINUTES`, when the pair has less
  than `KEEPALIVE_THRESHOLD` left: a pair fresh at one tick is at least `KEEPALIVE_THRESHOLD -
  60 * KEEPALIVE_EVERY_MINUTES` seconds from expiry at the next, time enough for a run to start.

When the chain has lapsed (no pair, an expired one, a refresh the bank refuses) everything fails
with `EXPIRED` and nothing else is tried: only a person logging in starts a new session.
"""

from __future__ import annotations

from collections.abc import Callable

from plumbing_dagster.kit import RotatingTokens, Scrubber, SessionExpired
from plumbing_dagster.kit.auth import Token, TokenEndpoint
from plumbing_dagster.sources.comdirect.connection import ComdirectConnection
from plumbing_dagster.sources.comdirect.store import SessionRecord, SessionStore

EXPIRED = "session expired: run comdirect_login"
RUN_MARGIN = 120.0  # seconds
KEEPALIVE_EVERY_MINUTES = 3
KEEPALIVE_THRESHOLD = 360.0  # seconds

__all__ = ["EXPIRED", "SessionExpired", "due", "keep_alive", "rotating"]


def rotating(
    settings: ComdirectConnection,
    store: SessionStore,
    *,
    clock: Callable[[], float],
    margin: float = RUN_MARGIN,
    scrub: Scrubber | None = None,
) -> RotatingTokens:
    """The stored pair as a rotating bearer token (`clock`: wall-clock seconds, as the store's)."""
    scrub = scrub or Scrubber(settings.secrets())
    endpoint = TokenEndpoint("comdirect", settings.oauth_url, scrub=scrub, clock=clock)

    def refresh_form(token: Token) -> dict[str, str]:
        return {
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": token.refresh_token or "",
        }

    return RotatingTokens(endpoint, store, refresh_form=refresh_form, expired_message=EXPIRED, margin=margin)


def keep_alive(
    settings: ComdirectConnection,
    store: SessionStore,
    *,
    clock: Callable[[], float],
    threshold: float = KEEPALIVE_THRESHOLD,
) -> Token:
    """The stored pair, refreshed first when less than `threshold` seconds are left; raises
    `SessionExpired` when the chain has lapsed."""
    tokens = rotating(settings, store, clock=clock, margin=threshold)
    try:
        return tokens.current()
    finally:
        tokens.endpoint.close()


def due(record: SessionRecord | None, now: float, threshold: float = KEEPALIVE_THRESHOLD) -> str | None:
    """Why the keep-alive has nothing to do now, or None when the pair needs refreshing."""
    if record is None or record.token is None:
        return "no comdirect session stored: a person runs comdirect_login"
    left = record.token.expires_at - now
    if left <= 0:
        return f"{EXPIRED} (the session lapsed; a refresh cannot revive it)"
    if left >= threshold:
        return f"the comdirect session is valid for another {left:.0f} s"
    return None
