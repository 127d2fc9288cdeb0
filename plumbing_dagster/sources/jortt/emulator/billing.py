"""What is billed in the Jortt world: invoices with their lines, and the hours and costs
registered on projects (line items). Builders draw from their generator in a fixed order, as in
`records.py`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from plumbing_dagster.sources.jortt.emulator.records import (
    AMSTERDAM,
    CENT,
    Customer,
    Project,
    iso_millis,
    iso_seconds,
    money,
    new_uuid,
)

LINE_ITEM_STATUSES = ("billable", "invoiced", "concept", "nonbillable")
_COSTS = ("Reiskosten", "Materiaal", "Parkeerkosten", "Drukwerk")
_INVOICE_LINES = ("Arbeid", "Voorrijkosten", "Materiaal", "Advies per uur", "Licentie", "Ontwerpwerk")


@dataclass(frozen=True)
class Invoice:
    record: dict[str, Any]  # without invoice_number and invoice_due_amount
    created_at: datetime
    sent: bool
    due_date: date | None
    paid_on: date | None
    total_incl_vat: Decimal

    def has_status(self, status: str, today: date) -> bool:
        """Whether Jortt's `invoice_status` filter value `status` selects this invoice `today`."""
        if status == "draft":
            return not self.sent
        if status == "sent":
            return self.sent
        paid = self.paid_on is not None and self.paid_on <= today
        if status == "paid":
            return self.sent and paid
        unpaid = self.sent and not paid
        if status == "unpaid":
            return unpaid
        return unpaid and self.due_date is not None and self.due_date < today  # late

    def matches(self, number: str | None, query: str) -> bool:
        """Whether Jortt's `query` search (lower case) finds this invoice, numbered `number`."""
        fields = (number, self.record["customer_company_name"], self.record["reference"])
        return any(query in (value or "").lower() for value in fields)


@dataclass(frozen=True)
class LineItem:
    record: dict[str, Any]  # without updated_at
    created_at: datetime
    updated_at: datetime
    day: date
    minutes: int
    total: Decimal


def make_invoice(
    rng: random.Random, created: datetime, candidates: list[Customer], ledger_accounts: list[str]
) -> Invoice:
    """An invoice created at `created`, for one of `candidates` (the customers of that moment)."""
    invoice_id = new_uuid(rng)
    sent = rng.random() < 0.85
    # Some drafts are still empty, as "new invoice" leaves them (seen in Jortt's responses).
    empty_draft = not candidates or (not sent and rng.random() < 0.2)
    customer = None if empty_draft else rng.choice(candidates)
    sent = sent and customer is not None
    c = customer.record if customer else {}
    lines = [invoice_line(rng, c, ledger_accounts) for _ in range(rng.randint(1, 4))] if customer else []
    total = sum((Decimal(line["total_amount_excl_vat"]["value"]) for line in lines), Decimal(0))
    vat = sum(
        (
            Decimal(line["total_amount_excl_vat"]["value"]) * Decimal(line["vat_percentage"]) / 100
            for line in lines
        ),
        Decimal(0),
    ).quantize(CENT, ROUND_HALF_UP)
    invoice_date = created.astimezone(AMSTERDAM).date() if sent else None
    due_date = invoice_date + timedelta(days=c["payment_term"]) if invoice_date else None
    paid_after = rng.randrange(0, 46) if rng.random() < 0.8 else None
    paid_on = None
    if invoice_date is not None and paid_after is not None:
        paid_on = invoice_date + timedelta(days=paid_after)
    first_of_month = invoice_date.replace(day=1).isoformat() if invoice_date else None
    record = {  # in the order of Jortt's document; invoice_number and due amount come later
        "id": invoice_id,
        "invoice_status": "sent" if sent else "draft",
        "customer_id": c.get("id"),
        "tradename_id": None,
        "invoice_number": None,
        "invoice_date": invoice_date.isoformat() if invoice_date else None,
        "invoice_due_date": due_date.isoformat() if due_date else None,
        "invoice_delivery_period": first_of_month,
        "invoice_delivery_period_end": None,
        "invoice_date_sent": invoice_date.isoformat() if invoice_date else None,
        "invoice_total": money(total),
        "invoice_total_incl_vat": money(total + vat),
        "invoice_due_amount": None,
        "send_method": rng.choice(("email", "email", "self")) if sent else None,
        "net_amounts": False,
        "invoice_marked_free_of_vat": False,
        "credited_invoice_id": None,
        "remarks": None,
        "introduction": None,
        "number_of_reminders_sent": 0,
        "last_reminded_at": None,
        "payment_method": "pay_later" if customer else None,
        "customer_company_name": c.get("customer_name"),
        "customer_attn": c.get("attn"),
        "customer_address_street": c.get("address_street"),
        "customer_address_city": c.get("address_city"),
        "customer_address_postal_code": c.get("address_postal_code"),
        "customer_address_country_code": c.get("address_country_code"),
        "customer_address_country_name": c.get("address_country_name"),
        "customer_address_extra_information": c.get("address_extra_information"),
        "customer_vat_shifted": c.get("shift_vat", False),
        "customer_vat_number": c.get("vat_number"),
        "customer_in_eu": True if customer else None,
        "customer_reference": None,
        "customer_is_private": c.get("is_private"),
        "customer_mail_to": c.get("email"),
        "customer_mail_cc_addresses": [],
        "language": c.get("invoice_language", "nl"),
        "line_items": lines,
        "discounts": [],
        "reference": None,
        "created_at": iso_seconds(created),
        "credit_invoice_ids": None,
        "peppol_status": None,
    }
    return Invoice(record, created, sent, due_date, paid_on, total + vat)


