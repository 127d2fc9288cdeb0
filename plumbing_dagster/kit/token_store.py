"""A token store in a 0600 file beside the sandbox's data, locked across processes with flock.

Production keeps the pair in Postgres instead (same `TokenStore` protocol); this one is for the
sandbox and single-machine setups.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from plumbing_dagster.kit.auth import Token


def token_to_json(token: Token) -> str:
    return json.dumps(
        {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at,
            "extra": token.extra or {},
        }
    )


def token_from_json(text: str) -> Token:
    data = json.loads(text)
    return Token(
        data["access_token"], float(data["expires_at"]), data.get("refresh_token"), data.get("extra")
    )


class FileTokenStore:
    """`<path>` holds the pair (mode 0600, replaced by rename); `<path>.lock` serialises refreshers."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes, even on a crash
            yield
        finally:
            os.close(fd)

    def load(self) -> Token | None:
        try:
            return token_from_json(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save(self, token: Token) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token_to_json(token))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)  # atomic: readers see the old pair or the new one

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
