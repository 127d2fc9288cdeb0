"""The Jortt world: the deterministic data behind the Jortt emulator (seed 000).

The data is a pure function of the constructor arguments and the clock: invoices every day from
`start_date`, customers and projects created over time, time registrations on working days. Tests
ask the world what the API must have served (`invoices_created_between`, `customers`, `projects`,
`line_items`, `organization`) and compare. Generation uses `World.seeded` generators (seeded from
SHA-256 digests, as Python's `hash` is salted per process) and is cached per day (`DayCache`); a
day's data never changes, only what the clock lets through.

Where Jortt's document and the recorded responses disagree, the emulator follows the responses:
amounts are decimal strings (`{"value": "10.10", "currency": "EUR"}`), unset fields are `null`,
and a line item's `date` is a calendar date (`2026-01-05`; the document's date-time example is the
one pasted on every timestamp, and the filters on it are dates).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

from plumbing_dagster.kit.emulator import DayCache, World
from plumbing_dagster.sources.jortt.emulator.billing import Invoice, LineItem, make_invoice, make_line_item
from plumbing_dagster.sources.jortt.emulator.records import (
    AMSTERDAM,
    Customer,
    Project,
    customer_record,
    days_between,
    iso_millis,
    make_organization,
    make_project,
    money,
    new_uuid,
    utc_midnight,
)

CUSTOMER_GROWTH_DAYS = 120  # customers beyond the first third join over this many days
PROJECT_GROWTH_DAYS = 150  # projects beyond the first half start over this many days
LINE_ITEM_IDS_PER_DAY = 10_000  # line_item_id = day number * this + sequence within the day


class JorttWorld(World):
    """A Jortt administration: organization, users, customers, projects, invoices, line items."""

    def __init__(
        self,
        seed: int = 11,
        start_date: date = date(2026, 1, 1),
        now: datetime | None = None,
        invoices_per_day: int = 30,
        customers: int = 60,
        projects: int = 25,
    ):
        super().__init__("jortt", seed, start_date, now)
        if customers < 1 or projects < 1 or invoices_per_day < 0:
            raise ValueError("need a customer and a project at least, and invoices_per_day >= 0")
        self.invoices_per_day = invoices_per_day
        self._organization, self._users = make_organization(self.seeded("organization"), start_date)
        self._customers = self._make_customers(customers)
        self._projects = self._make_projects(projects)
        self._project_by_id = {p.aggregate_id: p for p in self._projects}
        ledger_rng = self.seeded("ledger_accounts")
        self._ledger_accounts = [new_uuid(ledger_rng) for _ in range(3)]
        self._invoice_days = DayCache(self._generate_invoices)
        self._line_item_days = DayCache(self._generate_line_items)
        self._month_numbers = DayCache(self._number_month)  # by the month's first day

    # -- public views for tests: what the API serves now ------------------------------------------

    def customers(self) -> list[dict[str, Any]]:
        """The customers the API lists now, in its order (by `customer_name`)."""
        return copy.deepcopy(self.listed_customers())

    def invoices_created_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Invoices with `start <= created_at < end` (aware datetimes), oldest first."""
        now = self.now
        found = [
            invoice
            for day in days_between(start.astimezone(UTC).date(), end.astimezone(UTC).date())
            for invoice in self._invoices_of_day(day)
            if start <= invoice.created_at < end and invoice.created_at <= now
        ]
        return copy.deepcopy([self.render_invoice(invoice, now) for invoice in found])

    def projects(self) -> list[dict[str, Any]]:
        """The projects the API lists now, in its order (by creation)."""
        now = self.now
        return copy.deepcopy([self.render_project(p, now) for p in self.listed_projects(now)])

    def line_items(
        self, project_id: str, start_date: date | None = None, end_date: date | None = None
    ) -> list[dict[str, Any]]:
        """A project's line items with `start_date <= date < end_date`, as the API lists them."""
        now = self.now
        items = self.listed_line_items(project_id, start_date, end_date, None, now)
        return copy.deepcopy([self.render_line_item(item, now) for item in items])

    def organization(self) -> dict[str, Any]:
        return copy.deepcopy(self._organization)

    # -- what the API lists (records shared, not copied: render, never change them) ---------------

    def listed_customers(self, query: str | None = None) -> list[dict[str, Any]]:
        """Customers created by now, by name; `query` (lower case) searches name and e-mail."""
        now = self.now
        records = [c.record for c in self._customers if c.created_at <= now]
        listed = sorted(records, key=lambda r: (r["customer_name"].lower(), r["id"]))
        if not query:
            return listed
        return [
            r for r in listed if any(query in (r.get(f) or "").lower() for f in ("customer_name", "email"))
        ]

    def listed_invoices(self, now: datetime, status: str | None, query: str | None) -> list[Invoice]:
        """Invoices created by `now`, newest first (as Jortt lists them), filtered as the API does."""
        today = now.astimezone(AMSTERDAM).date()
        return [
            invoice
            for day in reversed(self._data_days(now))
            for invoice in reversed(self._invoices_of_day(day))
            if invoice.created_at <= now
            and (status is None or invoice.has_status(status, today))
            and (not query or invoice.matches(self._invoice_number(invoice), query))
        ]

    def listed_projects(self, now: datetime) -> list[Project]:
        return [p for p in self._projects if p.created_at <= now]

    def project(self, project_id: str, now: datetime) -> Project | None:
        """The project, if it exists by `now`."""
        project = self._project_by_id.get(project_id)
        return project if project is not None and project.created_at <= now else None

    def listed_line_items(
        self, project_id: str, start: date | None, end: date | None, status: str | None, now: datetime
    ) -> list[LineItem]:
        """A project's line items with `start <= date < end` created by `now`, oldest first."""
        days = [d for d in self._data_days(now) if (start is None or d >= start) and (end is None or d < end)]
        return [
            item
            for day in days
            for item in self._line_items_of_day(day).get(project_id, ())
            if item.created_at <= now and (status is None or item.record["status"] == status)
        ]

    # -- rendering: the fields that change with the clock ------------------------------------------

    def render_invoice(self, invoice: Invoice, now: datetime) -> dict[str, Any]:
        paid = invoice.paid_on is not None and invoice.paid_on <= now.astimezone(AMSTERDAM).date()
        due = Decimal(0) if paid or not invoice.sent else invoice.total_incl_vat
        return {
            **invoice.record,
            "invoice_number": self._invoice_number(invoice),
            "invoice_due_amount": money(due),
        }

    def render_project(self, project: Project, now: datetime) -> dict[str, Any]:
        archived = project.archive_at is not None and project.archive_at <= now
        changes = [m for m in (*project.edits, project.archive_at) if m is not None and m <= now]
        this_month = now.astimezone(AMSTERDAM).date().replace(day=1)
        total_minutes = month_minutes = 0
        total_value = Decimal(0)
        for day in self._data_days(now):
            for item in self._line_items_of_day(day).get(project.aggregate_id, ()):
                if item.created_at <= now:
                    total_minutes += item.minutes
                    month_minutes += item.minutes if day >= this_month else 0
                    total_value += item.total
        r = project.record
        return {  # in the order of Jortt's document
            "organization_id": r["organization_id"],
            "aggregate_id": r["aggregate_id"],
            "name": r["name"],
            "reference": r["reference"],
            "customer_id": r["customer_id"],
            "description": r["description"],
            "created_at": iso_millis(project.created_at),
            "updated_at": iso_millis(max(changes, default=project.created_at)),
            "archived": archived,
            "is_internal": r["is_internal"],
            "customer_record": r["customer_record"],
            "default_registration_description": r["default_registration_description"],
            "default_hourly_rate": r["default_hourly_rate"],
            "minutes_this_month": month_minutes,
            "total_minutes": total_minutes,
            "total_value": money(total_value),
        }

    def render_line_item(self, item: LineItem, now: datetime) -> dict[str, Any]:
        updated = item.updated_at if item.updated_at <= now else item.created_at
        return {**item.record, "updated_at": iso_millis(updated)}

    # -- generation ---------------------------------------------------------------------------------

    def _data_days(self, now: datetime) -> list[date]:
        return self.days_until(now.astimezone(AMSTERDAM).date())

    def _make_customers(self, count: int) -> list[Customer]:
        rng = self.seeded("customers")
        start = utc_midnight(self.start_date)
        before_start = max(1, count // 3)  # the first invoices need customers
        customers = []
        for number in range(count):
            if number < before_start:
                created = start - timedelta(seconds=rng.randrange(1, 90 * 86_400))
            else:
                created = start + timedelta(seconds=rng.randrange(CUSTOMER_GROWTH_DAYS * 86_400))
            customers.append(Customer(customer_record(rng), created))
        return sorted(customers, key=lambda c: c.created_at)

    def _customers_at(self, moment: datetime) -> list[Customer]:
        return [c for c in self._customers if c.created_at <= moment and not c.record["archived"]]

    def _make_projects(self, count: int) -> list[Project]:
        rng = self.seeded("projects")
        start = utc_midnight(self.start_date)
        before_start = max(1, count // 2)  # enough for two pages of 10 from the first day
        projects = []
        for index in range(count):
            if index < before_start:
                created = start - timedelta(seconds=rng.randrange(1, 60 * 86_400))
            else:
                created = start + timedelta(seconds=rng.randrange(PROJECT_GROWTH_DAYS * 86_400))
            candidates = self._customers_at(created) or self._customers
            projects.append(make_project(rng, index, created, candidates, self._organization["id"]))
        return sorted(projects, key=lambda p: (p.created_at, p.aggregate_id))

    def _invoices_of_day(self, day: date) -> list[Invoice]:
        """Invoices created on the UTC day `day`, oldest first."""
        return self._invoice_days(day) if day >= self.start_date else []

    def _generate_invoices(self, day: date) -> list[Invoice]:
        rng = self.seeded("invoices", day.isoformat())
        weekend = day.weekday() >= 5
        share = rng.uniform(0.1, 0.3) if weekend else rng.uniform(0.8, 1.2)
        count = round(self.invoices_per_day * share)
        # Office hours, 06:00-22:00 local time, stay within the UTC day.
        seconds = sorted(rng.randrange(5 * 3600, 21 * 3600) for _ in range(count))
        invoices = []
        for s in seconds:
            created = utc_midnight(day) + timedelta(seconds=s)
            invoices.append(make_invoice(rng, created, self._customers_at(created), self._ledger_accounts))
        return invoices

    def _invoice_number(self, invoice: Invoice) -> str | None:
        """`YYYYMM-NNN`, counting the sent invoices of the month; drafts have none yet."""
        if not invoice.sent:
            return None
        return self._month_numbers(invoice.created_at.date().replace(day=1))[invoice.record["id"]]

    def _number_month(self, first_of_month: date) -> dict[str, str]:
        """Invoice numbers of a month's sent invoices. Later invoices never change the numbers of
        earlier ones, so the whole month can be numbered whatever the clock says."""
        year, month = first_of_month.year, first_of_month.month
        next_month = (first_of_month.replace(day=28) + timedelta(days=4)).replace(day=1)
        days = days_between(max(first_of_month, self.start_date), next_month - timedelta(days=1))
        sent = [inv for d in days for inv in self._invoices_of_day(d) if inv.sent]
        return {inv.record["id"]: f"{year:04d}{month:02d}-{number:03d}" for number, inv in enumerate(sent, 1)}

    def _line_items_of_day(self, day: date) -> dict[str, list[LineItem]]:
        """Line items dated `day` by project id, oldest first."""
        return self._line_item_days(day) if day >= self.start_date else {}

    def _generate_line_items(self, day: date) -> dict[str, list[LineItem]]:
        if day.weekday() >= 5:
            return {}
        rng = self.seeded("line_items", day.isoformat())
        drafts: list[tuple[datetime, Project, bool]] = []
        for project in self._projects:
            if not project.active_on(day):
                continue
            registrations = rng.choice((0, 0, 1, 1, 2, 3))
            has_cost = rng.random() < 0.1 and not project.record["is_internal"]
            for is_cost in [False] * registrations + [True] * has_cost:
                # Registered during the working day, local time.
                created = datetime.combine(day, clock_time(9), AMSTERDAM) + timedelta(
                    seconds=rng.randrange(9 * 3600)
                )
                drafts.append((created.astimezone(UTC), project, is_cost))
        drafts.sort(key=lambda d: (d[0], d[1].index))
        first_id = (day - self.start_date).days * LINE_ITEM_IDS_PER_DAY + 1
        organization_id = self._organization["id"]
        by_project: dict[str, list[LineItem]] = {}
        for number, (created, project, is_cost) in enumerate(drafts, start=first_id):
            item = make_line_item(rng, number, day, created, project, is_cost, self._users, organization_id)
            by_project.setdefault(project.aggregate_id, []).append(item)
        return by_project
