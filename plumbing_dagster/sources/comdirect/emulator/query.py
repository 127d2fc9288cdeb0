"""The transactions endpoint's query: its parameters, checked as the live API checks them, and the
page it answers.

Beyond the Swagger document (`transactionState`, `transactionDirection`, `paging-first`,
`with-attr`), the live API takes `paging-count` (default 20, at most 500), `min-bookingDate` and
`max-bookingDate` (YYYY-MM-DD, inclusive); without `min-bookingDate` it only looks back 180
days. `paging-first > 0` is only allowed with `transactionState=BOOKED`. Rows come newest first,
pre-bookings (which have no booking date, so the date bounds do not apply to them) before
bookings; `paging.matches` counts every row of the query, so the last page is the one where
`paging-first + len(values) >= matches`. `aggregated` carries, as recorded live responses do,
the date and reference of the query's last (oldest) booking and whether this page holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from plumbing_dagster.kit.emulator import BadRequest, EmulatorRequest
from plumbing_dagster.sources.comdirect.emulator import render
from plumbing_dagster.sources.comdirect.emulator.ledger import Account
from plumbing_dagster.sources.comdirect.emulator.world import ComdirectWorld

DEFAULT_PAGE = 20
MAX_PAGE = 500
DEFAULT_WINDOW_DAYS = 180
STATES = ("BOOKED", "NOTBOOKED", "BOTH")
DIRECTIONS = ("CREDIT", "DEBIT", "CREDIT_AND_DEBIT")
INVALID_VALUE = "Der Wert {0} für den Parameter {1} ist ungültig."
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def invalid(key: str, text: str, origin: str, args: dict[str, Any]) -> BadRequest:
    """A 422 `request.query.invalid` with one message (German, placeholders filled by `args`)."""
    details = {"key": key, "args": args, "origin": [origin]}
    return BadRequest(text, status=422, key="request.query.invalid", details=details)


def _paging_number(request: EmulatorRequest, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and low <= int(raw) and (high is None or int(raw) <= high):
        return int(raw)
    shown: Any = int(raw) if raw.isascii() and raw.lstrip("-").isdigit() else raw
    raise invalid(
        "paging.invalid",
        "Der Paging-Parameter {0} mit dem Wert {1} ist ungültig",
        name,
        {"0": name, "1": shown},
    )


def _booking_date(request: EmulatorRequest, name: str) -> date | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        if not ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid("requestparameter.invalid", INVALID_VALUE, name, {"0": raw, "1": name}) from None


@dataclass(frozen=True)
class TransactionQuery:
    state: str
    direction: str
    first: int
    count: int
    min_date: date | None
    max_date: date | None
    with_account: bool

    @classmethod
    def parse(cls, request: EmulatorRequest) -> TransactionQuery:
        state = request.arg("transactionState", "BOTH") or ""
        if state not in STATES:
            text = "Der Wert {0} für den Buchungsstatus ist ungültig."
            raise invalid("bookingStatus.invalid", text, "transactionState", {"0": state})
        direction = request.arg("transactionDirection", "CREDIT_AND_DEBIT") or ""
        if direction not in DIRECTIONS:
            args = {"0": direction, "1": "transactionDirection"}
            raise invalid("requestparameter.invalid", INVALID_VALUE, "transactionDirection", args)
        count = _paging_number(request, "paging-count", DEFAULT_PAGE, 1, MAX_PAGE)
        first = _paging_number(request, "paging-first", 0, 0, None)
        if first > 0 and state != "BOOKED":
            text = "Paging ist nur für gebuchte Umsätze zulässig."
            raise invalid("requestparameter.invalid", text, "transactionState", {"0": state})
        return cls(
            state=state,
            direction=direction,
            first=first,
            count=count,
            min_date=_booking_date(request, "min-bookingDate"),
            max_date=_booking_date(request, "max-bookingDate"),
            with_account=request.arg("with-attr") == "account",
        )

    def answer(self, world: ComdirectWorld, acc: Account, now: datetime) -> dict[str, Any]:
        """The page, as `ListResourceAccountTransaction`."""
        first_day = self.min_date or world.today(now) - timedelta(days=DEFAULT_WINDOW_DAYS)
        booked = (
            world.booked(acc.account_id, first_day, self.max_date, now) if self.state != "NOTBOOKED" else []
        )
        pending = world.pending_at(acc.account_id, now) if self.state != "BOOKED" else []
        rows = [
            txn
            for txn in (*pending, *booked)
            if self.direction == "CREDIT_AND_DEBIT" or (txn.amount > 0) == (self.direction == "CREDIT")
        ]
        page = rows[self.first : self.first + self.count]
        oldest = next((t for t in reversed(rows) if t.booked_at <= now), None)
        aggregated = {
            "account": render.account(acc, world.client_id) if self.with_account else None,
            "accountId": acc.account_id,
            "bookingDateLatestTransaction": oldest.booking_date.isoformat() if oldest else None,
            "referenceLatestTransaction": oldest.reference if oldest else None,
            "latestTransactionIncluded": self.first + len(page) >= len(rows),
            "pagingTimestamp": render.timestamp(now),
        }
        return {
            "paging": {"index": self.first, "matches": len(rows)},
            "aggregated": aggregated,
            "values": [render.transaction(txn, now, acc.currency) for txn in page],
        }
