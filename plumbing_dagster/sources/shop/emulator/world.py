"""The shop world: deterministic users, products and orders over time (seed 001's order API).

The data is a pure function of the constructor arguments and the clock, so tests can ask the world
what the API must have served (`orders_updated_between`, `users`, `products`) and compare it with
what the client got.

It must serve 200,000 orders a day for benchmarks, hence the shape of the code: one day's orders are
generated in one pass straight into their JSON text (a dict per order would cost ~1 KB each and a
`json.dumps` per page), per-day lists are cached (bounded), and a page is answered by bisecting
integer sort keys and joining pre-rendered JSON.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, timedelta
from typing import Any

from plumbing_dagster.kit.emulator import World

logger = logging.getLogger(__name__)

ORDERS_PAGE_MAX = 1000
USER_COUNT = 200
PRODUCT_COUNT = 80
# Users created before start_date (so the first orders have customers); the rest join over a year.
USERS_BEFORE_START = 120
USER_GROWTH_DAYS = 365

DAY = 86_400
MAX_UPDATE_DELAY = 2 * DAY  # orders updated on day D were created on D-2..D
ORDER_IDS_PER_DAY = 10_000_000
MAX_ORDERS_PER_DAY = 9_000_000  # the daily count varies by ±10%; ids must stay within the day
# Sort key of an order: updated_at (epoch seconds) then id, packed into one int for cheap bisects.
KEY_SPACE = 10**13

_EPOCH = date(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)

_FIRST_NAMES = tuple(
    "Anna Ben Chloe David Emma Felix Greta Hugo Ines Jonas Klara Luca Mia Noah Olivia Paul Rosa Sofia "
    "Tom Zoe".split()
)
_LAST_NAMES = tuple(
    "Bakker Costa Dubois Fischer Garcia Hansen Jansen Kowalski Lambert Meyer Novak Olsen Peeters Rossi "
    "Schmidt Silva Visser Weber".split()
)
_COUNTRIES = ("DE", "NL", "FR", "BE", "AT", "ES", "IT", "PL", "SE", "DK", "IE", "PT")
_CATEGORIES = ("kitchen", "garden", "office", "toys", "sports", "books", "electronics", "beauty")
_ADJECTIVES = tuple("Classic Compact Deluxe Eco Handy Mini Pro Smart Sturdy Ultra".split())
_NOUNS = tuple("Bottle Lamp Notebook Backpack Kettle Speaker Planter Puzzle Towel Mug Charger Brush".split())


@functools.cache
def _times_of_day() -> tuple[str, ...]:
    # Rendering 200k timestamps a day with strftime is measurable; 86,400 suffixes are not.
    # Joined from two-digit parts: formatting each second costs ~0.1 s at every process start.
    two = [f"{n:02d}" for n in range(60)]
    hours_minutes = [f"{h}:{m}:" for h in two[:24] for m in two]
    seconds = [f"{s}Z" for s in two]
    return tuple([hm + s for hm in hours_minutes for s in seconds])


@functools.lru_cache(maxsize=4096)
def _day_prefix(epoch_day: int) -> str:
    return (_EPOCH + timedelta(days=epoch_day)).isoformat() + "T"


def iso(ts: int) -> str:
    """Epoch seconds as the API renders them: `2026-11-01T08:15:30Z`."""
    return _day_prefix(ts // DAY) + _times_of_day()[ts % DAY]


def floor_seconds(moment: datetime) -> int:
    # Integer arithmetic: float timestamps would blur the microsecond at a window bound.
    delta = moment - _EPOCH_UTC
    return delta.days * DAY + delta.seconds


def ceil_seconds(moment: datetime) -> int:
    # Records carry whole seconds, so `ts >= moment` is `ts >= ceil(moment)`, likewise for `<`.
    delta = moment - _EPOCH_UTC
    return delta.days * DAY + delta.seconds + (1 if delta.microseconds else 0)


class _DayIndex:
    """Orders updated on one day, sorted by (updated_at, id): sort keys and rendered JSON."""

    __slots__ = ("keys", "docs")

    def __init__(self, entries: list[tuple[int, str]]):
        entries.sort()
        self.keys = [key for key, _ in entries]
        self.docs = [doc for _, doc in entries]


class ShopWorld(World):
    """Users sign up, products are listed, orders are placed and updated for up to two days."""

    def __init__(
        self,
        seed: int = 7,
        start_date: date = date(2026, 1, 1),
        orders_per_day: int = 2500,
        now: datetime | None = None,
    ):
        super().__init__("shop", seed, start_date, now)
        if not 0 <= orders_per_day <= MAX_ORDERS_PER_DAY:
            raise ValueError(f"orders_per_day must be between 0 and {MAX_ORDERS_PER_DAY}")
        self.orders_per_day = orders_per_day
        self._start_day = (start_date - _EPOCH).days
        # (record, created_at, updated_at) in signup order; timestamps as epoch seconds.
        self._users = self._make_users()
        self._user_created = [created for _, created, _ in self._users]
        self._products, self._product_price_cents, self._line_item_json = self._make_products()
        # Bounded caches: a scan over many days keeps a few days in memory, not all (at 200k
        # orders a day, one day of rendered JSON is ~100 MB).
        self._lock = threading.Lock()
        self._created_day = functools.lru_cache(maxsize=4)(self._generate_created_day)
        self._updated_day = functools.lru_cache(maxsize=2)(self._index_updated_day)

    def _now_ts(self) -> int:
        return floor_seconds(self.now)

    # -- users and products -------------------------------------------------------------------

    def _make_users(self) -> list[tuple[dict[str, Any], int, int]]:
        rng = self.seeded("users")
        start = self._start_day * DAY
        created = sorted(
            [start - int(rng.random() * 90 * DAY) - 1 for _ in range(USERS_BEFORE_START)]
            + [
                start + int(rng.random() * USER_GROWTH_DAYS * DAY)
                for _ in range(USER_COUNT - USERS_BEFORE_START)
            ]
        )
        users = []
        for user_id, created_ts in enumerate(created, start=1):  # ids follow signup order
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            updated_ts = created_ts
            if rng.random() >= 0.5:  # half of the users changed something after signing up
                updated_ts += int(rng.random() * 60 * DAY)
            record = {
                "id": user_id,
                "name": f"{first} {last}",
                "email": f"{first}.{last}.{user_id}@example.com".lower(),
                "country": rng.choice(_COUNTRIES),
                "created_at": iso(created_ts),
                "updated_at": iso(updated_ts),
            }
            users.append((record, created_ts, updated_ts))
        return users

    def _make_products(self) -> tuple[list[tuple[dict[str, Any], int]], list[int], list[list[str]]]:
        rng = self.seeded("products")
        start = self._start_day * DAY
        products, prices, line_items = [], [], []
        for number in range(1, PRODUCT_COUNT + 1):
            sku = f"SKU-{number:05d}"
            cents = (199 + int(rng.random() * 19_800)) // 100 * 100 + 99  # shop prices end in .99
            updated_ts = start - 1 - int(rng.random() * 180 * DAY)
            record = {
                "sku": sku,
                "name": f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}",
                "category": rng.choice(_CATEGORIES),
                "price": cents / 100,
                "updated_at": iso(updated_ts),
            }
            products.append((record, updated_ts))
            prices.append(cents)
            # Line items are rendered once per (product, quantity); orders only pick them.
            line_items.append(
                [
                    f'{{"sku":"{sku}","quantity":{quantity},"unit_price":{cents / 100!r}}}'
                    for quantity in range(1, 6)
                ]
            )
        return products, prices, line_items

    def users(self) -> list[dict[str, Any]]:
        """Every user the API serves now: signed up by `now`, as last updated by `now`."""
        now_ts = self._now_ts()
        served = []
        for record, created_ts, updated_ts in self._users:
            if created_ts > now_ts:
                break
            if updated_ts > now_ts:  # the update has not happened yet
                served.append({**record, "updated_at": record["created_at"]})
            else:
                served.append(dict(record))
        return served

    def products(self) -> list[dict[str, Any]]:
        """Every product the API serves now."""
        now_ts = self._now_ts()
        return [dict(record) for record, updated_ts in self._products if updated_ts <= now_ts]

    # -- orders -------------------------------------------------------------------------------

    def _generate_created_day(self, epoch_day: int) -> tuple[list[tuple[int, str]], ...]:
        """Orders created on `epoch_day`, bucketed by how many days later they were last updated."""
        buckets: tuple[list[tuple[int, str]], ...] = ([], [], [])
        day_index = epoch_day - self._start_day
        if day_index < 0:
            return buckets
        rng = self.seeded("orders", epoch_day)
        rand = rng.random
        count = round(self.orders_per_day * (0.9 + 0.2 * rand()))
        base = epoch_day * DAY
        seconds = sorted(int(rand() * DAY) for _ in range(count))
        user_created = self._user_created
        prices = self._product_price_cents
        rendered = self._line_item_json
        product_count = len(prices)
        # An order is updated on its creation day or up to two days later: three date prefixes.
        prefixes = [_day_prefix(epoch_day + offset) for offset in range(3)]
        times = _times_of_day()
        id_base = day_index * ORDER_IDS_PER_DAY
        for n, second in enumerate(seconds, start=1):
            order_id = id_base + n
            created = base + second
            r = rand()
            if r < 0.4:  # never touched after checkout
                delay = 0
                status = "pending" if r < 0.06 else "paid"
            else:
                delay = 1 + int(rand() * MAX_UPDATE_DELAY)
                status = (
                    "paid" if r < 0.55 else "shipped" if r < 0.85 else "cancelled" if r < 0.95 else "refunded"
                )
            updated = created + delay
            offset = updated // DAY - epoch_day
            # Only customers who had signed up when the order was placed.
            user_id = int(rand() * bisect_right(user_created, created)) + 1
            u = rand()
            item_count = 1 if u < 0.45 else 2 if u < 0.75 else 3 if u < 0.9 else 4
            chosen: list[int] = []
            while len(chosen) < item_count:
                product = int(rand() * product_count)
                if product not in chosen:
                    chosen.append(product)
            total_cents = 0
            items = []
            for product in chosen:
                quantity = 1 + int(rand() ** 2 * 5)
                total_cents += quantity * prices[product]
                items.append(rendered[product][quantity - 1])
            doc = (
                f'{{"id":{order_id},"user_id":{user_id},"status":"{status}","currency":"EUR",'
                f'"total_amount":{total_cents / 100!r},"created_at":"{prefixes[0]}{times[second]}",'
                f'"updated_at":"{prefixes[offset]}{times[updated % DAY]}",'
                f'"line_items":[{",".join(items)}]}}'
            )
            buckets[offset].append((updated * KEY_SPACE + order_id, doc))
        logger.debug("shop emulator: %d orders created on %s", count, _day_prefix(epoch_day)[:-1])
        return buckets

    def _index_updated_day(self, epoch_day: int) -> _DayIndex:
        entries: list[tuple[int, str]] = []
        # Oldest day first, so that in a scan day by day the LRU evicts the day no longer needed.
        for offset in reversed(range(MAX_UPDATE_DELAY // DAY + 1)):
            entries.extend(self._created_day(epoch_day - offset)[offset])
        return _DayIndex(entries)

    def orders_page(self, low: int, high: int, limit: int) -> tuple[list[str], int | None]:
        """Up to `limit` orders with sort key in [low, high), and the last key if more remain."""
        docs: list[str] = []
        keys: list[int] = []
        if low >= high:
            return docs, None
        day = max(low // KEY_SPACE // DAY, self._start_day)
        last_day = (high - 1) // KEY_SPACE // DAY
        wanted = limit + 1  # one extra tells whether another page exists
        with self._lock:  # generating a day is the expensive part; do it once, not per thread
            while day <= last_day and len(docs) < wanted:
                index = self._updated_day(day)
                i = bisect_left(index.keys, low)
                j = min(bisect_left(index.keys, high), i + wanted - len(docs))
                docs.extend(index.docs[i:j])
                keys.extend(index.keys[i:j])
                day += 1
        if len(docs) > limit:
            return docs[:limit], keys[limit - 1]
        return docs, None

    def order_key_bounds(self, start: datetime | None, end: datetime | None) -> tuple[int, int]:
        first = max(ceil_seconds(start), 0) if start else self._start_day * DAY
        low = first * KEY_SPACE
        high = (self._now_ts() + 1) * KEY_SPACE  # nothing updated after `now` exists yet
        if end is not None:
            high = min(high, max(ceil_seconds(end), 0) * KEY_SPACE)
        return low, high

    def orders_updated_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Exactly the orders the API serves for `updated_from=start&updated_to=end`, in order."""
        low, high = self.order_key_bounds(start, end)
        docs: list[str] = []
        while True:
            page, last_key = self.orders_page(low, high, ORDERS_PAGE_MAX)
            docs.extend(page)
            if last_key is None:
                return json.loads("[" + ",".join(docs) + "]")
            low = last_key + 1
