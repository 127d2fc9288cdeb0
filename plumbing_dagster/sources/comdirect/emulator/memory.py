"""The bank's memory between processes, for the sandbox: every run and every CLI call starts its
own emulator, but a real bank is one server that remembers the tokens it issued and rotated, each
login's session TAN and challenges, and its lockout counts. `BankMemory` keeps the login desk's
state in `<folder>/bank.json` and serialises requests across processes with an flock on
`<folder>/bank.lock`: each request loads the state, is answered, and saves it.

The bank remembers only once its folder exists. The sandbox's comdirect folder is made by the
first stored login (`comdirect_login`), where the client's session store lives too; before that
each emulator is a fresh bank in memory and nothing is written (a preview on a fresh sandbox
leaves no file behind).

Tokens that ended more than a day ago are forgotten, with the logins that hold nothing else, so
the file stays small under a keep-alive that refreshes every few minutes.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from plumbing_dagster.kit.emulator.tokens import Grant
from plumbing_dagster.sources.comdirect.emulator.session import Challenge, Counters, Login, LoginDesk

STATE_FILE = "bank.json"
LOCK_FILE = "bank.lock"
FORGET_AFTER = 86_400.0  # seconds after a token's end
VERSION = 1


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _set_rng(rng: random.Random, state: list[Any]) -> None:
    rng.setstate((state[0], tuple(state[1]), state[2]))


# The desk and the kit's token issuer are read and set through their private attributes: the
# memory is the emulator's own, and a test of the round trip guards it.


def snapshot(desk: LoginDesk) -> dict[str, Any]:
    """The desk's state as JSON-ready data (ended tokens older than `FORGET_AFTER` left out)."""
    issuer = desk.tokens
    horizon = desk.clock() - FORGET_AFTER
    grants = {
        access: grant
        for access, grant in issuer._grants.items()
        if grant.issued_at + grant.lifetime > horizon
    }
    logins = [login for login in desk._logins if login.tokens & grants.keys()]
    index = {id(login): n for n, login in enumerate(logins)}
    return {
        "version": VERSION,
        "issuer": {
            "rng": _rng_state(issuer._rng),
            "issued": issuer.issued,
            "grants": {
                access: {**asdict(grant), "scopes": sorted(grant.scopes)} for access, grant in grants.items()
            },
            "refresh": {r: a for r, a in issuer._refresh.items() if a in grants},
        },
        "desk": {
            "rng": _rng_state(desk._rng),
            "counters": asdict(desk.counters),
            "locked": desk.locked,
            "wrong_tans_in_row": desk._wrong_tans_in_row,
            "challenges_without_success": desk._challenges_without_success,
            "wrong_pins_in_row": desk._wrong_pins_in_row,
            "logins": [
                {
                    **{
                        f.name: getattr(login, f.name)
                        for f in fields(Login)
                        if f.name not in ("tokens", "challenges")
                    },
                    "tokens": sorted(login.tokens & grants.keys()),
                    "challenges": [asdict(c) for c in login.challenges],
                }
                for login in logins
            ],
            "by_refresh": {
                r: index[id(login)] for r, login in desk._by_refresh.items() if id(login) in index
            },
        },
    }


def restore(desk: LoginDesk, state: dict[str, Any]) -> None:
    """Set the desk to a `snapshot`."""
    if state.get("version") != VERSION:
        raise ValueError(f"bank state version {state.get('version')!r}, expected {VERSION}")
    issuer, saved = desk.tokens, state["issuer"]
    _set_rng(issuer._rng, saved["rng"])
    issuer.issued = saved["issued"]
    issuer._grants = {
        access: Grant(**{**grant, "scopes": frozenset(grant["scopes"])})
        for access, grant in saved["grants"].items()
    }
    issuer._refresh = dict(saved["refresh"])
    saved = state["desk"]
    _set_rng(desk._rng, saved["rng"])
    desk.counters = Counters(**saved["counters"])
    desk.locked = saved["locked"]
    desk._wrong_tans_in_row = saved["wrong_tans_in_row"]
    desk._challenges_without_success = saved["challenges_without_success"]
    desk._wrong_pins_in_row = saved["wrong_pins_in_row"]
    logins = [
        Login(
            **{
                **login,
                "tokens": set(login["tokens"]),
                "challenges": [Challenge(**c) for c in login["challenges"]],
            }
        )
        for login in saved["logins"]
    ]
    desk._logins = logins
    desk._by_token = {access: login for login in logins for access in login.tokens}
    desk._by_refresh = {r: logins[n] for r, n in saved["by_refresh"].items()}


def issued_tokens(desk: LoginDesk) -> list[str]:
    """Every access and refresh token the bank remembers issuing (tests look for them)."""
    grants = desk.tokens._grants
    return [*grants, *(g.refresh_token for g in grants.values() if g.refresh_token)]


class BankMemory:
    """The desk's state in `folder` (see the module docstring)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / STATE_FILE

    @property
    def awake(self) -> bool:
        """Whether the bank remembers: its folder exists."""
        return self.folder.is_dir()

    @contextmanager
    def remembering(self, desk: LoginDesk) -> Iterator[None]:
        """Around one request: load the state, let it be changed, save it; one process at a time."""
        if not self.awake:
            yield
            return
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.recall(desk)
            yield
            self._write(desk)
        finally:
            os.close(fd)  # releases the flock, even when the request failed

    def recall(self, desk: LoginDesk) -> None:
        """Load the saved state into `desk` (the caller holds the lock or only reads)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return  # a bank that has remembered nothing yet keeps what it has in memory
        restore(desk, json.loads(text))

    def _write(self, desk: LoginDesk) -> None:
        temporary = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(snapshot(desk), handle, separators=(",", ":"))
        os.replace(temporary, self.path)
