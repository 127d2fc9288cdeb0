"""The Odoo emulator over real HTTP on loopback: both protocols (JSON-RPC and JSON-2) serve the same
records, errors come in Odoo's shapes, and the data has Odoo's traps — same-second ties under offset
paging, late commits, archives, deletes — where a client must meet them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.sources.odoo.emulator import OdooEmulator, OdooWorld
from plumbing_dagster.sources.odoo.emulator.app import SANDBOX_API_KEY, SANDBOX_DATABASE, SANDBOX_PASSWORD

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MASS_UPDATE = datetime(2026, 1, 14, 5, 0, tzinfo=UTC)  # 250 orders written in this second
TIE_START, TIE_END = "2026-01-14 05:00:00", "2026-01-14 05:00:01"
WINDOW = ("2026-01-10 00:00:00", "2026-01-15 00:00:00")
ERROR_KEYS = {"name", "message", "arguments", "context", "debug"}


class Odoo:
    """A client of both protocols, at the level of the wire (no client library yet)."""

    def __init__(self, url: str, db: str = SANDBOX_DATABASE, key: str = SANDBOX_API_KEY):
        self.url, self.db, self.key = url, db, key
        self.http = httpx.Client(base_url=url, timeout=10)

    def rpc(self, service: str, method: str, *args: Any) -> dict[str, Any]:
        """The whole JSON-RPC response body (always HTTP 200)."""
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": 7,
        }
        response = self.http.post("/jsonrpc", json=payload)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 7
        return body

    def execute(
        self,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
        uid: Any = 2,
        key: str | None = None,
    ) -> dict[str, Any]:
        return self.rpc(
            "object", "execute_kw", self.db, uid, key or self.key, model, method, args, kwargs or {}
        )

    def result(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        body = self.execute(model, method, args, kwargs)
        assert "error" not in body, body
        return body["result"]

    def json2(
        self,
        model: str,
        method: str,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        auth = {"Authorization": f"bearer {key or self.key}", **(headers or {})}
        return self.http.post(f"/json/2/{model}/{method}", json=params, headers=auth)

    def json2_result(self, model: str, method: str, **params: Any) -> Any:
        response = self.json2(model, method, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def world() -> OdooWorld:
    return OdooWorld(now=NOW, mass_updates=[(MASS_UPDATE, 250)])


@pytest.fixture(scope="module")
def odoo(world: OdooWorld) -> Iterator[Odoo]:
    with EmulatorServer(OdooEmulator(world)) as server:
        yield Odoo(server.url)


@pytest.fixture(scope="module")
def odoo17() -> Iterator[Odoo]:
    with EmulatorServer(OdooEmulator(OdooWorld(now=NOW, version=17, orders_per_day=10))) as server:
        yield Odoo(server.url)


def rpc_error(body: dict[str, Any], code: int = 200) -> dict[str, Any]:
    """The `data` of a JSON-RPC error, checked for Odoo's envelope."""
    assert "result" not in body, body
    error = body["error"]
    assert error["code"] == code
    assert error["message"] == ("Odoo Server Error" if code == 200 else "Odoo Session Expired")
    assert set(error["data"]) == ERROR_KEYS and error["data"]["debug"].startswith("Traceback")
    return error["data"]


def json2_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["context"] == {}
    return body


def page_through(fetch: Any, size: int) -> list[dict[str, Any]]:
    """Offset paging until a short page, as an integration template does."""
    rows: list[dict[str, Any]] = []
    while True:
        page = fetch(len(rows), size)
        rows.extend(page)
        if len(page) < size:
            return rows


# -- both protocols ---------------------------------------------------------------------------------


