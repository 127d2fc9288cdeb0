"""comdirect's streams: the customer's accounts and their balances (daily snapshots), booked
transactions (by booking date), and pre-bookings (a snapshot of what is not booked yet).

Accounts come from the balances resource (`/v2/accounts/balances` carries each account's master
data). Transactions are asked for per account with `transactionState=BOOKED`,
`min-bookingDate`/`max-bookingDate` set to the window's days (inclusive; without them the API
only looks back ~180 days and truncates) and paged with `paging-first`/`paging-count` (at most
500; the last page is where `paging-first + len(values) >= paging.matches`). Pre-bookings cannot
be paged (`paging-first > 0` needs BOOKED): one page of up to 500, and more is an error.

A balance snapshot also gives the closing balance of the bank day before it (Berlin): the
balance less what was booked since that day ended, read just before and just after the balance;
when the two reads differ (a booking landed meanwhile) the closing balance stays unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.kit import Endpoint, Extract, Offset, Page, PageRequest, ServerFilter, iter_pages
from plumbing_dagster.sources.comdirect.api import BALANCES
from plumbing_dagster.sources.comdirect.records import (
    ACCOUNT_FIELDS,
    BALANCE_FIELDS,
    PENDING_FIELDS,
    TRANSACTION_FIELDS,
    Row,
    account_row,
    amount,
    balance_row,
    decimal,
    transaction_row,
)

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")  # the bank's days
MAX_PAGE = 500  # paging-count above it: 422 paging.invalid
# Where a one-request read is, for errors: lists read whole start at paging-first 0.
ONLY_PAGE = "offset 0"


def transactions_path(account_id: str) -> str:
    return f"/api/banking/v1/accounts/{quote(account_id, safe='')}/transactions"


def _balance_values(client: Any) -> list[dict[str, Any]]:
    body = client.api.get_json(BALANCES, where=ONLY_PAGE)
    values = body.get("values") if isinstance(body, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        problem = "malformed page: expected a list of objects at 'values'"
        raise client.api.error("GET", BALANCES, 200, problem, ONLY_PAGE)
    matches = (body.get("paging") or {}).get("matches")
    if isinstance(matches, int) and matches > len(values):
        problem = f"{matches} accounts, but only {len(values)} listed"
        raise client.api.error("GET", BALANCES, 200, problem, ONLY_PAGE)
    return values


def _account_ids(client: Any) -> list[str]:
    return [str(v.get("accountId")) for v in _balance_values(client) if v.get("accountId")]


def _booked(client: Any, account_id: str, first: date, last: date | None, page_size: int) -> Iterator[Page]:
    params: dict[str, Any] = {"transactionState": "BOOKED", "min-bookingDate": first.isoformat()}
    if last is not None:
        params["max-bookingDate"] = last.isoformat()
    paging = Offset(
        "paging-first",
        "paging-count",
        page_size,
        total_path="paging.matches",
        served_offset_path="paging.index",
    )
    return iter_pages(client.api, PageRequest("GET", transactions_path(account_id), params), paging, "values")


def _described(fields: Mapping[str, FieldSpec]) -> Callable[[Any, Any], Mapping[str, FieldSpec]]:
    return lambda client, options: dict(fields)


def _accounts(client: Any, extract: Extract) -> Iterator[Page]:
    rows = [account_row(v["account"]) for v in _balance_values(client) if isinstance(v.get("account"), dict)]
    if rows:
        yield rows


def _booked_since(client: Any, account_id: str, day: date) -> dict[str, Decimal | None]:
    """Amounts booked on `day` or later, by reference."""
    return {
        str(t.get("reference")): decimal(amount(t.get("amount"))[0])
        for page in _booked(client, account_id, day, None, MAX_PAGE)
        for t in page
    }


def _balances(client: Any, extract: Extract) -> Iterator[Page]:
    moment = datetime.fromtimestamp(client.clock(), UTC)
    today = moment.astimezone(BERLIN).date()
    ids = _account_ids(client)
    before = {account_id: _booked_since(client, account_id, today) for account_id in ids}
    values = _balance_values(client)
    rows = []
    for value in values:
        account_id = str(value.get("accountId"))
        after = _booked_since(client, account_id, today)
        amounts = list(after.values())
        steady = before.get(account_id) == after and None not in amounts
        booked = sum(amounts, Decimal(0)) if steady else None  # type: ignore[arg-type]
        if not steady:
            logger.warning(
                "comdirect: a booking landed while %s was read; its closing balance is unknown", account_id
            )
        rows.append(balance_row(value, moment.isoformat(), today - timedelta(days=1), booked))
    if rows:
        yield rows


def _count_impossible_valuta(rows: list[Row]) -> None:
    impossible = [r["valuta_date"] for r in rows if not r["valuta_date_valid"]]
    if impossible:
        logger.info(
            "comdirect: %d transaction(s) with an impossible valuta date, kept as sent (%s)",
            len(impossible),
            ", ".join(sorted(set(impossible))),
        )


def _transactions(page_size: int) -> Callable[[Any, Extract], Iterator[Page]]:
    def fetch(client: Any, extract: Extract) -> Iterator[Page]:
        if extract.window is None:
            raise ValueError("comdirect/transactions are read by booking day: a window is needed")
        first, end = extract.window.whole_days()
        last = end - timedelta(days=1)
        for account_id in _account_ids(client):
            for page in _booked(client, account_id, first, last, page_size):
                rows = [
                    transaction_row(t, account_id, booked=True)
                    for t in page
                    if t.get("bookingStatus") == "BOOKED"
                ]
                inside = [r for r in rows if first.isoformat() <= str(r["booking_date"]) <= last.isoformat()]
                if len(inside) < len(rows):
                    logger.warning(
                        "comdirect: %d booking(s) outside the asked days left out", len(rows) - len(inside)
                    )
                _count_impossible_valuta(inside)
                if inside:
                    yield inside

    return fetch


def _pending(client: Any, extract: Extract) -> Iterator[Page]:
    for account_id in _account_ids(client):
        path = transactions_path(account_id)
        params = {"transactionState": "NOTBOOKED", "paging-count": MAX_PAGE}
        body = client.api.get_json(path, params, where=ONLY_PAGE)
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise client.api.error("GET", path, 200, "malformed page: expected a list at 'values'", ONLY_PAGE)
        matches = (body.get("paging") or {}).get("matches")
        if isinstance(matches, int) and matches > len(values):
            problem = f"{matches} pre-bookings; the API pages only booked ones"
            raise client.api.error("GET", path, 200, problem, ONLY_PAGE)
        rows = [
            transaction_row(t, account_id, booked=False)
            for t in values
            if t.get("bookingStatus") == "NOTBOOKED"
        ]
        _count_impossible_valuta(rows)
        if rows:
            yield rows


def transactions_endpoint(page_size: int = MAX_PAGE) -> Endpoint:
    return Endpoint(
        name="transactions",
        fetch=_transactions(page_size),
        primary_key=("reference",),
        cursors={"booking_date": ServerFilter()},
        snapshot=False,
        description="Booked transactions of every account, by booking date (the bank's day); the API "
        "filters on the window's days and pages by paging-first/paging-count (500). Amounts are signed "
        "(negative: money going out), parties as sent plus the counterparty; valuta dates as sent.",
        describe=_described(TRANSACTION_FIELDS),
    )


ENDPOINTS = {
    e.name: e
    for e in (
        Endpoint(
            name="accounts",
            fetch=_accounts,
            primary_key=("account_id",),
            description="The customer's accounts (master data: type, IBAN, currency, credit limit); a "
            "daily snapshot.",
            describe=_described(ACCOUNT_FIELDS),
        ),
        Endpoint(
            name="balances",
            fetch=_balances,
            primary_key=("account_id",),
            description="Each account's balance and available cash as read (snapshot_at), with the "
            "closing balance of the bank day before (closing_date); a daily snapshot.",
            describe=_described(BALANCE_FIELDS),
        ),
        transactions_endpoint(),
        Endpoint(
            name="pending_transactions",
            fetch=_pending,
            primary_key=("reference",),
            description="Pre-bookings (NOTBOOKED: card payments and transfers not booked yet) as they "
            "stand; a daily snapshot. Their reference is provisional: a booked transaction gets its own.",
            describe=_described(PENDING_FIELDS),
        ),
    )
}
