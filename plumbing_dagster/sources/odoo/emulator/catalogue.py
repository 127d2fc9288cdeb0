"""The catalogue of the emulated Odoo: currencies, the company, units, taxes and users (there long
before the data starts), customers and products (most there before, the rest added over months;
some edited, a few archived).

Generation is a pure function of its generators: builders draw from them in a fixed order. Ids are
dense, in creation order, as PostgreSQL sequences give them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plumbing_dagster.sources.odoo.emulator.timeline import (
    ADMIN_UID,
    COMPANY_ID,
    DAY,
    DOZENS,
    EUR,
    GBP,
    HOURS,
    ODOOBOT_UID,
    SALES_UIDS,
    TAX_RATES,
    UNITS,
    USD,
    Change,
    Transaction,
    money,
)

FIRST_PARTNER_ID = 7  # Odoo's own partners (company, users) come first


@dataclass(frozen=True)
class Customer:
    id: int
    created: int
    archived: int | None


@dataclass(frozen=True)
class Product:
    id: int
    created: int
    archived: int | None
    display: str  # "[CODE] Name", the default line description
    uom: int
    taxes: tuple[int, ...]
    prices: tuple[tuple[int, float], ...]  # (from second, list price), oldest first

    def price_at(self, ts: int) -> float:
        return [price for since, price in self.prices if since <= ts][-1]


def _live(entity: Customer | Product, ts: int) -> bool:
    return entity.created <= ts and (entity.archived is None or entity.archived > ts)


@dataclass(frozen=True)
class Catalogue:
    """What orders are made of: customers and products, in creation order."""

    customers: tuple[Customer, ...]
    products: tuple[Product, ...]
    transactions: tuple[Transaction, ...]

    def customers_at(self, ts: int) -> list[Customer]:
        return [c for c in self.customers if _live(c, ts)] or list(self.customers[:1])

    def products_at(self, ts: int) -> list[Product]:
        return [p for p in self.products if _live(p, ts)] or list(self.products[:1])


_FIRST = "Anna Bruno Chloé David Emma Felix Greta Hugo Inès Jonas Klara Luca Mia Noah Sofia Tom".split()
_LAST = "Bakker Costa Dubois Fischer García Hansen Jansen Keller Lambert Meyer Novak Peeters Rossi".split()
_TRADES = "Logistics Interiors Bakery Consulting Dental Studio Garage Hotel Print Solar Tools".split()
_FORMS = ("GmbH", "B.V.", "SARL", "Ltd", "S.L.", "")
_CITIES = (
    ("Berlin", "10115"),
    ("Amsterdam", "1011"),
    ("Lyon", "69001"),
    ("Madrid", "28001"),
    ("Antwerp", "2000"),
    ("Vienna", "1010"),
    ("Dublin", "D01"),
)
_STREETS = ("Main Street", "Station Road", "Market Square", "Harbour Lane", "Mill Road")
_ADJECTIVES = "Compact Ergonomic Large Modular Oak Premium Steel Walnut".split()
_GOODS = "Desk Chair Cabinet Lamp Shelf Drawer Table Stool Screen".split()
_SERVICES = ("Installation", "Design Consultation", "Delivery Service", "Maintenance Visit")


def _phone(rng: random.Random) -> str:
    return f"+{rng.choice((31, 32, 33, 34, 43, 49))} {rng.randint(10, 99)} {rng.randint(100_000, 9_999_999)}"


def static_records(start_ts: int) -> Transaction:
    """Currencies, the company, units, taxes and users: there long before the data starts."""
    made = start_ts - 400 * DAY
    rows: list[tuple[str, int, dict[str, Any]]] = [
        ("res.currency", EUR, {"name": "EUR", "full_name": "Euro", "symbol": "€", "position": "after"}),
        (
            "res.currency",
            USD,
            {"name": "USD", "full_name": "United States dollar", "symbol": "$", "position": "before"},
        ),
        (
            "res.currency",
            GBP,
            {
                "name": "GBP",
                "full_name": "Pound sterling",
                "symbol": "£",
                "position": "before",
                "active": False,
            },
        ),
        ("res.company", COMPANY_ID, {"name": "My Company", "currency_id": EUR, "sequence": 10}),
        ("uom.uom", UNITS, {"name": "Units", "sequence": 1, "rounding": 0.01}),
        ("uom.uom", DOZENS, {"name": "Dozens", "sequence": 2, "rounding": 0.01}),
        ("uom.uom", HOURS, {"name": "Hours", "sequence": 4, "rounding": 0.01}),
        ("res.users", ODOOBOT_UID, {"name": "OdooBot", "login": "__system__", "active": False}),
        ("res.users", ADMIN_UID, {"name": "Administrator", "login": "admin", "email": "admin@example.com"}),
    ]
    for uid, (first, last) in zip(
        SALES_UIDS, (("Alice", "Martin"), ("Bruno", "Keller"), ("Chloé", "Dubois")), strict=True
    ):
        rows.append(
            (
                "res.users",
                uid,
                {
                    "name": f"{first} {last}",
                    "login": f"{first.lower()}@example.com",
                    "email": f"{first.lower()}@example.com",
                },
            )
        )
    for tax, rate in TAX_RATES.items():
        rows.append(
            (
                "account.tax",
                tax,
                {
                    "name": f"{rate:g}%",
                    "amount": rate,
                    "amount_type": "percent",
                    "type_tax_use": "sale",
                    "sequence": tax,
                    "company_id": COMPANY_ID,
                },
            )
        )
    defaults: dict[str, dict[str, Any]] = {
        "res.currency": {"rounding": 0.01, "decimal_places": 2, "active": True},
        "res.company": {"active": True},
        "uom.uom": {"active": True},
        "res.users": {"company_id": COMPANY_ID, "share": False, "active": True},
        "account.tax": {"active": True},
    }
    changes = tuple(
        Change(model, id_, {**defaults[model], **values}, create=True) for model, id_, values in rows
    )
    return Transaction(made, made, ODOOBOT_UID, changes)


def _created_times(
    rng: random.Random, start_ts: int, count: int, before_share: float, growth_days: int
) -> list[int]:
    before = max(1, int(count * before_share))
    return sorted(
        start_ts - rng.randint(DAY, 180 * DAY) if n < before else start_ts + rng.randint(0, growth_days * DAY)
        for n in range(count)
    )


def _partners(rng: random.Random, start_ts: int, count: int) -> tuple[list[Customer], list[Transaction]]:
    customers, transactions = [], []
    companies: list[tuple[int, str]] = []
    for n, created in enumerate(_created_times(rng, start_ts, count, 0.7, 120)):
        pid = FIRST_PARTNER_ID + n
        kind = rng.random()
        city, zip_code = rng.choice(_CITIES)
        parent: tuple[int, str] | None = None
        if kind < 0.4 or (kind < 0.65 and not companies):
            name = f"{rng.choice(_LAST)} {rng.choice(_TRADES)} {rng.choice(_FORMS)}".strip()
            companies.append((pid, name))
        else:
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            if kind < 0.65:
                parent = rng.choice(companies)
        email = f"{name.split()[0].lower()}.{pid}@example.com"
        values = {
            "name": name,
            "complete_name": f"{parent[1]}, {name}" if parent else name,
            "is_company": parent is None and kind < 0.65,
            "parent_id": parent[0] if parent else None,
            "ref": f"C{pid:05d}" if rng.random() < 0.5 else None,
            "email": email,
            "phone": _phone(rng) if rng.random() < 0.8 else None,
            "street": f"{rng.randint(1, 120)} {rng.choice(_STREETS)}",
            "zip": zip_code,
            "city": city,
            "customer_rank": 1,
            "company_id": None,
            "active": True,
        }
        transactions.append(
            Transaction(created, created, ADMIN_UID, (Change("res.partner", pid, values, True),))
        )
        clock = created
        if rng.random() < 0.3:  # a contact detail changes
            clock += rng.randint(DAY, 60 * DAY)
            edit = rng.choice(
                (
                    {"phone": _phone(rng)},
                    {"email": f"info.{pid}@example.com"},
                    {"street": f"{rng.randint(1, 120)} {rng.choice(_STREETS)}"},
                )
            )
            transactions.append(Transaction(clock, clock, ADMIN_UID, (Change("res.partner", pid, edit),)))
        archived = None
        if rng.random() < 0.06:
            archived = clock + rng.randint(30 * DAY, 150 * DAY)
            transactions.append(
                Transaction(archived, archived, ADMIN_UID, (Change("res.partner", pid, {"active": False}),))
            )
        customers.append(Customer(pid, created, archived))
    return customers, transactions


def _products(rng: random.Random, start_ts: int, count: int) -> tuple[list[Product], list[Transaction]]:
    products, transactions = [], []
    for n, created in enumerate(_created_times(rng, start_ts, count, 0.85, 150)):
        pid = n + 1
        service = rng.random() < 0.2
        name = rng.choice(_SERVICES) if service else f"{rng.choice(_ADJECTIVES)} {rng.choice(_GOODS)}"
        code = f"{'SRV' if service else 'FURN'}_{pid:04d}"
        price = money(rng.uniform(40, 150) if service else rng.uniform(5, 900))
        taxes = (rng.choices((1, 2, 3), weights=(70, 25, 5))[0],)
        uom = HOURS if service else (DOZENS if rng.random() < 0.1 else UNITS)
        values = {
            "name": name,
            "default_code": code,
            "type": "service" if service else "consu",
            "list_price": price,
            "standard_price": money(price * rng.uniform(0.4, 0.7)),
            "uom_id": uom,
            "taxes_id": list(taxes),
            "barcode": None if service or rng.random() < 0.5 else str(rng.randint(10**12, 10**13 - 1)),
            "sale_ok": True,
            "active": True,
        }
        transactions.append(
            Transaction(created, created, ADMIN_UID, (Change("product.product", pid, values, True),))
        )
        prices, clock, archived = [(created, price)], created, None
        if rng.random() < 0.25:  # a price increase
            clock += rng.randint(5 * DAY, 90 * DAY)
            price = money(price * rng.uniform(1.03, 1.15))
            prices.append((clock, price))
            change = Change("product.product", pid, {"list_price": price})
            transactions.append(Transaction(clock, clock, ADMIN_UID, (change,)))
        if rng.random() < 0.05:
            archived = clock + rng.randint(20 * DAY, 120 * DAY)
            change = Change("product.product", pid, {"active": False})
            transactions.append(Transaction(archived, archived, ADMIN_UID, (change,)))
        products.append(Product(pid, created, archived, f"[{code}] {name}", uom, taxes, tuple(prices)))
    return products, transactions


def make_catalogue(
    rng_for: Callable[[str], random.Random], start_ts: int, partners: int, products: int
) -> Catalogue:
    customers, partner_transactions = _partners(rng_for("partners"), start_ts, max(1, partners))
    goods, product_transactions = _products(rng_for("products"), start_ts, max(1, products))
    transactions = (static_records(start_ts), *partner_transactions, *product_transactions)
    return Catalogue(tuple(customers), tuple(goods), transactions)