def test_login_then_both_protocols_serve_identical_records(odoo: Odoo, world: OdooWorld) -> None:
    assert odoo.rpc("common", "login", SANDBOX_DATABASE, "admin", SANDBOX_PASSWORD)["result"] == 2
    assert odoo.json2_result("res.users", "context_get")["uid"] == 2
    domain = [["write_date", ">=", WINDOW[0]], ["write_date", "<", WINDOW[1]]]
    order, context = "write_date asc, id asc", {"active_test": False}
    for model in ("sale.order", "sale.order.line"):

        def by_rpc(offset: int, limit: int, model: str = model) -> list[dict[str, Any]]:
            kwargs = {"offset": offset, "limit": limit, "order": order, "context": context}
            return odoo.result(model, "search_read", [domain], kwargs)

        def by_json2(offset: int, limit: int, model: str = model) -> list[dict[str, Any]]:
            return odoo.json2_result(
                model, "search_read", domain=domain, offset=offset, limit=limit, order=order, context=context
            )

        expected = world.written_between(model, *WINDOW)
        assert len(expected) > 200
        assert page_through(by_rpc, 150) == page_through(by_json2, 150) == expected
        fields = ["name", "write_date"]
        assert odoo.result(
            model, "search_read", [domain], {"fields": fields, "limit": 5, "order": order}
        ) == (odoo.json2_result(model, "search_read", domain=domain, fields=fields, limit=5, order=order))


def test_web_version_needs_no_auth_and_common_version_agrees(odoo: Odoo) -> None:
    response = httpx.get(f"{odoo.url}/web/version")
    assert response.status_code == 200
    assert response.json() == {"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"}
    assert odoo.rpc("common", "version")["result"] == {
        "server_version": "19.0",
        "server_version_info": [19, 0, 0, "final", 0, ""],
        "server_serie": "19.0",
        "protocol_version": 1,
    }


# -- credentials and errors -----------------------------------------------------------------------


def test_an_invalid_api_key_is_a_401_in_odoos_shape(odoo: Odoo) -> None:
    body = json2_error(odoo.json2("sale.order", "search_count", key="not-a-key", domain=[]), 401)
    assert body["name"] == "werkzeug.exceptions.Unauthorized"
    assert body["message"] == "Invalid apikey" and body["arguments"] == ["Invalid apikey", 401]
    # The password is no API key, and no header at all is its own 401.
    json2_error(odoo.json2("sale.order", "search_count", key=SANDBOX_PASSWORD, domain=[]), 401)
    anonymous = odoo.http.post("/json/2/sale.order/search_count", json={"domain": []})
    assert json2_error(anonymous, 401)["message"] == 'User not authenticated, use the "Authorization" header'
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


def test_a_wrong_password_makes_login_answer_false(odoo: Odoo) -> None:
    assert odoo.rpc("common", "login", SANDBOX_DATABASE, "admin", "wrong")["result"] is False
    assert odoo.rpc("common", "login", SANDBOX_DATABASE, "nobody", SANDBOX_PASSWORD)["result"] is False
    assert (
        odoo.rpc("common", "login", SANDBOX_DATABASE, "admin", SANDBOX_API_KEY)["result"] == 2
    )  # keys work too
    missing = rpc_error(odoo.rpc("common", "login", "no_such_db", "admin", SANDBOX_PASSWORD))
    assert (
        missing["name"] == "psycopg2.OperationalError"
        and 'database "no_such_db" does not exist' in missing["message"]
    )


def test_bad_credentials_on_execute_kw_are_access_denied_under_http_200(odoo: Odoo) -> None:
    for uid, key in ((2, "wrong"), (False, SANDBOX_API_KEY), (6, SANDBOX_API_KEY)):
        data = rpc_error(odoo.execute("sale.order", "search_count", [[]], uid=uid, key=key))
        assert data["name"] == "odoo.exceptions.AccessDenied"
        assert data["message"] == "Access Denied" and data["arguments"] == ["Access Denied"]


def test_unknown_models_and_methods(odoo: Odoo) -> None:
    data = rpc_error(odoo.execute("sale.orders", "search", [[]]))
    assert (
        data["name"] == "odoo.exceptions.UserError" and data["message"] == "Object sale.orders doesn't exist"
    )
    body = json2_error(odoo.json2("sale.orders", "search", domain=[]), 404)
    assert (
        body["name"] == "werkzeug.exceptions.NotFound"
        and body["message"] == "the model 'sale.orders' does not exist"
    )
    assert json2_error(odoo.json2("sale.order", "frobnicate"), 404)["message"] == (
        "The method 'sale.order.frobnicate' does not exist"
    )
    assert rpc_error(odoo.execute("sale.order", "frobnicate", []))["name"] == "builtins.AttributeError"
    assert json2_error(odoo.json2("sale.order", "_read"), 403)["name"] == "odoo.exceptions.AccessError"
    assert json2_error(odoo.json2("sale.order", "write", ids=[1], vals={}), 403)["name"] == (
        "odoo.exceptions.AccessError"
    )


