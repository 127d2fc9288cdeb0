"""The comdirect world's records and how one day of them is made: accounts, counterparties and the
transactions a customer sees (card payments, salary, rent, direct debits, transfers between own
accounts, interest and account closing).

Shapes follow recorded live responses (quoted in public client code) where they differ from the
Swagger document: counterparties in `remitter` (payee of a direct debit or card payment, payer of
a credit), `creditor` for a transfer the customer sent; remittance text in 35-character lines;
value dates by the bank's 30/360 convention, hence impossible ones (`2026-02-30`, `2026-03-32`).
"""

from __future__ import annotations

import calendar
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")  # the bank's calendar: booking dates are Berlin days
COMDIRECT_BIC = "COBADEHD001"
LINE_WIDTH = 35  # remittance text lines, as SEPA and the API cut them
MAX_BOOKING_LAG = 3  # days between a card payment and its booking, at most
CENT = Decimal("0.01")
MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
TRANSACTION_TYPES = {  # keys and (English) texts as observed on a live Girokonto
    "TRANSFER": "Transfer",
    "DIRECT_DEBIT": "Direct Debit",
    "CARD_TRANSACTION": "Card transaction",
    "BANK_FEES": "Bank fees",
    "MISCELLANEOUS": "Miscellaneous",
}


@dataclass(frozen=True)
class Party:
    """A counterparty as the API names it (`AccountInformation`); iban/bic only when known."""

    holder_name: str
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True)
class Account:
    account_id: str  # 32 upper-case hex digits, the API's key
    display_id: str  # the account number shown to the customer
    type_key: str  # CA, DAS, SA, ...
    type_text: str
    iban: str
    credit_limit: Decimal
    opening_balance: Decimal  # at the start of the world's first day
    currency: str = "EUR"


@dataclass(frozen=True)
class Txn:
    """One account transaction. It is visible as NOTBOOKED from `created_at` and BOOKED (on
    `booking_date`) from `booked_at`; its booked `reference` is stable, the pre-booking carries
    a provisional one (`pending_reference`), as a key must only be taken from booked rows."""

    account_id: str
    reference: str
    pending_reference: str
    created_at: datetime
    booked_at: datetime
    booking_date: date
    valuta: str  # YYYY-MM-DD, possibly impossible
    amount: Decimal
    type_key: str
    text_lines: tuple[str, ...]  # the free remittance text, before SEPA labels
    remitter: Party | None = None
    deptor: Party | None = None
    creditor: Party | None = None
    end_to_end: str | None = None
    creditor_id: str | None = None
    mandate_id: str | None = None
    order: int = 0  # position among the day's records, for a stable listing order


def iban(bank_code: str, account_number: str) -> str:
    """A German IBAN with correct ISO 7064 check digits (clients may validate them)."""
    bban = bank_code + account_number.zfill(10)
    digits = "".join(str(int(ch, 36)) for ch in bban + "DE00")
    return f"DE{98 - int(digits) % 97:02d}{bban}"


def hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032X}"


def booked_reference(rng: random.Random) -> str:
    """Like live references, e.g. `HK22027481547018/4441`."""
    head = "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    return f"{head}/{rng.randint(1, 99999)}"


def wrap(line: str) -> list[str]:
    """A text cut into 35-character pieces, mid-word as the bank does."""
    return [line[i : i + LINE_WIDTH] for i in range(0, len(line), LINE_WIDTH)] or [""]


def remittance_info(txn: Txn, booked: bool) -> str:
    """One flat string of fixed-width lines, as the live API sends it (no newlines): booked lines
    are numbered (`01`..) and carry the SEPA labels; pre-bookings carry bare text lines."""
    lines = list(txn.text_lines)
    if booked and txn.end_to_end:
        lines += ["End-to-End-Ref.:", txn.end_to_end]
    if booked and txn.mandate_id and txn.creditor_id:
        lines += ["CORE / Mandatsref.:", txn.mandate_id, "Gläubiger-ID:", txn.creditor_id]
    pieces = [piece.ljust(LINE_WIDTH) for line in lines for piece in wrap(line)]
    if booked:
        return "".join(f"{n:02d}{piece}" for n, piece in enumerate(pieces, start=1))
    return "".join(pieces)


def money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(rng.uniform(low, high))).quantize(CENT)


