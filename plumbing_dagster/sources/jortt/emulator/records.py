"""The records of the Jortt world: name tables, Jortt's formats (amounts, timestamps) and the
builders that turn a seeded generator into the organization, a customer or a project (invoices
and line items: `billing.py`), each in the field order of Jortt's document and the shape of its
recorded responses (see `world.py` for where the two disagree).

A builder draws from its generator in a fixed order: changing that order changes every record
after it, so the data of a seed stays the same only as long as the builders do.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CENT = Decimal("0.01")

_FIRST_NAMES = tuple(
    "Anna Bram Daan Eva Fleur Jesse Julia Lars Lotte Milan Noor Ruben Sanne Sem Tess Thijs".split()
)
_LAST_NAMES = tuple(
    "Bakker|Bos|de Boer|de Jong|de Vries|Dekker|Jansen|Meijer|Mulder|Peters|Smit|van Dijk|van den Berg|"
    "Visser|Vos|Willems".split("|")
)
_TRADES = tuple(
    "Installatietechniek Schilderwerken Dakdekkers Adviesgroep Bouw Media Catering Webdesign Tuinen "
    "Administratie".split()
)
_LEGAL_SUFFIXES = ("B.V.", "B.V.", "V.O.F.", "", "& Zn.")
_PLACES = (  # (city, country code, country name, postal code format)
    ("Amsterdam", "NL", "Nederland", "10{:02d} {}"),
    ("Utrecht", "NL", "Nederland", "35{:02d} {}"),
    ("Rotterdam", "NL", "Nederland", "30{:02d} {}"),
    ("Haarlem", "NL", "Nederland", "20{:02d} {}"),
    ("Eindhoven", "NL", "Nederland", "56{:02d} {}"),
    ("Groningen", "NL", "Nederland", "97{:02d} {}"),
    ("Zwolle", "NL", "Nederland", "80{:02d} {}"),
    ("Den Haag", "NL", "Nederland", "25{:02d} {}"),
    ("Antwerpen", "BE", "België", "20{:02d}"),
    ("Düsseldorf", "DE", "Duitsland", "402{:02d}"),
)
_STREETS = ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Rozengracht", "Molenweg", "Industrieweg")
_PROJECT_TOPICS = tuple(
    "Website redesign|Onderhoudscontract|Badkamerrenovatie|Jaarrekening|Logo ontwerp|Nieuwbouw keuken|"
    "Adviestraject|Fotoshoot|Marketingcampagne|Dakrenovatie".split("|")
)
_TASKS = ("Overleg met klant", "Ontwerp", "Uitvoering", "Voorbereiding", "Projectleiding", "Montage")


# -- Jortt's formats --------------------------------------------------------------------------------


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def money(value: Decimal) -> dict[str, str]:
    return {"value": f"{value.quantize(CENT, ROUND_HALF_UP)}", "currency": "EUR"}


def iso_seconds(moment: datetime) -> str:
    # As in Jortt's recorded invoices: local time with its offset, `2020-09-22T15:31:23+02:00`.
    return moment.astimezone(AMSTERDAM).isoformat(timespec="seconds")


def iso_millis(moment: datetime) -> str:
    # As in Jortt's document for projects and line items: `2020-02-23T00:00:00.000+01:00`.
    return moment.astimezone(AMSTERDAM).isoformat(timespec="milliseconds")


def utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_between(first: date, last: date) -> list[date]:
    """The days from `first` through `last` (none when `last` is before `first`)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- what the world keeps of each record --------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    record: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Project:
    index: int
    record: dict[str, Any]  # without the fields that change with the clock
    created_at: datetime
    edits: tuple[datetime, ...]
    archive_at: datetime | None
    hourly_rate: Decimal

    @property
    def aggregate_id(self) -> str:
        return self.record["aggregate_id"]

    def active_on(self, day: date) -> bool:
        start = utc_midnight(day)
        return self.created_at < start and (self.archive_at is None or self.archive_at > start)


# -- builders -----------------------------------------------------------------------------------------


