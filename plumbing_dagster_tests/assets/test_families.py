"""Streams derived from one request land from ONE read of its pages per day, each with its own
rows: a family of `orders` (the order) and `order_lines` (one row per line)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from plumbing_dagster.config import ConfigError, load_stream_configs
from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.discovery import discovered_stream, write_discovered
from plumbing_dagster.kit import (
    ApiClient,
    ConnectionSettings,
    PageNumber,
    PageRequest,
    RestClient,
    ServerFilter,
    Vendor,
    iter_pages,
    setting,
)
from plumbing_dagster.kit.emulator import EmulatorApp, EmulatorRequest, EmulatorResponse, Route, int_arg
from plumbing_dagster.kit.streams import Member, family_endpoints
from plumbing_dagster_tests.assets.helpers import warehouse_rows
from plumbing_dagster_tests.conftest import materialize

START, DAY = date(2026, 5, 1), date(2026, 5, 2)


def _orders() -> list[dict[str, Any]]:
    orders = []
    for n in range(1, 31):
        moment = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(hours=n * 3)  # 8 a day
        lines = [{"sku": f"S{n}-{i}", "qty": i} for i in range(1, n % 3 + 2)]
        orders.append({"id": n, "updated_at": moment.isoformat().replace("+00:00", "Z"), "lines": lines})
    return orders


class OrdersApp(EmulatorApp):
    def routes(self) -> Sequence[Route]:
        return [Route("GET", "/orders", self._orders, "orders", scope=None)]

    def _orders(self, request: EmulatorRequest) -> EmulatorResponse:
        found = [o for o in _orders() if request.arg("from", "") <= o["updated_at"] < request.arg("to", "~")]
        page, size = int_arg(request, "page", 1, 1), 3
        return EmulatorResponse.of_json(
            {"data": found[(page - 1) * size : page * size], "total": len(found), "size": size}
        )


@dataclass(frozen=True, kw_only=True, repr=False)
class OrdersConnection(ConnectionSettings):
    vendor = "famshop"
    base_url: str = setting(env="FAMSHOP_URL")


def _raw(client: RestClient, extract: Any):  # noqa: ANN202
    params = {}
    if extract.window is not None:
        params = {
            k: v.isoformat().replace("+00:00", "Z")
            for k, v in (("from", extract.window.start), ("to", extract.window.end))
        }
    paging = PageNumber(size_param=None, total_path="total", served_size_path="size")
    return iter_pages(client.api, PageRequest("GET", "/orders", params), paging, "data")


class FamilyOptions(BaseModel):
    """Options the family's one read would honour (here: none that change the request)."""

    status: str = "any"


ENDPOINTS = family_endpoints(
    "orders",
    raw=_raw,
    options=FamilyOptions,
    cursors={"updated_at": ServerFilter()},
    members={
        "orders": Member(lambda o: [{"id": o["id"], "updated_at": o["updated_at"]}], ("id",), "orders"),
        "order_lines": Member(
            lambda o: [
                {
                    "order_id": o["id"],
                    "line": i,
                    "sku": li["sku"],
                    "qty": li["qty"],
                    "updated_at": o["updated_at"],
                }
                for i, li in enumerate(o["lines"])
            ],
            ("order_id", "line"),
            "one row per order line",
        ),
    },
)
APP = OrdersApp()
VENDOR = Vendor(
    name="famshop",
    start_date=START,
    endpoints=ENDPOINTS,
    connection=OrdersConnection,
    connect=lambda settings: RestClient(ApiClient("famshop", settings.base_url)),
    emulator=lambda: APP,
    sandbox_connection=lambda url: OrdersConnection(base_url=url),
)
TIME = FieldSpec(type="string", format="date-time")
FIELDS = {
    "orders": {"id": FieldSpec(type="integer"), "updated_at": TIME},
    "order_lines": {
        "order_id": FieldSpec(type="integer"),
        "line": FieldSpec(type="integer"),
        "sku": FieldSpec(type="string"),
        "qty": FieldSpec(type="integer"),
        "updated_at": TIME,
    },
}


def write_dag(dag_dir: Path, options: dict[str, dict] | None = None, **modes: str) -> None:
    for stream, fields in FIELDS.items():
        write_discovered(dag_dir, "famshop", discovered_stream(VENDOR.endpoints[stream], fields))
        config = {
            "stream": stream,
            "sync_mode": modes.get(stream, "incremental"),
            "destination_sync_mode": "merge",
            "fields": {n: f.model_dump(exclude_none=True) for n, f in fields.items()},
            "options": (options or {}).get(stream, {}),
        }
        (dag_dir / "streams" / "famshop").mkdir(parents=True, exist_ok=True)
        (dag_dir / "streams" / "famshop" / f"{stream}.json").write_text(json.dumps(config))


def test_a_family_lands_every_stream_from_one_read_per_day(sandbox, tmp_path: Path) -> None:
    write_dag(tmp_path / "dag")
    defs = build_definitions(sandbox, tmp_path / "dag", vendors={"famshop": VENDOR})
    before = APP.requests["orders"]
    assert materialize(
        defs,
        [
            "raw/famshop/orders_landed",
            "raw/famshop/order_lines_landed",
            "staging/famshop/orders",
            "staging/famshop/order_lines",
        ],
        partition_key=DAY.isoformat(),
    ).success
    day_orders = [o for o in _orders() if o["updated_at"].startswith(DAY.isoformat())]
    assert APP.requests["orders"] - before == 3  # 8 orders, 3 a page: one read, not one per stream
    assert warehouse_rows(sandbox, "SELECT id FROM famshop.orders ORDER BY id") == [
        (o["id"],) for o in day_orders
    ]
    lines = warehouse_rows(sandbox, "SELECT order_id, line, sku FROM famshop.order_lines ORDER BY ALL")
    assert lines == [(o["id"], i, li["sku"]) for o in day_orders for i, li in enumerate(o["lines"])]


def test_members_of_a_family_must_ask_for_the_same_window(tmp_path: Path) -> None:
    write_dag(tmp_path, order_lines="full_refresh")
    with pytest.raises(
        ConfigError,
        match=r"orders is read in one request with order_lines \(family 'orders'\), so it needs the same",
    ):
        load_stream_configs(tmp_path, {"famshop": VENDOR})


def test_members_of_a_family_must_share_their_options(tmp_path: Path) -> None:
    write_dag(tmp_path, options={"orders": {"status": "paid"}})
    with pytest.raises(
        ConfigError,
        match=r"field 'options': orders is read in one request with order_lines \(family 'orders'\), "
        r"so it needs the same options \(\{\}\)",
    ):
        load_stream_configs(tmp_path, {"famshop": VENDOR})