def berlin(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), BERLIN)


def month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


# -- counterparties --------------------------------------------------------------------------------

MERCHANTS = (
    ("REWE MARKT GMBH", "HAMBURG"),
    ("EDEKA NEUKAUF", "QUICKBORN"),
    ("ALDI NORD", "NORDERSTEDT"),
    ("ARAL STATION 2241", "HAMBURG"),
    ("DM DROGERIE MARKT", "HAMBURG"),
    ("BACKSTUBE WÜNSCHE", "QUICKBORN"),
    ("AMZN Mktp DE*NI22A6FP4, AMZN.COM BILL", "LU"),
    ("IKEA DEUTSCHLAND GMBH & CO. KG NIEDERLASSUNG", "SCHNELSEN"),
    ("HVV AUTOMAT 0142", "HAMBURG"),
    ("RESTAURANT ZUR MÜHLE", "ELLERAU"),
)


@dataclass(frozen=True)
class Mandate:
    """A direct debit the customer signed: who collects, when and how much (roughly)."""

    name: str
    creditor_id: str
    mandate_id: str
    text: str
    day: int
    amount: Decimal
    months: tuple[int, ...] = tuple(range(1, 13))
    varies: bool = False


MANDATES = (
    Mandate(
        "Stadtwerke Quickborn GmbH",
        "DE87ZZZ00000123456",
        "SWQ-0041-2231",
        "Abschlag Strom",
        5,
        Decimal("-82.00"),
        varies=True,
    ),
    Mandate(
        "Telekom Deutschland GmbH",
        "DE82ZZZ00000005645",
        "TD-9911043377",
        "Festnetz/Internet",
        12,
        Decimal("-39.95"),
    ),
    Mandate("ARAG SE", "DE35ZZZ00000034259", "DEM00002247882", "Rechtsschutz Beitrag", 1, Decimal("-28.33")),
    Mandate(
        "FitX Deutschland GmbH",
        "DE11ZZZ00000884422",
        "FITX-MB-771203",
        "Mitgliedsbeitrag",
        15,
        Decimal("-24.90"),
    ),
    Mandate(
        "Rundfunk ARD, ZDF, DRadio",
        "DE3000100000001272",
        "4107895561301",
        "Rundfunk Beitragsnr. 410789556",
        15,
        Decimal("-55.08"),
        months=(1, 4, 7, 10),
    ),
)
EMPLOYER = Party("ASD PERSONALINFORMATIONS- SYSTEME GMBH", iban("20050550", "1234567890"), "HASPDEHHXXX")
LANDLORD = Party("Hausverwaltung Krüger & Söhne GbR", iban("20030000", "0045119922"), "HYVEDEMM300")


# -- a day of records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """The customer's three accounts, by role (the day's plan addresses them so)."""

    holder: str
    giro: Account
    savings: Account
    settlement: Account


