"""The vendor-contract suite: what every registered vendor must do, checked the same way for all.

A vendor added under `plumbing_dagster/sources/` gets these tests for free: its emulator starts
and its client connects; each endpoint reads completely across pages with its key on every
record; server-side windows return only records inside the window; 429 and 5xx are retried with
nothing lost; wrong credentials fail without showing any secret; discovery writes a catalog that
matches the endpoints; preview writes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from plumbing_dagster.cli import discover, main
from plumbing_dagster.config import DEFAULT_DAG_DIR, load_source_catalog, load_stream_configs
from plumbing_dagster.config.loader import catalog_entry_facts
from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.kit import Endpoint, Extract, RetryPolicy, ServerFilter, Vendor, Window
from plumbing_dagster.kit.emulator import EmulatorServer, Fault, fixed_horizon
from plumbing_dagster.kit.extract import cursor_value
from plumbing_dagster.kit.http import ApiError
from plumbing_dagster.kit.streams import ClientFilter
from plumbing_dagster.sources.registry import VENDORS

FAST = RetryPolicy(attempts=4, base_delay=0.01)
VENDOR_NAMES = sorted(VENDORS)
# How much of a sandbox world these tests see: its clock stops this long after the vendor's start
# (or now, if sooner). On the real clock the worlds grow every day, and with them every full read
# (Odoo's contract tests took 45 s by November 2026).
DAYS_OF_DATA = 73


@pytest.fixture(params=VENDOR_NAMES)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return VENDORS[request.param]


@pytest.fixture(autouse=True)
def horizon(vendor: Vendor) -> Iterator[datetime]:
    """The sandbox world's clock while the test runs."""
    stop = datetime.combine(vendor.start_date + timedelta(days=DAYS_OF_DATA), time(12), UTC)
    now = min(stop, datetime.now(UTC))
    with fixed_horizon(now):
        yield now


@pytest.fixture
def served(vendor: Vendor) -> Iterator[tuple[EmulatorServer, Any]]:
    """The vendor's sandbox emulator on loopback and a client on its sandbox connection."""
    with (
        EmulatorServer(vendor.emulator()) as server,
        vendor.connect(vendor.sandbox_connection(server.url)) as client,
    ):
        client.api.retry = FAST
        yield server, client


def records(pages: Iterator[Any]) -> list[dict[str, Any]]:
    return [r for page in pages for r in (page.to_pylist() if isinstance(page, pa.Table) else page)]


def sample_window(endpoint: Endpoint, client: Any, horizon: datetime) -> Window:
    """A recent day the vendor's sandbox world has records for (yesterday, or a day before it)."""
    yesterday = (horizon - timedelta(days=1)).date()
    for back in range(40):
        window = Window.for_day(yesterday - timedelta(days=back))
        if records(endpoint.fetch(client, Extract(window))):
            return window
    pytest.fail(f"{endpoint.name}: no records in any of the last 40 days of the sandbox world")


def read(
    endpoint: Endpoint, client: Any, horizon: datetime, window: Window | None = None
) -> list[dict[str, Any]]:
    """The endpoint as a stream config would read it: whole if it can be, else a day with data."""
    if endpoint.snapshot:
        return records(endpoint.fetch(client, Extract(None)))
    return records(endpoint.fetch(client, Extract(window or sample_window(endpoint, client, horizon))))


def test_each_endpoint_reads_completely_with_its_key(vendor: Vendor, served, horizon: datetime) -> None:
    server, client = served
    pages_read = []
    for name, endpoint in vendor.endpoints.items():
        before = server.requests_served
        got = read(endpoint, client, horizon)
        assert got, f"{vendor.name}/{name} gave no records"
        keys = [tuple(r.get(k) for k in endpoint.primary_key) for r in got]
        assert all(None not in key for key in keys), f"{vendor.name}/{name}: a record without its key"
        assert len(set(keys)) == len(keys), f"{vendor.name}/{name}: a key twice in one read"
        pages_read.append(server.requests_served - before)
    assert max(pages_read) > 1, f"{vendor.name}: no endpoint read more than one page (paging untested)"


def _field_specs(vendor: Vendor) -> dict[str, dict[str, FieldSpec]]:
    catalog = load_source_catalog(DEFAULT_DAG_DIR).get(vendor.name, {})
    return {stream: dict(entry.fields) for stream, entry in catalog.items()}


def test_server_side_windows_return_only_records_inside_the_window(
    vendor: Vendor, served, horizon: datetime
) -> None:
    _, client = served
    specs = _field_specs(vendor)
    checked = 0
    for name, endpoint in vendor.endpoints.items():
        for cursor, strategy in endpoint.cursors.items():
            if not isinstance(strategy, ServerFilter):
                continue
            window = sample_window(endpoint, client, horizon)
            spec = specs.get(name, {}).get(cursor, FieldSpec(type="string", format="date-time"))
            for record in records(endpoint.fetch(client, Extract(window, cursor=cursor))):
                value = cursor_value(record, cursor, spec, ClientFilter(), endpoint.primary_key)
                inside = value in window.days() if spec.format == "date" else window.contains(value)
                assert inside, f"{vendor.name}/{name}: {cursor}={record.get(cursor)!r} is outside {window}"
                checked += 1
    if not any(isinstance(s, ServerFilter) for e in vendor.endpoints.values() for s in e.cursors.values()):
        pytest.skip(f"{vendor.name} has no server-side window")
    assert checked


