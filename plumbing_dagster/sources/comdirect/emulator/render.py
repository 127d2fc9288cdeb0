"""How the comdirect API writes things: amounts, dates, accounts, balances, transactions and its
two error shapes (the API's business messages and the OAuth server's errors).

Where recorded live responses and the Swagger document disagree, this follows the responses:
`bookingDate` and `currency` are plain strings (the document has `DateString`/`CurrencyString`
objects), amounts are decimal strings without trailing zeros (`"-52.5"`, `"35"`), absent
counterparties are `null` and present ones carry only the keys known, message `args` are a map
(`{"0": ...}`, the document says a list), and the debtor field is spelled `deptor` (the live
API spells it as the document does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from plumbing_dagster.kit.emulator import EmulatorResponse
from plumbing_dagster.sources.comdirect.emulator.ledger import (
    BERLIN,
    COMDIRECT_BIC,
    TRANSACTION_TYPES,
    Account,
    Party,
    Txn,
    remittance_info,
)

NEW_TRANSACTION_DAYS = 2  # a booking counts as unseen (`newTransaction`) this long


def decimal_text(value: Decimal) -> str:
    """`-52.50` -> `"-52.5"`, `35.00` -> `"35"`, as the live API writes amounts."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def amount(value: Decimal, unit: str = "EUR") -> dict[str, str]:
    return {"value": decimal_text(value), "unit": unit}


def timestamp(moment: datetime) -> str:
    """`YYYY-MM-DDThh:mm:ss+zz` in Berlin time (`+01` CET, `+02` CEST)."""
    local = moment.astimezone(BERLIN)
    offset = local.utcoffset() or timedelta(0)
    return f"{local:%Y-%m-%dT%H:%M:%S}{int(offset.total_seconds() // 3600):+03d}"


def party(who: Party | None) -> dict[str, str] | None:
    if who is None:
        return None
    rendered = {"holderName": who.holder_name}
    if who.iban:
        rendered["iban"] = who.iban
    if who.bic:
        rendered["bic"] = who.bic
    return rendered


def account(acc: Account, client_id: str) -> dict[str, Any]:
    """An account's master data (`Account`), with the live API's extra `bic`."""
    return {
        "accountId": acc.account_id,
        "accountDisplayId": acc.display_id,
        "currency": acc.currency,
        "clientId": client_id,
        "accountType": {"key": acc.type_key, "text": acc.type_text},
        "iban": acc.iban,
        "bic": COMDIRECT_BIC,
        "creditLimit": amount(acc.credit_limit, acc.currency),
    }


def balance(
    acc: Account, client_id: str, booked: Decimal, available: Decimal, with_account: bool = True
) -> dict[str, Any]:
    """An `AccountBalance`; every account is in EUR, so the EUR figures equal the others."""
    rendered: dict[str, Any] = {"account": account(acc, client_id)} if with_account else {}
    rendered.update(
        accountId=acc.account_id,
        balance=amount(booked, acc.currency),
        balanceEUR=amount(booked),
        availableCashAmount=amount(available, acc.currency),
        availableCashAmountEUR=amount(available),
    )
    return rendered


def transaction(txn: Txn, now: datetime, currency: str = "EUR") -> dict[str, Any]:
    """An `AccountTransaction` as the API shows it at `now` (booked or a pre-booking)."""
    booked = txn.booked_at <= now
    return {
        "reference": txn.reference if booked else txn.pending_reference,
        "bookingStatus": "BOOKED" if booked else "NOTBOOKED",
        "bookingDate": txn.booking_date.isoformat() if booked else None,
        "amount": amount(txn.amount, currency),
        "remitter": party(txn.remitter),
        "deptor": party(txn.deptor),
        "creditor": party(txn.creditor),
        "valutaDate": txn.valuta,
        "directDebitCreditorId": txn.creditor_id,
        "directDebitMandateId": txn.mandate_id,
        "endToEndReference": txn.end_to_end,
        "newTransaction": not booked or now - txn.booked_at < timedelta(days=NEW_TRANSACTION_DAYS),
        "remittanceInfo": remittance_info(txn, booked),
        "transactionType": {"key": txn.type_key, "text": TRANSACTION_TYPES[txn.type_key]},
    }


def session(identifier: str, tan_active: bool) -> dict[str, Any]:
    return {"identifier": identifier, "sessionTanActive": tan_active, "activated2FA": tan_active}


# -- errors ------------------------------------------------------------------------------------------


def message(
    key: str,
    text: str,
    *,
    severity: str = "ERROR",
    args: Mapping[str, Any] | None = None,
    origin: Sequence[str] = (),
) -> dict[str, Any]:
    """A `BusinessMessage`; `text` keeps its `{0}` placeholders, filled from `args` by clients."""
    return {
        "severity": severity,
        "key": key,
        "message": text,
        "args": dict(args or {}),
        "origin": list(origin),
    }


def business_error(status: int, code: str, messages: Sequence[Mapping[str, Any]]) -> EmulatorResponse:
    """The API's error: body `{code, messages}`, the messages mirrored in `x-http-response-info`.

    The header is percent-encoded JSON: header values are Latin-1 at best and the messages are
    German (`ungültig`); a client must URL-decode it before parsing."""
    header = json.dumps({"messages": list(messages)}, ensure_ascii=False, separators=(",", ":"))
    return EmulatorResponse.of_json(
        {"code": code, "messages": list(messages)},
        status=status,
        headers={"x-http-response-info": quote(header, safe="")},
    )


def empty(status: int) -> EmulatorResponse:
    """Some of the API's answers (404s above all) have no body and no messages at all."""
    return EmulatorResponse(status, b"", {})


def oauth_error(status: int, error: str, description: str) -> EmulatorResponse:
    """The OAuth server's error (RFC 6749 §5.2); it never echoes a token or a credential."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{error}"'
    return EmulatorResponse.of_json({"error": error, "error_description": description}, status, headers)
