"""comdirect (seed 003): a German bank's REST API, `https://api.comdirect.de` (OAuth under `/oauth`,
the API under `/api`).

Streams: `accounts` and `balances` (daily snapshots; a balance also gives the closing balance of
the bank day before), `transactions` (booked, by booking date) and `pending_transactions`
(pre-bookings, a snapshot); the `daily_balances` mart reconciles balances with bookings.

Banking needs a session whose TAN a person approved (`login.py`): the job `comdirect_login` or
`plumbing comdirect login` stores the token pair (`store.py`: Postgres in production, a 0600 file
in the sandbox), `comdirect_keepalive` and every run refresh it before it lapses (`tokens.py`),
and once it has lapsed runs fail with `session expired: run comdirect_login` (`client.py`). The
sandbox's emulator (`emulator/`) approves its push-TAN by itself and remembers its sessions in
the sandbox's state folder, so the whole flow runs with no person.

    module        what
    connection    settings (COMDIRECT_* variables)
    api           paths, x-http-request-info, the bank's errors
    store         session records: file, memory (pg_store: Postgres)
    login         the login flow and the rules that keep it from locking the account
    tokens        refresh and keep-alive (the kit's RotatingTokens)
    client        the banking client; the sandbox's self-login
    records       bank records -> stream rows, and their columns
    endpoints     the streams;  marts: the daily balance mart;  actions: login, keepalive
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from plumbing_dagster.kit import Vendor, lazy_exports
from plumbing_dagster.sources.comdirect.actions import actions
from plumbing_dagster.sources.comdirect.client import connect, connector
from plumbing_dagster.sources.comdirect.connection import ComdirectConnection
from plumbing_dagster.sources.comdirect.endpoints import ENDPOINTS
from plumbing_dagster.sources.comdirect.marts import MARTS

if TYPE_CHECKING:
    from plumbing_dagster.sources.comdirect.emulator import ComdirectEmulator, ComdirectWorld

# The emulator is imported when used (sandbox runs, tests), not with the code location.
__getattr__ = lazy_exports(__name__, {"ComdirectEmulator": ".emulator", "ComdirectWorld": ".emulator"})

SANDBOX_PUSH_DELAY = 0.4  # seconds until the sandbox customer approves a push in the app
STATE_FOLDER = "comdirect"  # under the sandbox's state folder: the session store and the bank


def sandbox_emulator(
    state_dir: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
    push_delay: float = SANDBOX_PUSH_DELAY,
) -> ComdirectEmulator:
    """The sandbox's bank: its push-TAN approves itself; with `state_dir` it remembers between
    processes (once a login was stored there). Unthrottled, as a backfill should be quick; the
    10 requests/s limit is exercised in the emulator's tests."""
    from plumbing_dagster.sources.comdirect.emulator import ComdirectEmulator, ComdirectWorld

    return ComdirectEmulator(
        ComdirectWorld(clock=clock),
        push="approve",
        push_delay_seconds=push_delay,
        clock=clock,
        rate_limit=None,
        state_dir=Path(state_dir) / STATE_FOLDER if state_dir else None,
    )


def sandbox_connection(url: str, state_dir: str | None = None) -> ComdirectConnection:
    """Settings for the emulator at `url`. The session store is a file beside the bank's memory in
    the sandbox's state folder, or, without one, this process's memory (a name of its own)."""
    from plumbing_dagster.sources.comdirect.emulator.app import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SANDBOX_PASSWORD,
        SANDBOX_USERNAME,
    )

    if state_dir:
        store = f"file:{Path(state_dir).resolve() / STATE_FOLDER / 'session.json'}"
    else:
        store = f"memory:sandbox-{uuid.uuid4().hex}"
    return ComdirectConnection(
        base_url=url,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        username=SANDBOX_USERNAME,
        password=SANDBOX_PASSWORD,
        session_store=store,
        sandbox_login=True,
    )


def make_vendor(
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    push_delay: float = SANDBOX_PUSH_DELAY,
) -> Vendor:
    """The vendor on a clock (wall-clock seconds) and a sleep: tests pass simulated ones, which
    the emulator's tokens, its world's day and the client's refreshes and push polling all follow."""

    def emulator(state_dir: str | None = None) -> ComdirectEmulator:
        return sandbox_emulator(state_dir, clock=clock, push_delay=push_delay)

    return Vendor(
        name="comdirect",
        start_date=date(2026, 1, 1),
        endpoints=ENDPOINTS,
        connection=ComdirectConnection,
        connect=connector(clock, sleep),
        emulator=emulator,
        sandbox_connection=sandbox_connection,
        marts=MARTS,
        description="comdirect bank: accounts, balances and transactions (seed 003).",
        actions=actions(clock, sleep),
        sandbox_state=True,
    )


VENDOR = make_vendor()

__all__ = [
    "ENDPOINTS",
    "VENDOR",
    "ComdirectConnection",
    "ComdirectEmulator",
    "ComdirectWorld",
    "connect",
    "make_vendor",
]
