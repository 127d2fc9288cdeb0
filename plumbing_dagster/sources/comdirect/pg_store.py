"""The production session store: one row per customer in table `comdirect_sessions`
(`customer` text primary key, `record` jsonb, `updated_at`), reached by `COMDIRECT_SESSION_STORE`
(`postgresql://...`; a `search_path` in the URL's options picks the schema).

Locks are session-level advisory locks on one connection this store keeps: `lock()` waits for
`pg_advisory_lock(key)`, so two processes never refresh from the same pair, and every write
commits at once (autocommit) — the rotated pair is durable before the lock is let go and before
the pair is used. `login_lock()` takes a second key with `pg_try_advisory_lock` and refuses when
another login holds it. A crashed process's connection closes and its locks go with it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from plumbing_dagster.sources.comdirect.store import LoginBusy, RecordStore

TABLE = "comdirect_sessions"
CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    customer text PRIMARY KEY,
    record jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)"""


def _lock_key(customer: str, purpose: str) -> int:
    digest = hashlib.sha256(f"comdirect:{purpose}:{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StoreUnavailable(RuntimeError):
    """The Postgres session store cannot be reached (the message never shows the URL)."""


class PostgresSessionStore(RecordStore):
    def __init__(self, url: str, customer: str, *, connect_timeout: int = 10):
        self._url = url
        self.customer = customer
        self._timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        self._sql = threading.RLock()  # one statement at a time on the shared connection
        # Advisory locks belong to the connection, which this process's threads share: these
        # make the threads take turns as the locks make processes take turns.
        self._refreshers = threading.Lock()
        self._logins = threading.Lock()
        self._table_ready = False

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=self._timeout)
            except psycopg.OperationalError as error:
                raise StoreUnavailable(
                    "comdirect: the session store (COMDIRECT_SESSION_STORE) is unreachable: "
                    f"{type(error).__name__}"
                ) from None
            self._table_ready = False
        return self._conn

    def _execute(self, sql: str, params: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        with self._sql:
            conn = self._connection()
            if not self._table_ready:
                conn.execute(CREATE)
                self._table_ready = True
            cursor = conn.execute(sql, params)
            return cursor.fetchone() if cursor.description else None

    def prepare(self) -> None:
        self._execute("SELECT 1")

    @contextmanager
    def lock(self) -> Iterator[None]:
        key = _lock_key(self.customer, "refresh")
        with self._refreshers:
            self._execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                self._execute("SELECT pg_advisory_unlock(%s)", (key,))

    @contextmanager
    def login_lock(self) -> Iterator[None]:
        key = _lock_key(self.customer, "login")
        busy = LoginBusy("another comdirect login is running; wait for it to end")
        if not self._logins.acquire(blocking=False):
            raise busy
        try:
            row = self._execute("SELECT pg_try_advisory_lock(%s)", (key,))
            if not (row and row[0]):
                raise busy
            try:
                yield
            finally:
                self._execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            self._logins.release()

    def _get(self) -> str | None:
        row = self._execute(f"SELECT record::text FROM {TABLE} WHERE customer = %s", (self.customer,))
        return str(row[0]) if row else None

    def _put(self, text: str) -> None:
        self._execute(
            f"INSERT INTO {TABLE} (customer, record) VALUES (%s, %s::jsonb) "
            "ON CONFLICT (customer) DO UPDATE SET record = EXCLUDED.record, updated_at = now()",
            (self.customer, text),
        )

    def close(self) -> None:
        with self._sql:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
