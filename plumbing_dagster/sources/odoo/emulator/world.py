"""The Odoo world: the deterministic data behind the Odoo emulator (seed 004).

The data is a pure function of the constructor arguments and the clock. Everything that ever
happens is planned as database transactions (`catalogue.py`, `orders.py`); the world applies, in
commit order, those committed by `now` (fixed in tests, the real time in the sandbox, where the data
grows with it). Days are planned lazily, oldest first, so ids are the same whatever the clock says.

What a client must cope with, and how a test gets it:

- Orders are created every day from `start_date` (office hours, fewer at weekends) with their
  lines; later edited, sent, confirmed, delivered, invoiced or cancelled; each change re-stamps the
  rows it writes (a state change writes every line: line `state` is a stored related field).
- Late commits: about 3 % of transactions take 30 s to 15 min to commit; their rows appear late
  with the older `write_date` (`committed_late()` lists them).
- Same-second ties: a mass update rewrites the salesperson of the N newest live orders in one
  transaction, so N orders share one `write_date` second. By default every 7th day at 05:00:00 UTC
  (6 days after `start_date`, then weekly) with N = 250; `mass_updates=[(moment, n), ...]` sets
  them explicitly (`[]`: none). `mass_updates()` lists those applied.
- Archives: some finished orders, partners and products get `active = False`; searches hide them
  unless the context says `active_test: False`.
- Deletes: some cancelled orders and stale quotations are deleted with their lines, and some lines
  are removed from quotations; they are gone from every method. `deleted(model)` keeps the record.

Views for tests (all as the API serves them now, rendered like `read`): `records`, `ids`,
`written_between`, `deleted`, `mass_updates`, `committed_late`; the ORM reads the app serves:
`search`, `search_read`, `search_count`, `read`, `fields_get`, `context_get`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from plumbing_dagster.kit.emulator import World
from plumbing_dagster.sources.odoo.emulator.catalogue import Catalogue, make_catalogue
from plumbing_dagster.sources.odoo.emulator.database import CLASSIC_READ, Database
from plumbing_dagster.sources.odoo.emulator.models import ModelSpec, model_specs
from plumbing_dagster.sources.odoo.emulator.orders import OrderSummary, mass_update, plan_day
from plumbing_dagster.sources.odoo.emulator.timeline import Transaction, epoch, stamp

MASS_UPDATE_SIZE = 250
MASS_UPDATE_EVERY = 7  # days
MASS_UPDATE_AT = time(5, 0)  # UTC
WEEKEND_SHARE = 0.3  # of a weekday's orders


class OdooWorld(World):
    """A company selling furniture and services through Odoo's sales app."""

    def __init__(
        self,
        seed: int = 4,
        start_date: date = date(2026, 1, 1),
        now: datetime | None = None,
        *,
        version: int = 19,
        orders_per_day: int = 40,
        partners: int = 40,
        products: int = 25,
        mass_updates: Sequence[tuple[datetime, int]] | None = None,
    ):
        """`mass_updates`: (moment, how many orders) of each mass update; None for the weekly default."""
        super().__init__("odoo", seed, start_date, now)
        if orders_per_day < 0:
            raise ValueError("orders_per_day must be >= 0")
        self.version = version
        self.specs: Mapping[str, ModelSpec] = model_specs(version)  # raises for an unknown version
        self.orders_per_day = orders_per_day
        self._explicit_mass_updates: dict[date, list[tuple[int, int]]] | None = None
        if mass_updates is not None:
            self._explicit_mass_updates = {}
            for moment, size in mass_updates:
                if moment.tzinfo is None:
                    raise ValueError("mass update moments must be timezone-aware (UTC)")
                moment_utc = moment.astimezone(UTC)
                self._explicit_mass_updates.setdefault(moment_utc.date(), []).append(
                    (epoch(moment_utc), size)
                )
        self._catalogue: Catalogue = make_catalogue(
            self.seeded, epoch(datetime.combine(start_date, time(), UTC)), partners, products
        )
        self._lock = threading.RLock()
        self._reset()

    # -- time ----------------------------------------------------------------------------------------

    def _reset(self) -> None:
        self._db = Database(self.version, self.seed)
        self._pending: list[tuple[int, int, int, Transaction]] = []  # heap by commit, start, plan order
        self._sequence = itertools.count()
        self._line_ids = itertools.count(1)
        self._next_order_id = 1
        self._next_day = self.start_date
        self._orders: list[OrderSummary] = []
        self._mass: list[Transaction] = []
        self._horizon: int | None = None
        for transaction in self._catalogue.transactions:
            self._plan(transaction)

    def _plan(self, transaction: Transaction) -> None:
        entry = (transaction.committed, transaction.started, next(self._sequence), transaction)
        heapq.heappush(self._pending, entry)

    def _advance(self) -> Database:
        """The database as of `now` (call under the lock)."""
        now = self.now.astimezone(UTC)
        now_ts = epoch(now)
        if self._horizon is not None and now_ts < self._horizon:
            self._reset()  # the clock went back: replay from the start
        while self._next_day <= now.date():
            self._plan_day(self._next_day)
            self._next_day += timedelta(days=1)
        while self._pending and self._pending[0][0] <= now_ts:
            self._db.apply(heapq.heappop(self._pending)[3])
        self._horizon = now_ts
        return self._db

    def _plan_day(self, day: date) -> None:
        rng = self.seeded("orders", day.isoformat())
        share = WEEKEND_SHARE if day.weekday() >= 5 else 1.0
        count = round(self.orders_per_day * share * rng.uniform(0.8, 1.2))
        day_ts = epoch(datetime.combine(day, time(), UTC))
        summaries, transactions = plan_day(
            rng, day_ts, count, self._next_order_id, self._line_ids, self._catalogue, self.version
        )
        self._next_order_id += count
        self._orders.extend(summaries)
        for transaction in transactions:
            self._plan(transaction)
        for moment, size in self._mass_updates_on(day):
            update = mass_update(self.seeded("mass_update", moment), moment, size, self._orders)
            self._mass.append(update)
            self._plan(update)

    def _mass_updates_on(self, day: date) -> list[tuple[int, int]]:
        if self._explicit_mass_updates is not None:
            return self._explicit_mass_updates.get(day, [])
        if (day - self.start_date).days % MASS_UPDATE_EVERY == MASS_UPDATE_EVERY - 1:
            return [(epoch(datetime.combine(day, MASS_UPDATE_AT, UTC)), MASS_UPDATE_SIZE)]
        return []

    # -- views for tests ------------------------------------------------------------------------------

    def records(self, model: str, include_archived: bool = True) -> list[dict[str, Any]]:
        """Every record of `model` served now, by id, with all fields as `read` renders them."""
        with self._lock:
            db = self._advance()
            rows = db.search_rows(model, [], order="id", context={"active_test": not include_archived})
            return db.render(model, rows, db.field_names(model, None), CLASSIC_READ)

    def ids(self, model: str, include_archived: bool = True) -> list[int]:
        with self._lock:
            db = self._advance()
            return [
                row["id"]
                for row in db.search_rows(
                    model, [], order="id", context={"active_test": not include_archived}
                )
            ]

    def written_between(
        self, model: str, start: str, end: str, include_archived: bool = True
    ) -> list[dict[str, Any]]:
        """Records with `start <= write_date < end` (naive UTC `YYYY-MM-DD HH:MM:SS`), by
        (write_date, id): what a complete incremental read of that window must have got."""
        with self._lock:
            db = self._advance()
            domain = [["write_date", ">=", start], ["write_date", "<", end]]
            context = {"active_test": not include_archived}
            rows = db.search_rows(model, domain, order="write_date asc, id asc", context=context)
            return db.render(model, rows, db.field_names(model, None), CLASSIC_READ)

    def deleted(self, model: str) -> dict[int, str]:
        """Ids of `model` deleted by now, with when the deletion committed."""
        with self._lock:
            return dict(self._advance().deleted[model])

    def mass_updates(self) -> list[tuple[str, list[int]]]:
        """(write_date, order ids) of each mass update committed by now."""
        with self._lock:
            self._advance()
            horizon = self._horizon or 0
            return [
                (stamp(t.started), [c.id for c in t.changes]) for t in self._mass if t.committed <= horizon
            ]

    def committed_late(self, model: str) -> list[dict[str, Any]]:
        """Records whose current version was committed after the second of its `write_date`."""
        with self._lock:
            db = self._advance()
            late = []
            for id_, committed in sorted(db.committed[model].items()):
                written = db.tables[model][id_]["write_date"]
                if stamp(committed) > written:
                    late.append({"id": id_, "write_date": written, "committed_at": stamp(committed)})
            return late

    # -- the ORM reads the app serves ---------------------------------------------------------------

    def search(
        self,
        model: str,
        domain: Any,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        with self._lock:
            return [
                row["id"] for row in self._advance().search_rows(model, domain, offset, limit, order, context)
            ]

    def search_count(
        self, model: str, domain: Any, limit: Any = None, context: Mapping[str, Any] | None = None
    ) -> int:
        with self._lock:
            return self._advance().count(model, domain, limit, context)

    def search_read(
        self,
        model: str,
        domain: Any = None,
        fields: Any = None,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        context: Mapping[str, Any] | None = None,
        load: Any = CLASSIC_READ,
    ) -> list[dict[str, Any]]:
        with self._lock:
            db = self._advance()
            names = db.field_names(model, fields)
            return db.render(
                model, db.search_rows(model, domain or [], offset, limit, order, context), names, load
            )

    def read(
        self, model: str, ids: Any, fields: Any = None, load: Any = CLASSIC_READ
    ) -> list[dict[str, Any]]:
        with self._lock:
            db = self._advance()
            names = db.field_names(model, fields)
            return db.render(model, db.read_rows(model, ids), names, load)

    def fields_get(
        self, model: str, allfields: Any = None, attributes: Any = None
    ) -> dict[str, dict[str, Any]]:
        """`fields_get`: every field (or those in `allfields`), with every attribute (or those asked)."""
        described = {}
        for name, field in self.specs[model].fields.items():
            if allfields and name not in allfields:
                continue
            description = field.describe()
            if attributes:
                description = {key: value for key, value in description.items() if key in attributes}
            described[name] = description
        return described

    def context_get(self, uid: int) -> dict[str, Any]:
        """`res.users.context_get`: the user's language, time zone and id."""
        return {"lang": "en_US", "tz": "Europe/Brussels", "uid": uid}