def make_organization(rng: random.Random, start_date: date) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The organization (using Jortt since well before `start_date`) and its three users."""
    organization_id = new_uuid(rng)
    users = [
        {"id": new_uuid(rng), "full_name": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"}
        for _ in range(3)
    ]
    since = datetime.combine(start_date - timedelta(days=400), clock_time(10), AMSTERDAM)
    organization = {
        "id": organization_id,
        "vat_type": "vat",
        "company_name": "Sandbox Loodgieters B.V.",
        "company_name_line_2": None,
        "address_street": "Rozengracht 75a",
        "address_postal_code": "1012 AB",
        "address_city": "Amsterdam",
        "address_country_code": "NL",
        "address_country_name": "Nederland",
        "tax_registration_number": "NL999999999B01",
        "chamber_of_commerce_number": "12345678",
        "bank_account_iban": "NL10BANK0123456789",
        "bank_account_bban": "0123456789",
        "owners": [users[0]],
        "legal_form": "bv",
        "website": "https://sandbox-loodgieters.example",
        "phonenumber": "+31 20 1234567",
        "invoice_from_email": "facturen@sandbox-loodgieters.example",
        "one_stop_shop_enabled": False,
        "has_mollie": False,
        "jortt_start_date": since.isoformat(timespec="seconds"),
        "invoice_from_email_confirmed": True,
        "data_complete_for_sending_invoices": True,
        "default_vat": {"category": "standard", "value": "21.0"},
        "has_peppol_access": False,
    }
    return organization, users


def customer_record(rng: random.Random) -> dict[str, Any]:
    is_private = rng.random() < 0.3
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    city, country, country_name, postal_format = rng.choice(_PLACES)
    foreign = country != "NL"
    if is_private:
        name = f"{first} {last}"
        slug = f"{first}.{last.replace(' ', '')}".lower()
    else:
        surname = last[0].upper() + last[1:]  # "Van den Berg", not "Van Den Berg"
        parts = (surname, rng.choice(_TRADES), rng.choice(_LEGAL_SUFFIXES))
        name = " ".join(part for part in parts if part)
        slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(2))
    postal = postal_format.format(rng.randrange(100), letters)
    language = {"NL": "nl", "BE": "nl", "DE": "de"}[country]
    return {
        "id": new_uuid(rng),
        "is_private": is_private,
        "customer_name": name,
        "address_street": f"{rng.choice(_STREETS)} {rng.randrange(1, 200)}",
        "address_postal_code": postal,
        "address_city": city,
        "address_country_code": country,
        "address_country_name": country_name,
        "address_extra_information": None,
        "shift_vat": foreign and not is_private,  # intra-EU B2B: VAT reverse-charged
        "vat_number": None if is_private else f"{country}{rng.randrange(10**8, 10**9)}B01",
        "coc_number": None if is_private else f"{rng.randrange(10**7, 10**8)}",
        "initials": f"{first[0]}." if is_private else None,
        "first_name": first if is_private else None,
        "last_name": last if is_private else None,
        "date_of_birth": None,
        "citizen_service_number": None,
        "attn": None if is_private else rng.choice((None, "Financiële administratie")),
        "phonenumber": f"+316{rng.randrange(10**7, 10**8)}" if rng.random() < 0.6 else None,
        "website": None if is_private else f"https://{slug}.example",
        "email": f"{slug}@mail.example" if is_private else f"info@{slug}.example",
        "cc_emails": [],
        "email_salutation": "Geachte heer, mevrouw,",
        "additional_information": None,
        "payment_term": rng.choice((14, 30, 30, 30)),
        "invoice_language": language,
        "payment_method_invoice": "pay_later",
        "reference": None,
        "mollie_direct_debit_status": None,
        "mollie_customer_id": None,
        "mollie_mandate_id": None,
        "default_ledger_account_id": None,
        "archived": rng.random() < 0.05,
        "default_label_id": None,
        "default_discount_description": None,
        "default_discount_percentage": None,
        "peppol_scheme_code": None,
        "peppol_identifier": None,
    }


def make_project(
    rng: random.Random, index: int, created: datetime, candidates: list[Customer], organization_id: str
) -> Project:
    """Project number `index`, for one of `candidates`; the first is the internal project."""
    internal = index == 0  # every administration has one: hours nobody is billed for
    customer = None if internal else rng.choice(candidates)
    rate = Decimal(0) if internal else Decimal(rng.choice((55, 65, 75, 85, 95, 110)))
    topic = rng.choice(_PROJECT_TOPICS)
    customer_name = customer.record["customer_name"] if customer else None
    edits, moment = [], created
    for _ in range(40):  # edited every week or few, for years
        moment += timedelta(seconds=rng.randrange(7 * 86_400, 45 * 86_400))
        edits.append(moment)
    archived_after = timedelta(days=rng.randrange(60, 240))
    archive_at = created + archived_after if rng.random() < 0.2 else None
    record = {
        "organization_id": organization_id,
        "aggregate_id": new_uuid(rng),
        "name": "Interne uren" if internal else f"{topic} {customer_name}",
        "reference": None if internal else f"P{created.year}-{index + 1:03d}",
        "customer_id": None if customer is None else customer.record["id"],
        "description": None if internal else f"{topic} voor {customer_name}",
        "is_internal": internal,
        "customer_record": None if customer is None else customer.record,
        "default_registration_description": rng.choice(_TASKS),
        "default_hourly_rate": money(rate),
    }
    return Project(index, record, created, tuple(edits), archive_at, rate)
