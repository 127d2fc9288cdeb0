"""The comdirect world: one customer's accounts and their transactions (seed 003).

A pure function of the constructor arguments and the clock. Every day from `start_date` brings
card payments (booked one to three days later, pre-bookings until then), and by the calendar:
rent on the 1st, savings to the Tagesgeld account on the 2nd, direct debits with creditor and
mandate ids, a savings plan through the depot's settlement account on the 20th/21st, salary,
interest and the quarter's closing at month end. A transaction is visible as NOTBOOKED from its
`created_at` and BOOKED from its `booked_at`; what the API shows only depends on `now`.

Balances are consistent with the bookings: the balance at a moment is the opening balance plus
every amount booked by then, so the balance on day D is the opening balance plus every booking
dated up to D. Generation is cached per day (`DayCache`) from `World.seeded` generators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from plumbing_dagster.kit.emulator import DayCache, World
from plumbing_dagster.sources.comdirect.emulator import render
from plumbing_dagster.sources.comdirect.emulator.ledger import (
    BERLIN,
    MAX_BOOKING_LAG,
    Account,
    Book,
    Txn,
    hex_id,
    iban,
    make_day,
)

GIRO_BANK_CODE = "20041155"
DEPOT_BANK_CODE = "20041144"


class ComdirectWorld(World):
    """A comdirect customer: a Girokonto (CA), a Tagesgeld PLUS-Konto (DAS, the savings account)
    and a depot's Verrechnungskonto (SA, the settlement account), all in EUR."""

    def __init__(
        self,
        seed: int = 3,
        start_date: date = date(2026, 1, 1),
        now: datetime | None = None,
        holder: str = "Erika Mustermann",
        clock: Callable[[], float] | None = None,
    ):
        """`now` fixes the data horizon; `clock` (epoch seconds) moves it instead, so the data
        follows the same clock as the emulator's tokens (a test's simulated day); neither: real time."""
        super().__init__("comdirect", seed, start_date, now)
        self._clock = clock
        rng = self.seeded("customer")
        self.holder = holder
        self.client_id = hex_id(rng)  # the customer's id, `clientId` in account master data
        self.customer_number = f"{rng.randint(10**9, 10**10 - 1)}"  # `kdnr`
        self.bpid = rng.randint(10**7, 10**8 - 1)
        self.contact_id = rng.randint(10**9, 2 * 10**9)  # `kontaktId`

        def open_account(key: str, text: str, bank_code: str, limit: str, opening: str) -> Account:
            number = f"{rng.randint(10**8, 10**9 - 1):010d}"
            return Account(
                hex_id(rng), number, key, text, iban(bank_code, number), Decimal(limit), Decimal(opening)
            )

        self._book = Book(
            holder,
            giro=open_account("CA", "Girokonto", GIRO_BANK_CODE, "1000", "2500.00"),
            savings=open_account("DAS", "Tagesgeld PLUS-Konto", GIRO_BANK_CODE, "0", "8000.00"),
            settlement=open_account("SA", "Verrechnungskonto", DEPOT_BANK_CODE, "0", "1200.00"),
        )
        self._accounts = (self._book.giro, self._book.savings, self._book.settlement)
        self._by_id = {acc.account_id: acc for acc in self._accounts}
        self._days: DayCache[tuple[Txn, ...]] = DayCache(
            lambda day: tuple(make_day(self._book, day, self.seeded))
        )

    @property
    def now(self) -> datetime:
        if self._clock is not None:
            return datetime.fromtimestamp(self._clock(), UTC)
        return super().now

    # -- what the app asks (records shared, not copied: render, never change them) --------------

    def account_list(self) -> tuple[Account, ...]:
        return self._accounts

    def account(self, account_id: str) -> Account | None:
        return self._by_id.get(account_id)

    def today(self, at: datetime) -> date:
        """The bank's day at `at` (Berlin)."""
        return at.astimezone(BERLIN).date()

    def _initiated(self, first: date, last: date) -> Iterable[Txn]:
        day = max(first, self.start_date)
        while day <= last:
            yield from self._days(day)
            day += timedelta(days=1)

    def booked(self, account_id: str, first: date | None, last: date | None, at: datetime) -> list[Txn]:
        """Bookings of the account visible at `at` with `first <= bookingDate <= last` (None:
        open), newest first, as the API lists them."""
        today = self.today(at)
        last = min(last or today, today)
        first = first or self.start_date
        scan_from = first - timedelta(days=MAX_BOOKING_LAG)  # a booking may follow its day by 3
        found = [
            txn
            for txn in self._initiated(scan_from, last)
            if txn.account_id == account_id and txn.booked_at <= at and first <= txn.booking_date <= last
        ]
        return sorted(found, key=lambda t: (t.booking_date, t.booked_at, t.order), reverse=True)

    def pending_at(self, account_id: str, at: datetime) -> list[Txn]:
        """Pre-bookings of the account at `at` (shown, not yet booked), newest first."""
        today = self.today(at)
        # Card payments wait up to 3 days; transfers appear the evening before their day.
        window = self._initiated(today - timedelta(days=MAX_BOOKING_LAG), today + timedelta(days=1))
        found = [t for t in window if t.account_id == account_id and t.created_at <= at < t.booked_at]
        return sorted(found, key=lambda t: (t.created_at, t.order), reverse=True)

    def balance_at(self, account_id: str, at: datetime) -> Decimal:
        """Opening balance plus every amount booked by `at`."""
        acc = self._by_id[account_id]
        booked = (
            t.amount
            for t in self._initiated(self.start_date, self.today(at))
            if t.account_id == account_id and t.booked_at <= at
        )
        return acc.opening_balance + sum(booked, Decimal(0))

    def available_at(self, account_id: str, at: datetime) -> Decimal:
        """`availableCashAmount`: balance plus credit limit minus pre-booked outgoing payments."""
        acc = self._by_id[account_id]
        outgoing = sum((t.amount for t in self.pending_at(account_id, at) if t.amount < 0), Decimal(0))
        return self.balance_at(account_id, at) + acc.credit_limit + outgoing

    # -- views for tests: what the API serves now -------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """The accounts' master data, as `account` in the balances answer."""
        return [render.account(acc, self.client_id) for acc in self._accounts]

    def opening_balance(self, account_id: str) -> Decimal:
        return self._by_id[account_id].opening_balance

    def balances(self, at: date | datetime | None = None) -> dict[str, Decimal]:
        """Balance per account id: at a moment, at the end of a (Berlin) day, or now; never
        later than `now`, as bookings to come are not the API's yet."""
        if isinstance(at, datetime):
            moment = at
        elif isinstance(at, date):
            moment = datetime.combine(at + timedelta(days=1), time(0), BERLIN) - timedelta(microseconds=1)
        else:
            moment = self.now
        moment = min(moment, self.now)
        return {acc.account_id: self.balance_at(acc.account_id, moment) for acc in self._accounts}

    def transactions(
        self, account_id: str, booked_from: date | None = None, booked_to: date | None = None
    ) -> list[dict[str, Any]]:
        """Booked transactions dated `booked_from..booked_to` (inclusive, None: open), newest
        first, as the API renders them now."""
        now = self.now
        found = self.booked(account_id, booked_from, booked_to, now)
        return [render.transaction(t, now) for t in found]

    def pending(self, account_id: str) -> list[dict[str, Any]]:
        """The account's pre-bookings now (`bookingStatus` NOTBOOKED, `bookingDate` null)."""
        now = self.now
        return [render.transaction(t, now) for t in self.pending_at(account_id, now)]
