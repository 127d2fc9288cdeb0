"""The streams Jortt offers, and how a partition window becomes API calls for each.

No Jortt list endpoint filters by an updated-since date, so incremental streams read every page and
keep the records whose cursor lies in the window (client-side), except project line items, whose
endpoint filters on the line item's `date` (`start_date` inclusive, `end_date` exclusive).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from plumbing_dagster.sources.jortt.auth import VENDOR_NAME
from plumbing_dagster.sources.jortt.client import JorttClient
from plumbing_dagster.sources.vendor import Endpoint, Page, Record, Window

# Jortt is a Dutch service; a timestamp that ever came without an offset would be local time.
JORTT_TIME_ZONE = ZoneInfo("Europe/Amsterdam")


def parse_moment(record: Record, field: str) -> datetime:
    """`record[field]` as an aware datetime (Jortt sends `2026-01-05T09:15:00+01:00`)."""
    value = record.get(field)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=JORTT_TIME_ZONE)
    # A record that cannot be placed in a day must fail the run, not vanish from every day.
    raise ValueError(
        f"{VENDOR_NAME}: record {_record_id(record)} has {field}={value!r}, not an ISO 8601 date-time"
    )


def parse_day(record: Record, field: str) -> date:
    """The calendar day of `record[field]` (`2026-01-05`, or a date-time on that local day)."""
    value = record.get(field)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ValueError(
        f"{VENDOR_NAME}: record {_record_id(record)} has {field}={value!r}, not an ISO 8601 date"
    )


def _record_id(record: Record) -> str:
    for key in ("id", "aggregate_id", "line_item_id"):
        if record.get(key) is not None:
            return f"{key}={record[key]}"
    return "<without id>"


def day_bounds(window: Window) -> tuple[date, date]:
    """The `[start_date, end_date)` days of a window that starts and ends at UTC midnight."""
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    if start.timetz() != time(tzinfo=UTC) or end.timetz() != time(tzinfo=UTC):
        # A day-valued cursor cannot be split; two part-day windows would both land the whole day.
        raise ValueError(f"{VENDOR_NAME}: project line items need whole UTC days, got {window}")
    return start.date(), end.date()


def _in_window(pages: Iterator[Page], window: Window | None, cursor: str) -> Iterator[Page]:
    for page in pages:
        if window is not None:
            page = [record for record in page if window.contains(parse_moment(record, cursor))]
        if page:
            yield page


def fetch_customers(client: JorttClient, window: Window | None) -> Iterator[Page]:
    return client.iter_customers()  # a snapshot: customers carry no timestamps at all


def fetch_invoices(client: JorttClient, window: Window | None) -> Iterator[Page]:
    return _in_window(client.iter_invoices(), window, "created_at")


def fetch_projects(client: JorttClient, window: Window | None) -> Iterator[Page]:
    return _in_window(client.iter_projects(), window, "updated_at")


def fetch_project_line_items(client: JorttClient, window: Window | None) -> Iterator[Page]:
    start, end = day_bounds(window) if window is not None else (None, None)
    # Project ids first: paging /projects while issuing other calls would keep its pages open
    # for long, and a project created meanwhile could shift them.
    projects = [project for page in client.iter_projects() for project in page]
    project_ids = list(dict.fromkeys(_project_id(project) for project in projects))
    for project_id in project_ids:
        for page in client.iter_project_line_items(project_id, start, end):
            if start is not None and end is not None:
                # The API filters already; checking keeps a day's partition to that day regardless.
                page = [r for r in page if start <= parse_day(r, "date") < end]
            if page:
                yield page


def _project_id(project: Record) -> str:
    project_id = project.get("aggregate_id")
    if not isinstance(project_id, str) or not project_id:
        # Its line items could not be asked for: fail rather than land a day without them.
        raise ValueError(f"{VENDOR_NAME}: a project without aggregate_id: {_record_id(project)}")
    return project_id


def fetch_organizations(client: JorttClient, window: Window | None) -> Iterator[Page]:
    yield [client.organization()]


ENDPOINTS: dict[str, Endpoint] = {
    endpoint.name: endpoint
    for endpoint in (
        Endpoint(
            name="customers",
            fetch=fetch_customers,
            primary_key=("id",),
            cursor_field=None,
            sync_modes=("full_refresh",),
            description="Customers (companies and private persons); a daily snapshot, as Jortt "
            "customers have no timestamps.",
        ),
        Endpoint(
            name="invoices",
            fetch=fetch_invoices,
            primary_key=("id",),
            cursor_field="created_at",
            sync_modes=("incremental", "full_refresh"),
            description="Invoices with their line items, by creation time. The API cannot filter "
            "by date, so every page is read and the window applied here; later changes to an "
            "invoice (sent, paid) are not picked up by the day it was created.",
        ),
        Endpoint(
            name="projects",
            fetch=fetch_projects,
            primary_key=("aggregate_id",),
            cursor_field="updated_at",
            sync_modes=("incremental", "full_refresh"),
            description="Projects (key `aggregate_id`), by last update; filtered here, as the API "
            "cannot filter by date.",
        ),
        Endpoint(
            name="project_line_items",
            fetch=fetch_project_line_items,
            primary_key=("project_id", "line_item_id"),
            cursor_field="date",
            sync_modes=("incremental", "full_refresh"),
            description="Time registrations and costs of every project, by the day they are for "
            "(`date`); the API filters on that day, one request (or more) per project.",
        ),
        Endpoint(
            name="organizations",
            fetch=fetch_organizations,
            primary_key=("id",),
            cursor_field=None,
            sync_modes=("full_refresh",),
            description="The organization the credentials belong to; one record.",
        ),
    )
}