def test_json2_answers_bad_arguments_with_4xx(odoo: Odoo) -> None:
    unexpected = json2_error(odoo.json2("sale.order", "search", domain=[], limits=5), 422)
    assert unexpected["name"] == "werkzeug.exceptions.UnprocessableEntity"
    assert unexpected["message"] == "got an unexpected keyword argument 'limits'"
    assert (
        json2_error(odoo.json2("sale.order", "search"), 422)["message"]
        == "missing a required argument: 'domain'"
    )
    assert json2_error(odoo.json2("sale.order", "search", ids=[1], domain=[]), 422)["message"] == (
        "cannot call sale.order.search with ids"
    )
    got = odoo.http.get("/json/2/sale.order/search", headers={"Authorization": f"bearer {odoo.key}"})
    assert json2_error(got, 405)["name"] == "werkzeug.exceptions.MethodNotAllowed"
    garbled = odoo.http.post(
        "/json/2/sale.order/search",
        content=b"{domain",
        headers={"Authorization": f"bearer {odoo.key}", "Content-Type": "application/json"},
    )
    assert json2_error(garbled, 400)["message"].startswith("could not parse the body as json")
    # The ORM's own errors: an invalid order is a UserError (422), an unknown field a ValueError (500).
    assert json2_error(odoo.json2("sale.order", "search", domain=[], order="id; drop"), 422)["name"] == (
        "odoo.exceptions.UserError"
    )
    assert json2_error(odoo.json2("sale.order", "search_read", fields=["nope"]), 500)["message"] == (
        "Invalid field 'nope' on model 'sale.order'"
    )
    typo = rpc_error(odoo.execute("sale.order", "search", [[]], {"limits": 5}))
    assert typo["name"] == "builtins.TypeError" and "unexpected keyword argument 'limits'" in typo["message"]


def test_an_expired_session_answers_code_100_until_the_client_logs_in_again() -> None:
    emulator = OdooEmulator(OdooWorld(now=NOW, orders_per_day=5))
    with EmulatorServer(emulator) as server:
        odoo = Odoo(server.url)
        assert odoo.rpc("common", "login", SANDBOX_DATABASE, "admin", SANDBOX_PASSWORD)["result"] == 2
        count = odoo.result("sale.order", "search_count", [[]])
        emulator.expire_sessions()
        data = rpc_error(odoo.execute("sale.order", "search_count", [[]]), code=100)
        assert data["name"] == "odoo.http.SessionExpiredException"
        rpc_error(odoo.execute("sale.order", "search_count", [[]]), code=100)  # still, until a login
        assert (
            odoo.json2_result("sale.order", "search_count", domain=[]) == count
        )  # bearer calls are stateless
        assert odoo.rpc("common", "login", SANDBOX_DATABASE, "admin", SANDBOX_PASSWORD)["result"] == 2
        assert odoo.result("sale.order", "search_count", [[]]) == count


def test_json2_needs_x_odoo_database_when_the_server_has_several() -> None:
    emulator = OdooEmulator(OdooWorld(now=NOW, orders_per_day=5), other_databases=["staging"])
    with EmulatorServer(emulator) as server:
        odoo = Odoo(server.url)
        assert odoo.json2("sale.order", "search_count", domain=[]).status_code == 404  # no database selected
        chosen = odoo.json2(
            "sale.order", "search_count", headers={"X-Odoo-Database": SANDBOX_DATABASE}, domain=[]
        )
        assert chosen.status_code == 200 and chosen.json() > 0
        other = odoo.json2("sale.order", "search_count", headers={"X-Odoo-Database": "staging"}, domain=[])
        assert json2_error(other, 401)["message"] == "Invalid apikey"  # its users have no such key
        assert (
            odoo.json2("sale.order", "search_count", headers={"X-Odoo-Database": "nope"}).status_code == 404
        )
        assert odoo.rpc("db", "list")["result"] == [SANDBOX_DATABASE, "staging"]
        assert odoo.rpc("common", "login", "staging", "admin", SANDBOX_PASSWORD)["result"] is False


