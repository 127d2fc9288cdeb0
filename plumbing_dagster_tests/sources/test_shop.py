"""The shop source against its emulator over real HTTP on loopback: paging, windows, determinism,
referential integrity, and how the client behaves when the API misbehaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from plumbing_dagster.kit import (
    ApiError,
    ConnectionError_,
    Extract,
    RestClient,
    RetryPolicy,
    ServerFilter,
    Window,
)
from plumbing_dagster.kit.emulator import (
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
    Fault,
)
from plumbing_dagster.sources.shop import VENDOR, ShopEmulator, ShopWorld
from plumbing_dagster.sources.shop.connection import ShopConnection
from plumbing_dagster.sources.shop.emulator.app import ORDERS_PATH, USERS_PATH
from plumbing_dagster.sources.shop.emulator.world import ORDERS_PAGE_MAX
from plumbing_dagster.sources.shop.endpoints import connect

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = date(2026, 2, 10)
API_KEY = "sandbox-shop-key"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01)
PAGE_SIZE = ORDERS_PAGE_MAX  # what the orders endpoint asks for


@pytest.fixture(scope="module")
def emulator() -> ShopEmulator:
    # One emulator for the module: its data is immutable, and its day caches make tests fast.
    # Enough orders a day for a few pages.
    return ShopEmulator(now=NOW, orders_per_day=2400)


@pytest.fixture
def server(emulator: ShopEmulator) -> Iterator[EmulatorServer]:
    # A fresh server per test, so queued faults never leak into the next test.
    with EmulatorServer(emulator) as running:
        yield running


def make_client(server: EmulatorServer, api_key: str = API_KEY) -> RestClient:
    client = connect(ShopConnection(base_url=server.url, api_key=api_key))
    client.api.retry = FAST_RETRY
    return client


def pages_of(client: RestClient, stream: str, window: Window | None = None) -> list[list[dict[str, Any]]]:
    return list(VENDOR.endpoints[stream].fetch(client, Extract(window)))


def fetch_orders(server: EmulatorServer, window: Window | None) -> list[dict[str, Any]]:
    with make_client(server) as client:
        return [record for page in pages_of(client, "orders", window) for record in page]


# -- orders ------------------------------------------------------------------------------------


def test_orders_of_a_day_come_back_exactly_across_pages(
    emulator: ShopEmulator, server: EmulatorServer
) -> None:
    window = Window.for_day(DAY)
    expected = emulator.world.orders_updated_between(window.start, window.end)

    with make_client(server) as client:
        pages = pages_of(client, "orders", window)
    orders = [record for page in pages for record in page]

    assert len(expected) > PAGE_SIZE  # else paging was never exercised
    assert len(pages) == -(-len(expected) // PAGE_SIZE)
    assert [o["id"] for o in orders] == [o["id"] for o in expected]
    assert orders == expected
    assert len({o["id"] for o in orders}) == len(orders)
    sort_keys = [(o["updated_at"], o["id"]) for o in orders]
    assert sort_keys == sorted(sort_keys)
    assert all(o["updated_at"].startswith(DAY.isoformat()) for o in orders)
    # Orders change for up to two days after checkout, so a day holds orders created D-2..D.
    created_days = {date.fromisoformat(o["created_at"][:10]) for o in orders}
    assert created_days == {DAY - timedelta(days=2), DAY - timedelta(days=1), DAY}


def test_order_records_are_well_formed(emulator: ShopEmulator) -> None:
    orders = emulator.world.orders_updated_between(*_bounds(Window.for_day(DAY)))
    for order in orders:
        assert set(order) == {
            "id",
            "user_id",
            "status",
            "currency",
            "total_amount",
            "created_at",
            "updated_at",
            "line_items",
        }
        assert order["status"] in {"pending", "paid", "shipped", "cancelled", "refunded"}
        assert order["currency"] == "EUR"
        assert 1 <= len(order["line_items"]) <= 4
        line_total = sum(item["quantity"] * item["unit_price"] for item in order["line_items"])
        assert order["total_amount"] == round(line_total, 2)
        assert order["created_at"] <= order["updated_at"]
        assert order["created_at"].endswith("Z") and len(order["created_at"]) == 20
    assert sum(1 for o in orders if o["created_at"] == o["updated_at"]) > len(orders) / 5


def test_window_is_half_open(emulator: ShopEmulator, server: EmulatorServer) -> None:
    day = emulator.world.orders_updated_between(*_bounds(Window.for_day(DAY)))
    moment = datetime.fromisoformat(day[len(day) // 2]["updated_at"])
    at_moment = {o["id"] for o in day if o["updated_at"] == day[len(day) // 2]["updated_at"]}

    starting_at = fetch_orders(server, Window(moment, moment + timedelta(seconds=1)))
    ending_at = fetch_orders(server, Window(moment - timedelta(hours=1), moment))
    after = moment + timedelta(microseconds=1)
    just_after = fetch_orders(server, Window(after, after + timedelta(hours=1)))

    assert {o["id"] for o in starting_at} == at_moment
    assert not at_moment & {o["id"] for o in ending_at}
    assert not at_moment & {o["id"] for o in just_after}

    # Adjacent windows split a day without gaps or overlaps.
    noon = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=12)
    morning = fetch_orders(server, Window(noon - timedelta(hours=12), noon))
    afternoon = fetch_orders(server, Window(noon, noon + timedelta(hours=12)))
    assert morning + afternoon == day


def test_nothing_updated_after_now_is_served(emulator: ShopEmulator, server: EmulatorServer) -> None:
    orders = fetch_orders(server, Window(NOW - timedelta(hours=6), NOW + timedelta(days=3)))
    assert orders
    assert max(o["updated_at"] for o in orders) <= NOW.isoformat().replace("+00:00", "Z")
    later = NOW + timedelta(seconds=1)
    assert emulator.world.orders_updated_between(later, later + timedelta(days=2)) == []


def test_the_same_arguments_give_the_same_data() -> None:
    first, second = ShopWorld(seed=3, now=NOW), ShopWorld(seed=3, now=NOW)
    other = ShopWorld(seed=4, now=NOW)
    bounds = _bounds(Window.for_day(DAY))

    assert first.orders_updated_between(*bounds) == second.orders_updated_between(*bounds)
    assert first.users() == second.users()
    assert first.products() == second.products()
    assert first.orders_updated_between(*bounds) != other.orders_updated_between(*bounds)


# -- users and products ------------------------------------------------------------------------


def test_users_and_products_page_through_the_snapshot(emulator: ShopEmulator, server: EmulatorServer) -> None:
    with make_client(server) as client:
        user_pages = pages_of(client, "users")
        product_pages = pages_of(client, "products")

    users = [u for page in user_pages for u in page]
    products = [p for page in product_pages for p in page]
    assert len(user_pages) > 1 and len(product_pages) > 1
    assert users == emulator.world.users()
    assert products == emulator.world.products()
    assert 100 < len(users) <= 200 and len(products) == 80
    assert len({u["id"] for u in users}) == len(users)
    assert len({p["sku"] for p in products}) == len(products)
    assert all(u["created_at"] <= NOW.isoformat() for u in users)


def test_users_grow_with_the_clock() -> None:
    early = ShopWorld(now=datetime(2026, 1, 2, tzinfo=UTC)).users()
    late = ShopWorld(now=datetime(2026, 12, 31, tzinfo=UTC)).users()
    assert 0 < len(early) < len(late)
    assert {u["id"] for u in early} < {u["id"] for u in late}


def test_orders_reference_existing_users_and_products(emulator: ShopEmulator) -> None:
    users = {u["id"]: u for u in emulator.world.users()}
    skus = {p["sku"]: p for p in emulator.world.products()}
    orders = emulator.world.orders_updated_between(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)
    )

    assert len(orders) > 1000
    for order in orders:
        user = users[order["user_id"]]
        assert user["created_at"] <= order["created_at"]  # customers sign up before they order
        for item in order["line_items"]:
            assert item["unit_price"] == skus[item["sku"]]["price"]


# -- misbehaving API ---------------------------------------------------------------------------


def test_rate_limits_with_retry_after_are_waited_out(emulator: ShopEmulator, server: EmulatorServer) -> None:
    window = Window.for_day(DAY)
    server.faults.add(Fault("rate_limit", times=3, path_prefix=ORDERS_PATH, retry_after=0.01))

    orders = fetch_orders(server, window)

    assert orders == emulator.world.orders_updated_between(window.start, window.end)
    assert server.faults.fired == [("rate_limit", ORDERS_PATH)] * 3


def test_server_errors_beyond_the_retry_budget_fail_with_a_clear_error(
    server: EmulatorServer,
) -> None:
    server.faults.add(Fault("server_error", times=FAST_RETRY.attempts, path_prefix=ORDERS_PATH))

    with pytest.raises(ApiError) as raised:
        fetch_orders(server, Window.for_day(DAY))

    message = str(raised.value)
    assert raised.value.status == 500
    assert "shop" in message and ORDERS_PATH in message and "500" in message
    assert API_KEY not in message
    assert len(server.faults.fired) == FAST_RETRY.attempts


def test_a_truncated_page_fails(server: EmulatorServer) -> None:
    server.faults.add(Fault("malformed", times=1, path_prefix=ORDERS_PATH))
    with pytest.raises(ApiError, match="not JSON"):
        fetch_orders(server, Window.for_day(DAY))


class _WrongEnvelope:
    """Answers 200 with valid JSON that is not the documented envelope."""

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return EmulatorResponse.of_json({"orders": [], "page": "1"})


def test_a_page_without_the_expected_envelope_fails() -> None:
    with EmulatorServer(_WrongEnvelope()) as server, make_client(server) as client:
        with pytest.raises(ApiError, match="malformed page") as raised:
            pages_of(client, "orders")
        assert ORDERS_PATH in str(raised.value) and "(page 1)" in str(raised.value)
        with pytest.raises(ApiError, match="malformed page"):
            pages_of(client, "users")


def test_a_wrong_api_key_is_a_401_that_does_not_leak_the_key(server: EmulatorServer) -> None:
    wrong_key = "not-the-right-key-123"
    with make_client(server, api_key=wrong_key) as client, pytest.raises(ApiError) as raised:
        pages_of(client, "orders", Window.for_day(DAY))
    assert raised.value.status == 401
    assert "401" in str(raised.value)
    assert wrong_key not in str(raised.value)
    assert server.requests_served == 1  # a 401 is final, not retried


def test_a_missing_api_key_is_named_without_values() -> None:
    with pytest.raises(ConnectionError_, match="shop: SHOP_API_KEY not set"):
        ShopConnection.from_values({"base_url": "http://127.0.0.1:1"})
    assert "k3y-v4lue" not in repr(ShopConnection(base_url="http://x", api_key="k3y-v4lue"))


# -- the emulator's own contract ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (ORDERS_PATH, {"limit": "0"}),
        (ORDERS_PATH, {"limit": "1001"}),
        (ORDERS_PATH, {"limit": "many"}),
        (ORDERS_PATH, {"updated_from": "yesterday"}),
        (ORDERS_PATH, {"updated_from": "2026-02-10T00:00:00"}),  # no time zone
        (ORDERS_PATH, {"updated_from": "2026-02-11T00:00Z", "updated_to": "2026-02-10T00:00Z"}),
        (ORDERS_PATH, {"cursor": "not-a-cursor"}),
        (USERS_PATH, {"page": "0"}),
        (USERS_PATH, {"per_page": "501"}),
    ],
)
def test_bad_parameters_are_a_400(emulator: ShopEmulator, path: str, query: dict[str, str]) -> None:
    response = emulator.handle(_request(path, query))
    assert response.status == 400
    error = json.loads(response.body)["error"]
    assert error["code"] == 400 and error["key"] == "invalid_parameter" and error["message"]


def test_missing_auth_and_unknown_paths(emulator: ShopEmulator) -> None:
    unauthorized = emulator.handle(_request(ORDERS_PATH, {}, api_key=None))
    assert unauthorized.status == 401
    assert json.loads(unauthorized.body)["error"]["key"] == "unauthorized"
    assert emulator.handle(_request("/api/v1/invoices", {})).status == 404


def test_the_vendor_wires_client_endpoints_and_emulator(server: EmulatorServer) -> None:
    assert set(VENDOR.endpoints) == {"orders", "users", "products"}
    assert VENDOR.endpoints["orders"].sync_modes == ("incremental",)
    assert VENDOR.endpoints["users"].sync_modes == ("incremental", "full_refresh")
    assert VENDOR.endpoints["products"].primary_key == ("sku",)
    sandbox = VENDOR.emulator()
    assert isinstance(sandbox, ShopEmulator)
    assert abs(sandbox.world.now - datetime.now(UTC)) < timedelta(minutes=1)  # the real clock by default

    with VENDOR.connect(VENDOR.sandbox_connection(server.url)) as client:
        for name, endpoint in VENDOR.endpoints.items():
            server_side = isinstance(endpoint.cursors[endpoint.default_cursor], ServerFilter)
            records = [
                r
                for page in pages_of(client, name, Window.for_day(DAY) if server_side else None)
                for r in page
            ]
            assert records, name
            assert all(r[endpoint.default_cursor] for r in records)


# -- helpers -----------------------------------------------------------------------------------


def _bounds(window: Window) -> tuple[datetime, datetime]:
    return window.start, window.end


def _request(path: str, query: dict[str, str], api_key: str | None = API_KEY) -> EmulatorRequest:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    return EmulatorRequest(
        method="GET",
        path=path,
        query={name: [value] for name, value in query.items()},
        headers=headers,
        body=b"",
    )