def invoice_line(rng: random.Random, customer: dict[str, Any], ledger_accounts: list[str]) -> dict[str, Any]:
    units = Decimal(rng.choice(("1", "1", "2", "3", "4", "8", "0.5", "1.5", "2.5")))
    price = Decimal(rng.randrange(2_500, 50_000)) / 100
    vat = 0 if customer["shift_vat"] else rng.choice((21, 21, 21, 21, 9))
    return {
        "description": rng.choice(_INVOICE_LINES),
        "vat_percentage": f"{vat}.0",
        "vat": vat,
        "units": float(units),
        "number_of_units": f"{units:.1f}" if units == units.to_integral() else f"{units}",
        "amount_per_unit": money(price),
        "total_amount_excl_vat": money(units * price),
        "ledger_account_id": rng.choice(ledger_accounts),
    }


def make_line_item(
    rng: random.Random,
    line_item_id: int,
    day: date,
    created: datetime,
    project: Project,
    is_cost: bool,
    users: list[dict[str, str]],
    organization_id: str,
) -> LineItem:
    """A time registration (or, `is_cost`, a cost) on `project`, dated `day`, by one of `users`."""
    user = rng.choice(users)
    if is_cost:
        minutes, quantity, amount = 0, Decimal(1), Decimal(rng.randrange(500, 15_000)) / 100
        description = rng.choice(_COSTS)
    else:
        minutes = rng.choice((15, 30, 45, 60, 90, 120, 180, 240, 300, 480))
        quantity, amount = Decimal(minutes) / 60, project.hourly_rate
        description = project.record["default_registration_description"]
    total = (quantity * amount).quantize(CENT, ROUND_HALF_UP)
    if project.record["is_internal"]:
        status = "nonbillable"
    else:
        status = rng.choices(LINE_ITEM_STATUSES, weights=(60, 25, 5, 10))[0]
    invoice_id = new_uuid(rng) if status == "invoiced" else None
    edited = rng.random() >= 0.7
    updated = created + timedelta(minutes=rng.randint(1, 240)) if edited else created
    record = {  # in the order of Jortt's document; updated_at is set when rendered
        "project_id": project.aggregate_id,
        "description": description,
        "amount": money(amount),
        "quantity": f"{quantity.quantize(CENT, ROUND_HALF_UP)}",
        "invoice_id": invoice_id,
        "user_id": user["id"],
        "organization_id": organization_id,
        "line_item_id": line_item_id,
        "status": status,
        "date": day.isoformat(),
        "line_item_type": "cost" if is_cost else "time_registration",
        "created_at": iso_millis(created),
        "updated_at": None,
        "total_amount": money(total),
        "user_record": user,
    }
    return LineItem(record, created, updated, day, minutes, total)
