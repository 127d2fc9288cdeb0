"""The transactions of the emulated Odoo, and the stamps they leave.

A `Transaction` is how Odoo stamps rows: every row it creates or writes gets `create_date`/
`write_date` = the transaction's START (`started`), while other readers see it only from its
`committed` second on. Most transactions commit within their second; a few are slow (30 s to 15 min),
which is how a row can show up with a `write_date` older than a cursor a client already passed.
`catalogue.py` and `orders.py` make them; `database.py` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DAY = 86_400
ODOOBOT_UID, ADMIN_UID = 1, 2
SALES_UIDS = (6, 7, 8)
EUR, USD, GBP = 1, 2, 3
COMPANY_ID = 1
UNITS, DOZENS, HOURS = 1, 2, 4
TAX_RATES = {1: 15.0, 2: 21.0, 3: 0.0}  # account.tax id -> percent
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(ts: int) -> str:
    """Epoch seconds as Odoo serialises a datetime: naive UTC, `2026-01-05 09:30:00`."""
    return (_EPOCH + timedelta(seconds=ts)).strftime("%Y-%m-%d %H:%M:%S")


def epoch(moment: datetime) -> int:
    """An aware datetime as whole epoch seconds (rounded down)."""
    delta = moment - _EPOCH
    return delta.days * DAY + delta.seconds


def money(value: float) -> float:
    # Odoo rounds half up (float_round), not half to even as Python's round does.
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Change:
    """One row a transaction creates (`create`), writes (`values` to set) or deletes (`values` None)."""

    model: str
    id: int
    values: dict[str, Any] | None
    create: bool = False


@dataclass(frozen=True)
class Transaction:
    started: int  # epoch seconds: the write_date/create_date of every row written
    committed: int  # epoch seconds: visible to readers from this second on
    uid: int  # create_uid/write_uid
    changes: tuple[Change, ...]