def make_day(book: Book, day: date, seeded: Callable[..., random.Random]) -> list[Txn]:
    """Every transaction initiated on `day` (booked that day, or up to three days later for card
    payments). Pure: the same day always gives the same records."""
    rng = seeded("day", day.isoformat())
    made: list[Txn] = []

    def add(
        account: Account,
        amount: Decimal,
        type_key: str,
        lines: list[str],
        *,
        booking_date: date | None = None,
        created_at: datetime | None = None,
        valuta: str | None = None,
        remitter: Party | None = None,
        deptor: Party | None = None,
        creditor: Party | None = None,
        end_to_end: str | None = None,
        creditor_id: str | None = None,
        mandate_id: str | None = None,
    ) -> None:
        booking_date = booking_date or day
        booked_at = berlin(booking_date, 6, rng.randint(0, 59))
        # Transfers and debits show up as pre-bookings the evening before they are booked.
        shown_at = created_at or booked_at - timedelta(hours=10, minutes=rng.randint(0, 59))
        made.append(
            Txn(
                account_id=account.account_id,
                reference=booked_reference(rng),
                pending_reference=f"{rng.randint(10**9, 10**10 - 1)}",
                created_at=shown_at,
                booked_at=booked_at,
                booking_date=booking_date,
                valuta=valuta or day.isoformat(),
                amount=amount,
                type_key=type_key,
                text_lines=tuple(lines),
                remitter=remitter,
                deptor=deptor,
                creditor=creditor,
                end_to_end=end_to_end,
                creditor_id=creditor_id,
                mandate_id=mandate_id,
                order=len(made),
            )
        )

    giro, savings, settlement = book.giro, book.savings, book.settlement
    own = Party(book.holder)
    month = f"{MONTHS[day.month - 1]} {day.year}"

    for _ in range(rng.choices((0, 1, 2, 3), weights=(15, 30, 30, 25))[0]):
        name, city = rng.choice(MERCHANTS)
        paid_at = berlin(day, rng.randint(8, 21), rng.randint(0, 59), rng.randint(0, 59))
        booking_date = day + timedelta(days=rng.randint(1, MAX_BOOKING_LAG))
        add(
            giro,
            -money(rng, 2.5, 48.0),
            "CARD_TRANSACTION",
            [
                f"{name}//{city}/DE",
                "Karte Nr. 4871 78XX XXXX 3636",
                "Kartenzahlung",
                "comdirect Visa-Debitkarte",
                f"{day.isoformat()} 00:00:00",
            ],
            booking_date=booking_date,
            created_at=paid_at + timedelta(minutes=rng.randint(1, 20)),
            remitter=Party(name),
        )
    for mandate in MANDATES:
        if day.day == mandate.day and day.month in mandate.months:
            amount = mandate.amount - (money(rng, 0, 15) if mandate.varies else 0)
            add(
                giro,
                amount,
                "DIRECT_DEBIT",
                [f"{mandate.text} {month}"],
                remitter=Party(mandate.name),
                end_to_end=f"{mandate.mandate_id}-{day:%Y%m%d}",
                creditor_id=mandate.creditor_id,
                mandate_id=mandate.mandate_id,
            )
    if day.day == 1:
        add(giro, Decimal("-1150.00"), "TRANSFER", [f"Miete {month} Whg. 3.OG links"], creditor=LANDLORD)
    if day.day == 2:
        _own_transfer(add, giro, savings, own, Decimal("300.00"), f"Sparen {month}")
    if day.day == 20:
        _own_transfer(add, giro, settlement, own, Decimal("250.00"), f"Sparplan {month}")
    if day.day == 21:
        add(
            settlement,
            Decimal("-250.00"),
            "MISCELLANEOUS",
            ["WP-Abrechnung Sparplan", "ISIN IE00B4L5Y983 MSCI World"],
        )
    if day.day == 15 and day.month in (3, 6, 9, 12):
        add(settlement, money(rng, 8, 40), "MISCELLANEOUS", ["Ertragsgutschrift", "ISIN IE00B4L5Y983"])
    if month_end(day):
        add(
            giro,
            money(rng, 3150, 3450),
            "TRANSFER",
            [f"Gehalt {month}"],
            remitter=Party(EMPLOYER.holder_name),
            deptor=EMPLOYER,
            end_to_end="nicht angegeben",
        )
        # 30/360 convention: interest is valued on day 30 of every month, in February too.
        add(
            savings,
            money(rng, 4, 16),
            "MISCELLANEOUS",
            ["Zinsen", f"Zeitraum {day:%m/%Y}"],
            valuta=f"{day.year}-{day.month:02d}-30",
        )
        if day.month % 3 == 0:
            # The quarter's closing is valued on the day after the quarter's last (e.g. 2026-03-32).
            first = date(day.year, day.month - 2, 1)
            add(
                giro,
                Decimal("-4.90"),
                "BANK_FEES",
                ["Rechnungsabschluss", f"Zeitraum: {first:%d.%m.%Y}", f"bis {day:%d.%m.%Y}"],
                valuta=f"{day.year}-{day.month:02d}-{day.day + 1}",
            )
    return made


def _own_transfer(
    add: Callable[..., None], source: Account, target: Account, own: Party, amount: Decimal, text: str
) -> None:
    """Both sides of a transfer between the customer's own accounts, booked the same day."""
    add(source, -amount, "TRANSFER", [text], creditor=Party(own.holder_name, target.iban, COMDIRECT_BIC))
    add(
        target,
        amount,
        "TRANSFER",
        [text],
        remitter=Party(own.holder_name),
        deptor=Party(own.holder_name, source.iban, COMDIRECT_BIC),
    )