def test_the_optional_rate_limit_answers_429() -> None:
    with EmulatorServer(OdooEmulator(OdooWorld(now=NOW, orders_per_day=5), rate_limit=2)) as server:
        answers = [httpx.get(f"{server.url}/web/version") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert json2_error(answers[2], 429)["name"] == "werkzeug.exceptions.TooManyRequests"


# -- same-second ties and offset paging ------------------------------------------------------------


def test_250_orders_share_the_mass_update_second(odoo: Odoo, world: OdooWorld) -> None:
    ((written, ids),) = world.mass_updates()
    assert written == TIE_START and len(ids) == 250
    in_that_second = [["write_date", ">=", TIE_START], ["write_date", "<", TIE_END]]
    found = odoo.result("sale.order", "search", [in_that_second], {"context": {"active_test": False}})
    assert sorted(found) == sorted(ids)
    assert odoo.json2_result("sale.order", "search_count", domain=in_that_second) == 250


def test_offset_paging_on_write_date_then_id_returns_each_tied_record_once(
    odoo: Odoo, world: OdooWorld
) -> None:
    ((_, ids),) = world.mass_updates()
    domain = [["write_date", ">=", TIE_START], ["write_date", "<", TIE_END]]
    for protocol in ("rpc", "json2"):

        def fetch(offset: int, limit: int, protocol: str = protocol) -> list[dict[str, Any]]:
            order = "write_date asc, id asc"
            if protocol == "rpc":
                return odoo.result("sale.order", "search_read", [domain, ["id"], offset, limit, order])
            return odoo.json2_result(
                "sale.order",
                "search_read",
                domain=domain,
                fields=["id"],
                offset=offset,
                limit=limit,
                order=order,
            )

        got = [row["id"] for row in page_through(fetch, 100)]
        assert got == sorted(ids)


def test_offset_paging_on_write_date_alone_repeats_and_skips_tied_records(
    odoo: Odoo, world: OdooWorld
) -> None:
    """odoo#190412: without a unique order, each LIMIT/OFFSET query settles ties its own way. The
    emulator shuffles each run of ties by (model, order, offset, limit): deterministic, but pages
    of one scan overlap and leave gaps."""
    ((_, ids),) = world.mass_updates()
    domain = [["write_date", ">=", TIE_START], ["write_date", "<", TIE_END]]

    def pages(protocol: str) -> list[int]:
        got = []
        for offset in range(0, 250, 100):
            if protocol == "rpc":
                got += odoo.result(
                    "sale.order",
                    "search",
                    [domain],
                    {"offset": offset, "limit": 100, "order": "write_date asc"},
                )
            else:
                got += odoo.json2_result(
                    "sale.order", "search", domain=domain, offset=offset, limit=100, order="write_date asc"
                )
        return got

    got = pages("rpc")
    assert len(got) == 250 and got == pages("rpc") == pages("json2")  # the same answer every time
    repeated = [i for i, n in Counter(got).items() if n > 1]
    skipped = set(ids) - set(got)
    assert repeated and skipped and len(skipped) == len(got) - len(set(got))
    # Without a limit, every tie comes back once (in scan order).
    assert sorted(odoo.result("sale.order", "search", [domain], {"order": "write_date asc"})) == sorted(ids)


# -- archives, deletes, late commits ----------------------------------------------------------------


def test_archived_records_are_hidden_unless_active_test_is_false(odoo: Odoo, world: OdooWorld) -> None:
    archived = {row["id"] for row in world.records("sale.order") if not row["active"]}
    everything = set(world.ids("sale.order"))
    assert archived and archived < everything
    assert set(odoo.result("sale.order", "search", [[]])) == everything - archived
    assert set(odoo.json2_result("sale.order", "search", domain=[])) == everything - archived
    with_archived = {"context": {"active_test": False}}
    assert set(odoo.result("sale.order", "search", [[]], with_archived)) == everything
    assert set(odoo.json2_result("sale.order", "search", domain=[], **with_archived)) == everything
    # A domain on `active` itself replaces the implicit filter; `read` by id ignores it.
    assert set(odoo.json2_result("sale.order", "search", domain=[["active", "=", False]])) == archived
    some = sorted(archived)[:2]
    assert [row["id"] for row in odoo.json2_result("sale.order", "read", ids=some, fields=["active"])] == some
    archived_partners = {row["id"] for row in world.records("res.partner") if not row["active"]}
    assert not archived_partners & set(odoo.result("res.partner", "search", [[]]))


def test_deleted_records_disappear_from_every_method(odoo: Odoo, world: OdooWorld) -> None:
    deleted_orders, deleted_lines = world.deleted("sale.order"), world.deleted("sale.order.line")
    assert deleted_orders and len(deleted_lines) > len(deleted_orders)
    everything = {"context": {"active_test": False}}
    orders = set(odoo.result("sale.order", "search", [[]], everything))
    lines = set(odoo.json2_result("sale.order.line", "search", domain=[], **everything))
    assert orders == set(world.ids("sale.order")) and not orders & set(deleted_orders)
    assert lines == set(world.ids("sale.order.line")) and not lines & set(deleted_lines)
    gone = sorted(deleted_orders)[:3]
    assert odoo.result("sale.order", "read", [gone, ["name"]]) == []
    assert odoo.json2_result("sale.order", "search_count", domain=[["id", "in", gone]], **everything) == 0
    # Lines removed from living quotations are gone from their order's one2many too.
    living = odoo.result("sale.order", "search_read", [[]], {"fields": ["order_line"], **everything})
    assert not {line for row in living for line in row["order_line"]} & set(deleted_lines)


def test_a_late_commit_shows_up_behind_a_cursor_that_passed_it() -> None:
    world = MovingWorld(now=NOW, orders_per_day=40)
    late = world.committed_late("sale.order")
    assert late, "some transactions commit late"
    record = late[0]
    written = datetime.fromisoformat(record["write_date"]).replace(tzinfo=UTC)
    committed = datetime.fromisoformat(record["committed_at"]).replace(tzinfo=UTC)
    window = (record["write_date"], (written + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S"))
    world.clock = committed - timedelta(seconds=1)  # the cursor has passed write_date; not committed yet
    assert record["id"] not in {row["id"] for row in world.written_between("sale.order", *window)}
    world.clock = committed
    assert record["id"] in {row["id"] for row in world.written_between("sale.order", *window)}


# -- values and metadata ---------------------------------------------------------------------------


def test_many2one_values_and_load_none(odoo: Odoo, world: OdooWorld) -> None:
    fields = ["partner_id", "user_id", "client_order_ref", "validity_date", "order_line"]
    rows = odoo.result("sale.order", "search_read", [[]], {"fields": fields, "limit": 40, "order": "id"})
    partners = {row["id"]: row["display_name"] for row in world.records("res.partner")}
    for row in rows:
        partner_id, partner_name = row["partner_id"]
        assert partners[partner_id] == partner_name and isinstance(row["user_id"][0], int)
        assert all(isinstance(line, int) for line in row["order_line"])
    assert any(row["client_order_ref"] is False for row in rows) and any(
        row["client_order_ref"] for row in rows
    )
    bare = odoo.json2_result(
        "sale.order", "search_read", domain=[], fields=fields, limit=40, order="id", load=None
    )
    assert [row["partner_id"] for row in bare] == [row["partner_id"][0] for row in rows]
    read = odoo.result("sale.order", "read", [[rows[0]["id"]], ["partner_id"]], {"load": None})
    assert read == [{"id": rows[0]["id"], "partner_id": bare[0]["partner_id"]}]
    sections = odoo.result(
        "sale.order.line",
        "search_read",
        [[["display_type", "!=", False]]],
        {"fields": ["product_id", "product_uom_id", "tax_ids", "display_type"]},
    )
    assert sections and all(
        row["product_id"] is False and row["product_uom_id"] is False and row["tax_ids"] == []
        for row in sections
    )


def test_fields_get_describes_fields_with_odoos_types(odoo: Odoo) -> None:
    described = odoo.json2_result("sale.order", "fields_get", attributes=["type", "relation", "selection"])
    types = {name: field["type"] for name, field in described.items()}
    assert types["name"] == "char" and types["validity_date"] == "date" and types["write_date"] == "datetime"
    assert types["amount_total"] == "monetary" and types["active"] == "boolean" and types["id"] == "integer"
    assert described["partner_id"] == {"type": "many2one", "relation": "res.partner"}
    assert described["order_line"] == {"type": "one2many", "relation": "sale.order.line"}
    assert ["sale", "Sales Order"] in described["state"]["selection"]
    lines = odoo.result("sale.order.line", "fields_get", [], {"attributes": ["type"]})
    assert {lines[name]["type"] for name in ("name", "price_unit", "sequence", "tax_ids")} == {
        "text",
        "float",
        "integer",
        "many2many",
    }
    full = odoo.result("sale.order", "fields_get", [["amount_total"]])
    assert (
        full["amount_total"]["currency_field"] == "currency_id" and full["amount_total"]["string"] == "Total"
    )


def test_odoo_17_has_no_json2_and_the_older_field_names(odoo17: Odoo, odoo: Odoo) -> None:
    assert odoo17.json2("sale.order", "search", domain=[]).status_code == 404
    assert httpx.get(f"{odoo17.url}/web/version").status_code == 404
    assert odoo17.rpc("common", "version")["result"]["server_version"] == "17.0"
    old = odoo17.result("sale.order.line", "fields_get", [], {"attributes": ["type"]})
    new = odoo.result("sale.order.line", "fields_get", [], {"attributes": ["type"]})
    assert {"product_uom", "tax_id"} <= set(old) and not {"product_uom_id", "tax_ids"} & set(old)
    assert {"product_uom_id", "tax_ids"} <= set(new) and not {"product_uom", "tax_id"} & set(new)
    row = odoo17.result("sale.order.line", "search_read", [[["display_type", "=", False]]], {"limit": 1})[0]
    assert isinstance(row["product_uom"], list) and isinstance(row["tax_id"], list)


def test_a_zoned_datetime_literal_is_rejected(odoo: Odoo) -> None:
    for literal in ("2026-01-10T00:00:00+00:00", "2026-01-10 00:00:00+01:00", "2026-01-10T00:00:00Z"):
        body = json2_error(odoo.json2("sale.order", "search", domain=[["write_date", ">=", literal]]), 500)
        assert body["name"] == "builtins.ValueError"
        assert literal in body["message"] or "unconverted data remains" in body["message"]
        assert rpc_error(odoo.execute("sale.order", "search", [[["write_date", ">=", literal]]]))["name"] == (
            "builtins.ValueError"
        )
    naive = odoo.json2_result(
        "sale.order", "search_count", domain=[["write_date", ">=", "2026-01-10 00:00:00"]]
    )
    by_day = odoo.json2_result("sale.order", "search_count", domain=[["write_date", ">=", "2026-01-10"]])
    assert naive == by_day > 0


def test_domains_follow_odoos_operators(world: OdooWorld) -> None:
    orders = world.records("sale.order", include_archived=False)
    by_id = {row["id"]: row for row in orders}

    def ids(domain: list[Any]) -> set[int]:
        return set(world.search("sale.order", domain))

    every = set(by_id)
    sale = {i for i, row in by_id.items() if row["state"] == "sale"}
    assert ids([["state", "=", "sale"]]) == sale
    assert ids(["!", ["state", "=", "sale"]]) == ids([["state", "!=", "sale"]]) == every - sale
    assert ids(["|", ["state", "=", "sale"], ["state", "=", "cancel"]]) == ids(
        [["state", "in", ["sale", "cancel"]]]
    )
    assert ids(["&", ["state", "not in", ["sale"]], ["amount_total", ">", 1000]]) == {
        i for i, row in by_id.items() if row["state"] != "sale" and row["amount_total"] > 1000
    }
    assert ids([["client_order_ref", "=", False]]) == {
        i for i, row in by_id.items() if not row["client_order_ref"]
    }
    assert ids([["client_order_ref", "!=", False]]) == {
        i for i, row in by_id.items() if row["client_order_ref"]
    }
    assert ids([["client_order_ref", "=like", "PO-1%"]]) == {
        i for i, row in by_id.items() if (row["client_order_ref"] or "").startswith("PO-1")
    }
    name = orders[0]["partner_id"][1].split(",")[0]
    assert ids([["partner_id.name", "ilike", name.upper()]]) >= ids(
        [["partner_id", "=", orders[0]["partner_id"][0]]]
    )
    assert ids([["partner_id", "ilike", name.lower()]]) == ids([["partner_id.complete_name", "ilike", name]])
    assert ids([["order_line.product_id.default_code", "like", "SRV_"]]) == {
        i
        for i, row in by_id.items()
        if any(
            (line["product_id"] or [0, ""])[1].startswith("[SRV_")
            for line in world.read("sale.order.line", row["order_line"], ["product_id"])
        )
    }
    assert ids([["validity_date", "<", "2026-01-12"]]) == {
        i for i, row in by_id.items() if row["validity_date"] < "2026-01-12"
    }
    parents = {row["id"]: row["parent_id"] and row["parent_id"][0] for row in world.records("res.partner")}
    company = next(parent for parent in parents.values() if parent)
    family = {company} | {child for child, parent in parents.items() if parent == company}
    assert ids([["partner_id", "child_of", company]]) == {
        i for i, row in by_id.items() if row["partner_id"][0] in family
    }
    assert ids([["partner_id.name", "not ilike", name]]) == every - ids([["partner_id.name", "ilike", name]])
    assert ids([["user_id", "=?", False]]) == every
    assert ids([]) == every and ids([(0, "=", 1)]) == set()
    with pytest.raises(Exception, match="Invalid field sale.order.nope"):
        world.search("sale.order", [["nope", "=", 1]])


def test_amounts_are_rounded_and_add_up(world: OdooWorld) -> None:
    lines_by_order: dict[int, list[dict[str, Any]]] = {}
    for line in world.records("sale.order.line"):
        lines_by_order.setdefault(line["order_id"][0], []).append(line)
    for order in world.records("sale.order"):
        lines = lines_by_order.get(order["id"], [])
        assert sorted(line["id"] for line in lines) == sorted(order["order_line"])
        for amount in ("amount_untaxed", "amount_tax", "amount_total"):
            assert math.isclose(order[amount], round(order[amount], 2))
        assert math.isclose(
            order["amount_untaxed"], sum(line["price_subtotal"] for line in lines), abs_tol=0.005
        )
        assert math.isclose(
            order["amount_total"], order["amount_untaxed"] + order["amount_tax"], abs_tol=0.005
        )
        assert all(line["state"] == order["state"] for line in lines)
        assert order["create_date"] <= order["write_date"] and all(
            line["write_date"] >= line["create_date"] for line in lines
        )


# -- determinism ------------------------------------------------------------------------------------


class MovingWorld(OdooWorld):
    """A world whose clock a test moves (the sandbox's real clock, under control)."""

    clock: datetime | None = None

    @property
    def now(self) -> datetime:
        return self.clock or super().now


def test_the_world_is_a_pure_function_of_its_arguments_and_the_clock() -> None:
    args = {"start_date": date(2026, 1, 1), "orders_per_day": 15}
    first, second = OdooWorld(now=NOW, **args), OdooWorld(now=NOW, **args)
    for model in ("sale.order", "sale.order.line", "res.partner", "product.product"):
        assert first.records(model) == second.records(model)
    assert OdooWorld(seed=5, now=NOW, **args).records("sale.order") != first.records("sale.order")
    # Moving the clock forward step by step ends where starting there does.
    moving = MovingWorld(now=NOW, **args)
    for day in range(3, 16, 4):
        moving.clock = datetime(2026, 1, day, 9, 30, tzinfo=UTC)
        moving.records("sale.order")
    moving.clock = NOW
    assert moving.records("sale.order.line") == first.records("sale.order.line")
    assert moving.deleted("sale.order") == first.deleted("sale.order")
