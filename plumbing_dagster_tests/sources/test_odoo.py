"""The Odoo source against its emulator over real HTTP on loopback: both protocols read the same
records, offset pages on `write_date, id` lose and repeat nothing, archived records come along,
deleted ones are told apart by the id snapshot, Odoo values become typed columns, and errors in
both of Odoo's shapes become one clear line (retried only where a retry can help)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plumbing_dagster.cli import discover, main
from plumbing_dagster.config import DEFAULT_DAG_DIR, ConfigError, load_stream_configs
from plumbing_dagster.kit import ApiError, ConnectionError_, Extract, RetryPolicy, Window
from plumbing_dagster.kit.emulator import EmulatorServer, Fault, fixed_horizon
from plumbing_dagster.kit.extract import fetch_stream
from plumbing_dagster.sources.odoo import SETTLING_DELAY, VENDOR, OdooClient, OdooEmulator, OdooWorld
from plumbing_dagster.sources.odoo import endpoints as odoo_endpoints
from plumbing_dagster.sources.odoo.columns import plan_columns, row_maker
from plumbing_dagster.sources.odoo.emulator.app import SANDBOX_API_KEY

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MASS_UPDATE = datetime(2026, 1, 14, 5, 0, tzinfo=UTC)  # 250 orders share this second
DAY = date(2026, 1, 14)
FAST = RetryPolicy(attempts=4, base_delay=0.01)
ORDERS, LINES = VENDOR.endpoints["sale_orders"], VENDOR.endpoints["sale_order_lines"]


class MovingWorld(OdooWorld):
    """A world whose clock a test moves."""

    clock: datetime | None = None

    @property
    def now(self) -> datetime:
        return self.clock or super().now


def odoo_day(day: date) -> tuple[str, str]:
    return f"{day} 00:00:00", f"{day + timedelta(days=1)} 00:00:00"


def iso(odoo_datetime: str) -> str:
    return odoo_datetime.replace(" ", "T") + "Z"


def client_for(server: EmulatorServer, protocol: str = "auto", **changes: Any) -> OdooClient:
    settings = dataclasses.replace(VENDOR.sandbox_connection(server.url), protocol=protocol, **changes)
    client = VENDOR.connect(settings)
    client.api.retry = FAST
    return client


def rows(pages: Iterator[Any]) -> list[dict[str, Any]]:
    return [row for page in pages for row in page]


def options(**values: Any) -> Any:
    return ORDERS.options.model_validate(values)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def world() -> OdooWorld:
    return OdooWorld(now=NOW, mass_updates=[(MASS_UPDATE, 250)])


@pytest.fixture(scope="module")
def app(world: OdooWorld) -> OdooEmulator:
    return OdooEmulator(world)


@pytest.fixture(scope="module")
def server(app: OdooEmulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(app) as running:
        yield running


# -- protocols ----------------------------------------------------------------------------------


def test_both_protocols_read_a_day_exactly_as_the_world_has_it(server, app, world) -> None:
    expected = world.written_between("sale.order", *odoo_day(DAY))
    read = {}
    for protocol in ("json2", "jsonrpc"):
        before = Counter(app.calls)
        with client_for(server, protocol) as client:
            read[protocol] = rows(ORDERS.fetch(client, Extract(Window.for_day(DAY))))
        calls = Counter(app.calls) - before
        assert (
            calls[protocol, "sale.order", "search_read"] >= 1 and calls[protocol, "sale.order", "search"] == 1
        )
        assert sum(n for (p, *_), n in calls.items() if p != protocol) == 0  # nothing over the other
    assert read["json2"] == read["jsonrpc"]
    assert [r["id"] for r in read["json2"]] == [r["id"] for r in expected]  # by write_date, then id
    assert read["json2"][0]["write_date"] == iso(expected[0]["write_date"])


def test_auto_takes_json2_from_odoo_19_and_json_rpc_before(server) -> None:
    with client_for(server) as client:
        assert client.protocol.name == "json2"
    for version in (17, 18):  # 17 has no /web/version at all, 18 says 18.0
        old = OdooEmulator(OdooWorld(now=NOW, version=version, orders_per_day=5, mass_updates=[]))
        with EmulatorServer(old) as served, client_for(served) as client:
            lines = rows(LINES.fetch(client, Extract(Window.for_day(DAY))))
            assert client.protocol.name == "jsonrpc" and lines
            assert not any(protocol == "json2" for protocol, *_ in old.calls)
            # Odoo 17's `product_uom` gives the columns Odoo 19's `product_uom_id` gives.
            assert {"product_uom_id", "product_uom_name", "order_id", "order_name"} <= set(lines[0])


def test_json_rpc_needs_a_login(server) -> None:
    with (
        client_for(server, "jsonrpc", login=None) as client,
        pytest.raises(ConnectionError_, match="ODOO_LOGIN"),
    ):
        rows(ORDERS.fetch(client, Extract(Window.for_day(DAY))))


# -- paging, archives, deletes -------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["json2", "jsonrpc"])
def test_250_records_sharing_one_second_across_page_boundaries_are_read_exactly_once(
    server, world, protocol
) -> None:
    ((second, tied),) = world.mass_updates()
    expected = [r["id"] for r in world.written_between("sale.order", *odoo_day(DAY))]
    position = expected.index(min(tied))
    assert position < 100 < 200 < position + 250  # two page boundaries fall inside the tie
    with client_for(server, protocol) as client:
        pages = list(ORDERS.fetch(client, Extract(Window.for_day(DAY), options=options(page_size=100))))
    got = [r["id"] for page in pages for r in page]
    assert len(pages) >= 4 and got == expected
    in_that_second = [r["id"] for page in pages for r in page if r["write_date"] == iso(second)]
    assert sorted(in_that_second) == sorted(tied)


def test_a_record_edited_while_its_day_is_read_is_neither_lost_nor_repeated() -> None:
    day = date(2026, 1, 6)
    world = MovingWorld(now=datetime(2026, 1, 7, 2, tzinfo=UTC), mass_updates=[])
    before = [r["id"] for r in world.written_between("sale.order", *odoo_day(day))]
    app = OdooEmulator(world)
    original, pages = app.handle, []

    def edit_after_the_first_page(request):  # noqa: ANN001, ANN202
        response = original(request)
        if request.path.endswith("/search_read"):
            pages.append(request.path)
            world.clock = datetime(2026, 1, 12, tzinfo=UTC)  # days of edits commit meanwhile
        return response

    app.handle = edit_after_the_first_page  # type: ignore[method-assign]
    with EmulatorServer(app) as served, client_for(served, "json2") as client:
        extract = Extract(Window.for_day(day), options=options(page_size=5))
        got = [r["id"] for r in rows(ORDERS.fetch(client, extract))]
    after = {r["id"] for r in world.written_between("sale.order", *odoo_day(day))}
    assert len(pages) > 2 and after < set(before)  # records left the day while it was paged
    assert len(got) == len(set(got))
    assert after <= set(got) <= set(before)  # every record still in the day, none from elsewhere
    assert app.calls["json2", "sale.order", "read"] >= 1  # those the shifted pages missed, by id


def test_archived_records_are_read_with_the_rest(server, world) -> None:
    archived = [r for r in world.records("sale.order") if not r["active"]]
    record = archived[0]
    day = date.fromisoformat(record["write_date"][:10])
    with client_for(server) as client:
        got = {r["id"]: r for r in rows(ORDERS.fetch(client, Extract(Window.for_day(day))))}
    assert got[record["id"]]["active"] is False


@pytest.mark.parametrize("protocol", ["json2", "jsonrpc"])
def test_ids_are_every_existing_record_archived_included_deleted_excluded(
    server, world, protocol, monkeypatch
) -> None:
    monkeypatch.setattr(odoo_endpoints, "IDS_PAGE_SIZE", 100)  # several pages
    for endpoint, model in ((ORDERS, "sale.order"), (LINES, "sale.order.line")):
        with client_for(server, protocol) as client:
            pages = list(endpoint.ids(client, Extract(None)))  # type: ignore[misc]
        got = [r["id"] for page in pages for r in page]
        assert all(set(r) == {"id"} for page in pages for r in page)
        assert got == world.ids(model, include_archived=True)
        assert not set(got) & set(world.deleted(model))
        assert len(pages) > 1
    with client_for(server, protocol) as client:
        orders = {r["id"] for r in rows(ORDERS.ids(client, Extract(None)))}  # type: ignore[misc]
    assert orders > set(world.ids("sale.order", include_archived=False))  # archived orders too


# -- values -------------------------------------------------------------------------------------


def test_odoo_values_become_typed_columns(server, world) -> None:
    with client_for(server) as client:
        columns = plan_columns(client.fields("sale.order"))
        got = rows(ORDERS.fetch(client, Extract(Window.for_day(DAY))))
    spec = {
        name: c.spec.model_dump(exclude_none=True, exclude={"description"}) for name, c in columns.items()
    }
    assert spec["partner_id"] == {"type": ["null", "integer"]}
    assert spec["partner_name"] == {"type": ["null", "string"]}
    assert "partner" not in spec and spec["amount_total"]["format"] == "decimal"
    assert spec["order_line"] == {"type": ["null", "array"], "items": {"type": "integer"}}
    assert spec["create_uid_id"]["type"] == ["null", "integer"]  # a many2one without the _id suffix
    as_odoo = {r["id"]: r for r in world.written_between("sale.order", *odoo_day(DAY))}
    for row in got:
        odoo = as_odoo[row["id"]]
        assert [row["partner_id"], row["partner_name"]] == odoo["partner_id"]
        assert row["order_line"] == odoo["order_line"] and row["amount_total"] == odoo["amount_total"]
        assert row["client_order_ref"] == (odoo["client_order_ref"] or None)  # false -> null
        assert row["active"] is odoo["active"]  # booleans keep false
    make = row_maker(list(columns.values()))
    empty = make({"id": 1, "partner_id": False, "order_line": [], "validity_date": False, "active": False})
    assert (empty["partner_id"], empty["partner_name"], empty["validity_date"]) == (None, None, None)
    assert empty["order_line"] == [] and empty["active"] is False


def test_a_many2one_column_name_another_field_has_falls_back_to_the_field_name() -> None:
    described = {
        "id": {"type": "integer"},
        "partner_id": {"type": "many2one", "string": "Customer"},
        "partner_name": {"type": "char", "string": "Company Name"},  # as on crm.lead
        "product_uom": {"type": "many2one", "string": "Unit"},
    }
    columns = plan_columns(described)
    assert {name: c.field for name, c in columns.items()} == {
        "id": "id",
        "partner_id": "partner_id",
        "partner_id_name": "partner_id",
        "partner_name": "partner_name",
        "product_uom_id": "product_uom",
        "product_uom_name": "product_uom",
    }


# -- errors -------------------------------------------------------------------------------------


def test_an_invalid_api_key_fails_at_once_with_a_clear_message(app, server) -> None:
    for protocol, says in (("json2", "Invalid apikey"), ("jsonrpc", "login refused")):
        served_before = server.requests_served
        with client_for(server, protocol, api_key="wrong-key-0123456789") as client:
            with pytest.raises(ApiError) as raised:
                rows(ORDERS.fetch(client, Extract(Window.for_day(DAY))))
        message = str(raised.value)
        assert says in message and "ODOO_API_KEY" in message
        assert "wrong-key-0123456789" not in message and SANDBOX_API_KEY not in message
        assert server.requests_served - served_before == 1  # one refused call (or login), no retry


def test_access_denied_is_not_retried_and_a_session_is_logged_in_again_once() -> None:
    app = OdooEmulator(OdooWorld(now=NOW, orders_per_day=5, mass_updates=[]))
    with EmulatorServer(app) as served, client_for(served, "jsonrpc") as client:
        page = options(page_size=5)
        assert rows(ORDERS.fetch(client, Extract(Window.for_day(DAY), options=page)))
        app.expire_sessions()
        assert rows(ORDERS.fetch(client, Extract(Window.for_day(DAY), options=page)))
        assert client.api.logins == 2  # logged in again once, and read on

        original = app.handle

        def always_expired(request):  # noqa: ANN001, ANN202
            app.expire_sessions()
            return original(request)

        app.handle = always_expired  # type: ignore[method-assign]
        with pytest.raises(ApiError, match="Session expired"):
            rows(ORDERS.fetch(client, Extract(Window.for_day(DAY))))
        app.handle = original  # type: ignore[method-assign]
        assert client.api.logins == 3  # once, not in a loop
        assert rows(ORDERS.fetch(client, Extract(Window.for_day(DAY), options=page)))  # a new session

        app.api_key = app.password = "rotated-" + SANDBOX_API_KEY  # the key no longer works
        served_before = served.requests_served
        denied = r"sale\.order\.search_read: odoo\.exceptions\.AccessDenied: Access Denied \(check ODOO_LOGIN"
        with pytest.raises(ApiError, match=denied):
            rows(ORDERS.fetch(client, Extract(Window.for_day(DAY))))
        assert served.requests_served - served_before == 1


@pytest.mark.parametrize("protocol", ["json2", "jsonrpc"])
def test_odoo_errors_become_one_line_and_only_transient_ones_are_retried(server, protocol) -> None:
    with client_for(server, protocol) as client:
        client.protocol  # noqa: B018 - settle the protocol (and log in) before counting
        if protocol == "jsonrpc":
            client.api.uid()
        before = server.requests_served
        with pytest.raises(ApiError) as raised:
            client.call("sale.order", "search_read", {"domain": [], "fields": ["no_such_field"], "limit": 1})
        assert server.requests_served - before == 1  # a ValueError is not worth a retry
        message = str(raised.value)
        assert "builtins.ValueError: Invalid field 'no_such_field' on model 'sale.order'" in message
        assert "Traceback" not in message and "\n" not in message
        server.faults.add(Fault("server_error", times=2, status=503))
        server.faults.add(Fault("rate_limit", times=1, retry_after=0.01))
        assert client.call("sale.order", "search_count", {"domain": []}) > 0


def test_a_json2_route_without_a_database_says_what_to_check() -> None:
    app = OdooEmulator(OdooWorld(now=NOW, orders_per_day=5, mass_updates=[]), other_databases=["other"])
    with EmulatorServer(app) as served, client_for(served, "json2", database="missing") as client:
        said = r"HTTP 404: no such route: no database selected \(check ODOO_DATABASE\)"
        with pytest.raises(ApiError, match=said):
            client.fields("sale.order")


# -- streams as configuration -------------------------------------------------------------------


def test_another_model_is_one_stream_config(server, world, tmp_path: Path, monkeypatch) -> None:
    dag = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, dag)
    config = {
        "stream": "partners",
        "sync_mode": "full_refresh",
        "destination_sync_mode": "merge",
        "fields": {
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"]},
            "active": {"type": "boolean"},
            "parent_id": {"type": ["null", "integer"]},
            "parent_name": {"type": ["null", "string"]},
            "write_date": {"type": "string", "format": "date-time"},
        },
        "options": {"model": "res.partner"},
    }
    (dag / "streams" / "odoo" / "partners.json").write_text(json.dumps(config))
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    discover("odoo", "partners", 10, dag)
    discovered = json.loads((dag / "sources" / "odoo" / "partners.json").read_text())
    assert discovered["fields"]["parent_id"]["description"] == "Related Company (id)"
    stream = load_stream_configs(dag, {"odoo": VENDOR}, only="odoo")["odoo"]["partners"]
    endpoint = VENDOR.endpoint("partners")
    with client_for(server) as client:
        got = rows(fetch_stream(endpoint, client, stream, Window.for_day(DAY)))  # type: ignore[arg-type]
    assert sorted(r["id"] for r in got) == world.ids("res.partner", include_archived=True)

    config["options"] = {}
    (dag / "streams" / "odoo" / "partners.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"partners.json: in 'options': field 'model': Field required"):
        load_stream_configs(dag, {"odoo": VENDOR}, only="odoo")
    orders = json.loads((dag / "streams" / "odoo" / "sale_orders.json").read_text())
    orders["options"]["model"] = "res.partner"  # a listed stream reads its own model only
    (dag / "streams" / "odoo" / "partners.json").unlink()
    (dag / "streams" / "odoo" / "sale_orders.json").write_text(json.dumps(orders))
    with pytest.raises(ConfigError, match=r"sale_orders.json: in 'options': field 'model'"):
        load_stream_configs(dag, {"odoo": VENDOR}, only="odoo")


def test_preview_of_a_sandbox_day(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    day = date(2026, 2, 3)
    with fixed_horizon(datetime(2026, 2, 10, tzinfo=UTC)):  # the sandbox world, not grown to today
        assert main(["preview", "odoo", "sale_orders", "--day", day.isoformat(), "--limit", "2"]) == 0
        expected = len(OdooWorld().written_between("sale.order", *odoo_day(day)))
    out = capsys.readouterr().out
    assert f"odoo/sale_orders {day}: {expected} records in 1 page(s); {expected} staged, 0 put aside" in out
    assert "partner_id  partner_name" in out
    assert not (tmp_path / "data").exists() or not any(p.is_file() for p in (tmp_path / "data").rglob("*"))


def test_the_daily_schedule_waits_for_the_settling_delay() -> None:
    assert VENDOR.schedule_at == (datetime.min + SETTLING_DELAY).time()
    assert SETTLING_DELAY >= timedelta(minutes=15)  # the emulator's slowest transaction