def test_429_and_5xx_are_retried_and_nothing_is_lost(vendor: Vendor, served, horizon: datetime) -> None:
    server, client = served
    endpoint = next(iter(vendor.endpoints.values()))
    window = None if endpoint.snapshot else sample_window(endpoint, client, horizon)
    clean = read(endpoint, client, horizon, window)
    server.faults.add(Fault("rate_limit", times=1, retry_after=0.01))
    server.faults.add(Fault("server_error", times=1, status=503))
    assert read(endpoint, client, horizon, window) == clean
    assert [kind for kind, _ in server.faults.fired] == ["rate_limit", "server_error"]


def test_a_request_that_keeps_failing_names_its_method_path_and_page(
    vendor: Vendor, served, horizon: datetime
) -> None:
    """Whichever request of a read fails for good — the first page, a later one, the last request
    (a completeness check, a key snapshot page) — the error says which: method, path, page or offset."""
    server, client = served
    request = rf"^{vendor.name}: (GET|POST) http://127\.0\.0\.1:\d+/\S*"
    named = re.compile(request + r" \([^)]*\b(page|offset) \d+[^)]*\) failed with HTTP 500")
    checked = 0
    for name, endpoint in vendor.endpoints.items():
        reads = [endpoint.fetch, *([endpoint.ids] if endpoint.ids else [])]
        window = None if endpoint.snapshot else sample_window(endpoint, client, horizon)
        for fetch in reads:
            records(fetch(client, Extract(window)))  # sign-ins and sessions happen once, here
            before = server.requests_served
            records(fetch(client, Extract(window)))
            requests = server.requests_served - before
            for failing in sorted({1, 2, requests} & set(range(1, requests + 1))):
                server.faults.clear()
                server.faults.add(Fault("server_error", times=1000, after=failing - 1))
                with pytest.raises(ApiError) as failed:
                    records(fetch(client, Extract(window)))
                assert named.match(str(failed.value)), f"{name}, request {failing}: {failed.value}"
                checked += 1
            server.faults.clear()
    assert checked


def test_wrong_credentials_fail_without_showing_a_secret(
    vendor: Vendor, horizon: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with EmulatorServer(vendor.emulator()) as server:
        right = vendor.sandbox_connection(server.url)
        secret_fields = [n for n, info in type(right).settings().items() if info.secret]
        assert secret_fields, f"{vendor.name}: no secret connection setting (how does it authenticate?)"
        wrong = dataclasses.replace(right, **{n: f"wrong-{n}-3f9c" for n in secret_fields})
        endpoint = next(iter(vendor.endpoints.values()))
        with vendor.connect(wrong) as client, pytest.raises(Exception) as raised:  # noqa: PT011 - any refusal
            client.api.retry = FAST
            read(endpoint, client, horizon)
    said = f"{raised.value}\n{raised.value!r}\n{caplog.text}"
    for value in [*right.secrets(), *wrong.secrets()]:
        assert value not in said, f"{vendor.name}: a secret is in the error or the log"


def test_discovery_writes_a_catalog_that_matches_the_endpoints(
    vendor: Vendor, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    discover(vendor.name, None, 100, tmp_path)
    catalog = load_source_catalog(tmp_path)[vendor.name]
    assert set(catalog) == set(vendor.endpoints)
    for name, entry in catalog.items():
        assert entry.model_dump(mode="json", include={"options", "defaults"}) == catalog_entry_facts(
            vendor.endpoints[name]
        )
        assert entry.fields
    # The committed stream configs still fit what the source offers now.
    load_stream_configs(
        DEFAULT_DAG_DIR, {vendor.name: vendor}, catalog={vendor.name: catalog}, only=vendor.name
    )


def test_preview_writes_nothing(
    vendor: Vendor, horizon: datetime, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    stream = next(
        iter(load_stream_configs(DEFAULT_DAG_DIR, {vendor.name: vendor}, only=vendor.name)[vendor.name])
    )
    day = (horizon - timedelta(days=2)).date()
    assert main(["preview", vendor.name, stream, "--day", day.isoformat(), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert f"{vendor.name}/{stream} {day}:" in out and "(preview: nothing written)" in out
    assert "a run would write:" in out
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def test_the_vendor_declares_its_facts_consistently(vendor: Vendor) -> None:
    assert vendor.name and vendor.start_date <= date.today()
    for name, endpoint in vendor.endpoints.items():
        assert endpoint.primary_key, f"{vendor.name}/{name} has no key"
        assert endpoint.sync_modes, f"{vendor.name}/{name} can be read neither by window nor whole"
        assert endpoint.description, f"{vendor.name}/{name}: say what the stream is"
