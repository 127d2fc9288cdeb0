"""comdirect's actions: `login` (the job `comdirect_login`, launched by a person from the UI, and
`plumbing comdirect login` at a terminal) and `keepalive` (the job `comdirect_keepalive`, run by
its schedule every few minutes while the session needs it; it never starts a challenge).

    plumbing comdirect login                          push-TAN: approve in the app
    plumbing comdirect login --set tan_type=M_TAN     SMS-TAN: the terminal asks for it
    comdirect_login run config {"tan_type": "M_TAN"}, then {"tan": "123456"} in a second run
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plumbing_dagster.kit.connection import ConnectionSettings
from plumbing_dagster.kit.vendor import Action, ActionContext
from plumbing_dagster.sources.comdirect.connection import ComdirectConnection
from plumbing_dagster.sources.comdirect.login import LoginFlow, LoginRequest
from plumbing_dagster.sources.comdirect.store import open_store
from plumbing_dagster.sources.comdirect.tokens import KEEPALIVE_EVERY_MINUTES, due, keep_alive


class LoginConfig(BaseModel):
    """The run config of `comdirect_login` (`--set key=value` at the terminal)."""

    model_config = ConfigDict(extra="forbid")

    tan_type: Literal["P_TAN_PUSH", "P_TAN", "M_TAN"] | None = Field(
        default=None, description="default: push-TAN, or the customer's own method if they have no push"
    )
    tan: str | None = Field(
        default=None, description="the TAN of the photoTAN/SMS-TAN challenge an earlier run started"
    )
    push_timeout_seconds: int = Field(default=120, ge=10, le=290, description="how long to wait for the app")
    override: bool = Field(default=False, description="log in although earlier challenges went unanswered")
    counts_reset: bool = Field(
        default=False, description="the bank's counts were reset (a successful login elsewhere)"
    )


def _settings(context: ActionContext) -> ComdirectConnection:
    assert isinstance(context.settings, ComdirectConnection)
    return context.settings


def login_action(clock: Callable[[], float], sleep: Callable[[float], None]) -> Action:
    def run(context: ActionContext) -> dict[str, Any]:
        config = context.config if isinstance(context.config, LoginConfig) else LoginConfig()
        settings = _settings(context)
        store = open_store(settings)
        flow = LoginFlow(settings, store, clock=clock, sleep=sleep, log=context.log)
        request = LoginRequest(
            tan_type=config.tan_type,
            tan=config.tan,
            push_timeout=float(config.push_timeout_seconds),
            override=config.override,
            counts_reset=config.counts_reset,
        )
        try:
            return flow.run(request, ask=context.ask).metadata()
        finally:
            flow.close()
            store.close()

    return Action(
        name="login",
        run=run,
        description="Log in to comdirect: one TAN challenge (push-TAN preferred) for a person to "
        "approve; stores the session that comdirect_keepalive then keeps alive. Refuses a login that "
        "could lock online banking.",
        config=LoginConfig,
    )


def keepalive_action(clock: Callable[[], float]) -> Action:
    def run(context: ActionContext) -> dict[str, Any]:
        settings = _settings(context)
        store = open_store(settings)
        try:
            before = store.load()
            token = keep_alive(settings, store, clock=clock)
        finally:
            store.close()
        refreshed = before is None or before.access_token != token.access_token
        return {
            "session": "refreshed" if refreshed else "still fresh: nothing to do",
            "valid_for_seconds": round(token.expires_at - clock()),
        }

    def is_due(settings: ConnectionSettings) -> str | None:
        assert isinstance(settings, ComdirectConnection)
        store = open_store(settings)
        try:
            return due(store.read(), clock())
        finally:
            store.close()

    return Action(
        name="keepalive",
        run=run,
        description="Refresh the stored comdirect session before it lapses (never logs in).",
        every_minutes=KEEPALIVE_EVERY_MINUTES,
        due=is_due,
    )


def actions(clock: Callable[[], float], sleep: Callable[[float], None]) -> tuple[Action, ...]:
    return (login_action(clock, sleep), keepalive_action(clock))
