"""Where a comdirect login lives between processes: one record per customer with the rotating
token pair, the login's `x-http-request-info` sessionId, the counts that keep a login from
locking the account, and a photoTAN/SMS-TAN challenge waiting for its TAN.

Every store is the kit's `TokenStore` (`lock`, `load`, `save`: `RotatingTokens` refreshes under
`lock` and saves the new pair before it is used) plus the whole record (`read`, `write`) and a
second lock that lets one login run at a time (`login_lock`, never waited for).

- `FileSessionStore`: a 0600 JSON file, replaced atomically, flock'ed (the sandbox, one machine).
- `MemorySessionStore`: in this process only (tests, and sessions the sandbox never stores).
- `PostgresSessionStore` (`pg_store.py`): a row of table `comdirect_sessions` (production).

`COMDIRECT_SESSION_STORE` picks one: `postgresql://...`, `file:/path`, or `memory:<name>`. The
record holds secrets: it is never logged, and errors never quote the setting.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from plumbing_dagster.kit import ConnectionError_
from plumbing_dagster.kit.auth import Token
from plumbing_dagster.sources.comdirect.connection import ComdirectConnection


class LoginBusy(RuntimeError):
    """Another login of the same customer is running."""


@dataclass
class Guard:
    """What the bank counts toward locking online banking, as far as we have seen: challenges
    requested without a successful activation, wrong TANs and wrong PINs since then."""

    challenges: int = 0
    wrong_tans: int = 0
    wrong_pins: int = 0


@dataclass
class Pending:
    """A photoTAN/SMS-TAN challenge started by a login job; the next run brings the TAN."""

    two_factor_token: str  # the password grant's TWO_FACTOR access token
    expires_at: float  # of that token
    identifier: str  # the bank's session
    challenge_id: str
    typ: str
    issued_at: float
    session_id: str  # x-http-request-info sessionId of this login


@dataclass
class SessionRecord:
    customer: str
    token: Token | None = None  # the BANKING pair
    session_id: str | None = None  # x-http-request-info sessionId, fixed for the login
    logged_in_at: float | None = None
    guard: Guard = field(default_factory=Guard)
    pending: Pending | None = None


def customer_key(settings: ComdirectConnection) -> str:
    """The record's key: a digest of the application and access number, never the number itself."""
    return hashlib.sha256(f"{settings.client_id}\0{settings.username}".encode()).hexdigest()[:32]


def record_to_json(record: SessionRecord) -> str:
    data: dict[str, Any] = asdict(record)
    return json.dumps(data, separators=(",", ":"))


def record_from_json(text: str) -> SessionRecord:
    data = json.loads(text)
    token = data.get("token")
    pending = data.get("pending")
    return SessionRecord(
        customer=data["customer"],
        token=Token(**token) if token else None,
        session_id=data.get("session_id"),
        logged_in_at=data.get("logged_in_at"),
        guard=Guard(**data.get("guard") or {}),
        pending=Pending(**pending) if pending else None,
    )


class SessionStore(Protocol):
    customer: str

    def lock(self) -> AbstractContextManager[None]: ...
    def login_lock(self) -> AbstractContextManager[None]: ...
    def load(self) -> Token | None: ...
    def save(self, token: Token) -> None: ...
    def read(self) -> SessionRecord | None: ...
    def write(self, record: SessionRecord) -> None: ...
    def exists(self) -> bool: ...
    def prepare(self) -> None: ...
    def close(self) -> None: ...


class RecordStore:
    """The record logic every store shares; a store gives `lock`, `login_lock`, `_get`, `_put`."""

    customer: str

    def _get(self) -> str | None:
        raise NotImplementedError

    def _put(self, text: str) -> None:
        raise NotImplementedError

    def read(self) -> SessionRecord | None:
        """This customer's record, or None when there is none."""
        text = self._get()
        if text is None:
            return None
        record = record_from_json(text)
        return record if record.customer == self.customer else None

    def write(self, record: SessionRecord) -> None:
        self._put(record_to_json(record))

    def exists(self) -> bool:
        """Whether any login was ever stored here (the sandbox logs in by itself only when not)."""
        return self._get() is not None

    def load(self) -> Token | None:
        """The pair, with the login's sessionId in `extra["session_id"]` (read together)."""
        record = self.read()
        if record is None or record.token is None:
            return None
        return replace(record.token, extra={**(record.token.extra or {}), "session_id": record.session_id})

    def save(self, token: Token) -> None:
        """A refreshed pair; the rest of the record stays (the caller holds `lock`)."""
        record = self.read() or SessionRecord(self.customer)
        extra = {k: v for k, v in (token.extra or {}).items() if k != "session_id"}
        record.token = replace(token, extra=extra)
        self.write(record)

    def prepare(self) -> None:
        """Make the store ready for a first login (a folder, a table)."""

    def close(self) -> None:
        pass


class FileSessionStore(RecordStore):
    """`<path>` (0600, replaced by rename), `<path>.lock` for refreshers, `<path>.login` for logins."""

    def __init__(self, path: str | Path, customer: str):
        self.path = Path(path)
        self.customer = customer

    def _open_lock(self, suffix: str) -> int:
        self.prepare()
        return os.open(f"{self.path}{suffix}", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def lock(self) -> Iterator[None]:
        fd = self._open_lock(".lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes, even on a crash
            yield
        finally:
            os.close(fd)

    @contextmanager
    def login_lock(self) -> Iterator[None]:
        fd = self._open_lock(".login")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LoginBusy("another comdirect login is running; wait for it to end") from None
            yield
        finally:
            os.close(fd)

    def _get(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _put(self, text: str) -> None:
        self.prepare()
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)  # atomic: readers see the old record or the new one

    def prepare(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


class MemorySessionStore(RecordStore):
    """A record in this process only."""

    def __init__(self, customer: str):
        self.customer = customer
        self._text: str | None = None
        self._lock = threading.RLock()
        self._login = threading.Lock()

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    @contextmanager
    def login_lock(self) -> Iterator[None]:
        if not self._login.acquire(blocking=False):
            raise LoginBusy("another comdirect login is running; wait for it to end")
        try:
            yield
        finally:
            self._login.release()

    def _get(self) -> str | None:
        return self._text

    def _put(self, text: str) -> None:
        self._text = text


_MEMORY: dict[tuple[str, str], MemorySessionStore] = {}
_MEMORY_LOCK = threading.Lock()


def open_store(settings: ComdirectConnection) -> SessionStore:
    """The store `COMDIRECT_SESSION_STORE` names (the value is never quoted: it may hold a password)."""
    where = settings.session_store.strip()
    customer = customer_key(settings)
    if where.startswith(("postgresql://", "postgres://")):
        from plumbing_dagster.sources.comdirect.pg_store import PostgresSessionStore

        return PostgresSessionStore(where, customer)
    if where.startswith("file:"):
        path = where.removeprefix("file:")
        path = "/" + path.lstrip("/") if path.startswith("//") else path
        if not path:
            raise ConnectionError_("comdirect: COMDIRECT_SESSION_STORE names no file")
        return FileSessionStore(path, customer)
    if where.startswith("memory:"):
        with _MEMORY_LOCK:
            return _MEMORY.setdefault((where, customer), MemorySessionStore(customer))
    raise ConnectionError_(
        "comdirect: COMDIRECT_SESSION_STORE must be postgresql://..., file:/path or memory:<name>"
    )
