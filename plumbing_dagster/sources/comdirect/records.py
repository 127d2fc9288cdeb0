"""How the bank's records become stream rows, and each stream's columns with their types —
declared here, next to the mapping that makes them (discovery writes these, see `describe`).

- Names become lowercase identifiers (`bookingDate` -> `booking_date`).
- Every amount `{value, unit}` becomes two columns, `<name>` (the bank's decimal text, staged as
  DECIMAL) and `<name>_unit` (`EUR`, or the bank's XXX/XXC/... units).
- A transaction's sign is the bank's: negative is money going out (`direction` DEBIT), positive
  money coming in (CREDIT). Its parties are kept as sent (`remitter_*`, `debtor_*`,
  `creditor_*`; the debtor is read from `debtor` or the document's spelling `deptor`), and the
  other side of the booking is named once in `counterparty_*`: for money going out the creditor
  (a transfer we sent) or else the remitter (the payee of a direct debit or card payment); for
  money coming in the debtor (the payer's account) or else the remitter.
- `valuta_date` is kept as the bank sent it: comdirect values by a 30/360 calendar and sends
  dates such as 2026-02-30 or 2026-03-32. `valuta_date_valid` says whether it is a real date;
  the impossible ones are counted (the `daily_balances` mart shows them), never fatal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from plumbing_dagster.config.models import FieldSpec

Row = dict[str, Any]

TEXT = FieldSpec(type="string")
TEXT_OR_NULL = FieldSpec(type=["null", "string"])
DECIMAL = FieldSpec(type="string", format="decimal")
DECIMAL_OR_NULL = FieldSpec(type=["null", "string"], format="decimal")
DAY = FieldSpec(type="string", format="date")
MOMENT = FieldSpec(type="string", format="date-time")
FLAG = FieldSpec(type="boolean")


def _parties(*names: str) -> dict[str, FieldSpec]:
    return {f"{name}_{part}": TEXT_OR_NULL for name in names for part in ("name", "iban", "bic")}


ACCOUNT_FIELDS: dict[str, FieldSpec] = {
    "account_id": TEXT,
    "account_display_id": TEXT,
    "account_type": TEXT,
    "account_type_text": TEXT_OR_NULL,
    "currency": TEXT,
    "iban": TEXT_OR_NULL,
    "bic": TEXT_OR_NULL,
    "client_id": TEXT_OR_NULL,
    "credit_limit": DECIMAL_OR_NULL,
    "credit_limit_unit": TEXT_OR_NULL,
}
BALANCE_FIELDS: dict[str, FieldSpec] = {
    "account_id": TEXT,
    "balance": DECIMAL,
    "balance_unit": TEXT,
    "balance_eur": DECIMAL_OR_NULL,
    "balance_eur_unit": TEXT_OR_NULL,
    "available_cash_amount": DECIMAL_OR_NULL,
    "available_cash_amount_unit": TEXT_OR_NULL,
    "available_cash_amount_eur": DECIMAL_OR_NULL,
    "available_cash_amount_eur_unit": TEXT_OR_NULL,
    "snapshot_at": MOMENT,
    "closing_date": DAY,
    "closing_balance": DECIMAL_OR_NULL,
    "booked_since_closing": DECIMAL_OR_NULL,
}
_TRANSACTION_BODY: dict[str, FieldSpec] = {
    "amount": DECIMAL,
    "amount_unit": TEXT,
    "direction": TEXT_OR_NULL,
    **_parties("counterparty", "remitter", "debtor", "creditor"),
    "valuta_date": TEXT_OR_NULL,
    "valuta_date_valid": FLAG,
    "end_to_end_reference": TEXT_OR_NULL,
    "direct_debit_creditor_id": TEXT_OR_NULL,
    "direct_debit_mandate_id": TEXT_OR_NULL,
    "remittance_info": TEXT_OR_NULL,
    "transaction_type": TEXT_OR_NULL,
    "transaction_type_text": TEXT_OR_NULL,
    "new_transaction": FLAG,
}
TRANSACTION_FIELDS: dict[str, FieldSpec] = {
    "reference": TEXT,
    "account_id": TEXT,
    "booking_status": TEXT,
    "booking_date": DAY,
    **_TRANSACTION_BODY,
}
# Pre-bookings have no booking date yet, and their reference is provisional (it changes when booked).
PENDING_FIELDS: dict[str, FieldSpec] = {
    "reference": TEXT,
    "account_id": TEXT,
    "booking_status": TEXT,
    **_TRANSACTION_BODY,
}


def amount(value: Any) -> tuple[str | None, str | None]:
    """(decimal text, unit) of an `AmountValue`, (None, None) when absent."""
    if not isinstance(value, dict):
        return None, None
    number = value.get("value")
    unit = value.get("unit")
    return (str(number) if number is not None else None), (str(unit) if unit is not None else None)


def decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _amounts(row: Row, name: str, value: Any) -> None:
    row[name], row[f"{name}_unit"] = amount(value)


def is_real_date(text: Any) -> bool:
    try:
        date.fromisoformat(str(text))
    except ValueError:
        return False
    return True


def _party(row: Row, name: str, who: Any) -> None:
    who = who if isinstance(who, dict) else {}
    row[f"{name}_name"] = who.get("holderName")
    row[f"{name}_iban"] = who.get("iban")
    row[f"{name}_bic"] = who.get("bic")


def account_row(account: dict[str, Any]) -> Row:
    kind = account.get("accountType") or {}
    row: Row = {
        "account_id": account.get("accountId"),
        "account_display_id": account.get("accountDisplayId"),
        "account_type": kind.get("key"),
        "account_type_text": kind.get("text"),
        "currency": account.get("currency"),
        "iban": account.get("iban"),
        "bic": account.get("bic"),
        "client_id": account.get("clientId"),
    }
    _amounts(row, "credit_limit", account.get("creditLimit"))
    return row


def balance_row(
    value: dict[str, Any], snapshot_at: str, closing_date: date, booked_since: Decimal | None
) -> Row:
    """A balance as read at `snapshot_at`, with the closing balance of `closing_date` (the bank
    day before the snapshot's): the balance less what was booked since that day ended."""
    row: Row = {"account_id": value.get("accountId") or (value.get("account") or {}).get("accountId")}
    for name, key in (
        ("balance", "balance"),
        ("balance_eur", "balanceEUR"),
        ("available_cash_amount", "availableCashAmount"),
        ("available_cash_amount_eur", "availableCashAmountEUR"),
    ):
        _amounts(row, name, value.get(key))
    balance = decimal(row["balance"])
    row["snapshot_at"] = snapshot_at
    row["closing_date"] = closing_date.isoformat()
    closing = balance - booked_since if balance is not None and booked_since is not None else None
    row["closing_balance"] = format(closing, "f") if closing is not None else None
    row["booked_since_closing"] = format(booked_since, "f") if booked_since is not None else None
    return row


def transaction_row(txn: dict[str, Any], account_id: str, *, booked: bool) -> Row:
    row: Row = {
        "reference": txn.get("reference"),
        "account_id": account_id,
        "booking_status": txn.get("bookingStatus"),
    }
    if booked:
        row["booking_date"] = txn.get("bookingDate")
    _amounts(row, "amount", txn.get("amount"))
    value = decimal(row["amount"])
    row["direction"] = None if value is None else "DEBIT" if value < 0 else "CREDIT"
    remitter, creditor = txn.get("remitter"), txn.get("creditor")
    debtor = txn.get("debtor") or txn.get("deptor")  # the document (and the live API) spell it `deptor`
    other = (creditor or remitter) if row["direction"] == "DEBIT" else (debtor or remitter)
    _party(row, "counterparty", other)
    _party(row, "remitter", remitter)
    _party(row, "debtor", debtor)
    _party(row, "creditor", creditor)
    valuta = txn.get("valutaDate")
    row["valuta_date"] = valuta
    row["valuta_date_valid"] = valuta is None or is_real_date(valuta)  # false: an impossible date
    row["end_to_end_reference"] = txn.get("endToEndReference")
    row["direct_debit_creditor_id"] = txn.get("directDebitCreditorId")
    row["direct_debit_mandate_id"] = txn.get("directDebitMandateId")
    row["remittance_info"] = txn.get("remittanceInfo")
    kind = txn.get("transactionType") or {}
    row["transaction_type"] = kind.get("key")
    row["transaction_type_text"] = kind.get("text")
    row["new_transaction"] = bool(txn.get("newTransaction"))
    return row
