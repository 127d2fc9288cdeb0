"""The shop API over `ShopWorld`: Bearer API key, orders paged by an opaque cursor, users and
products paged by number, errors as `{"error": {"code", "key", "message"}}`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from plumbing_dagster.kit.emulator import (
    BadRequest,
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    Route,
    bearer_token,
    int_arg,
    same_secret,
)
from plumbing_dagster.sources.shop.emulator.world import ORDERS_PAGE_MAX, ShopWorld

ORDERS_PATH = "/api/v1/orders"
USERS_PATH = "/api/v1/users"
PRODUCTS_PATH = "/api/v1/products"
DEFAULT_PAGE_SIZE = 100
PER_PAGE_MAX = 500
SANDBOX_API_KEY = "sandbox-shop-key"  # only this emulator accepts it


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{key}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, key = text.split(":", 1)
        if version != "v1":
            raise ValueError(version)
        return int(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(
            "cursor is not valid; pass next_cursor from the previous page", key="invalid_parameter"
        ) from None


def _datetime_arg(request: EmulatorRequest, name: str) -> datetime | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 date-time such as 2026-11-01T00:00:00Z", key="invalid_parameter"
        ) from None
    if value.tzinfo is None:
        raise BadRequest(f"{name} must carry a time zone (use Z for UTC)", key="invalid_parameter")
    return value


class ShopEmulator(EmulatorApp):
    """Our order API. Ask `world` what it must serve."""

    def __init__(
        self,
        seed: int = 7,
        start_date: date = date(2026, 1, 1),
        orders_per_day: int = 2500,
        now: datetime | None = None,
        api_key: str = SANDBOX_API_KEY,
    ):
        super().__init__()
        self.world = ShopWorld(seed, start_date, orders_per_day, now)
        self.api_key = api_key

    def routes(self) -> Sequence[Route]:
        return [
            Route("GET", ORDERS_PATH + "/?", self._get_orders, "orders"),
            Route("GET", USERS_PATH + "/?", self._get_users, "users"),
            Route("GET", PRODUCTS_PATH + "/?", self._get_products, "products"),
        ]

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        if same_secret(bearer_token(request.header("Authorization")), self.api_key):
            return None
        return self.error(401, "unauthorized", "missing or invalid API key")

    def _get_orders(self, request: EmulatorRequest) -> EmulatorResponse:
        limit = int_arg(request, "limit", DEFAULT_PAGE_SIZE, 1, ORDERS_PAGE_MAX)
        start = _datetime_arg(request, "updated_from")
        end = _datetime_arg(request, "updated_to")
        if start and end and start > end:
            raise BadRequest("updated_from must not be after updated_to", key="invalid_parameter")
        low, high = self.world.order_key_bounds(start, end)
        cursor = request.arg("cursor")
        if cursor:
            low = max(low, decode_cursor(cursor) + 1)
        docs, last_key = self.world.orders_page(low, high, limit)
        next_cursor = json.dumps(encode_cursor(last_key) if last_key is not None else None)
        # Pre-rendered orders joined into the page: no dict per order (benchmarks serve 200k a day).
        body = '{"data":[' + ",".join(docs) + '],"next_cursor":' + next_cursor + "}"
        return EmulatorResponse(200, body.encode("utf-8"), {"Content-Type": "application/json"})

    def _paged(self, request: EmulatorRequest, records: list[dict[str, Any]]) -> EmulatorResponse:
        page = int_arg(request, "page", 1, 1, None)
        per_page = int_arg(request, "per_page", DEFAULT_PAGE_SIZE, 1, PER_PAGE_MAX)
        data = records[(page - 1) * per_page : page * per_page]
        return EmulatorResponse.of_json(
            {"data": data, "page": page, "per_page": per_page, "total": len(records)}
        )

    def _get_users(self, request: EmulatorRequest) -> EmulatorResponse:
        return self._paged(request, self.world.users())

    def _get_products(self, request: EmulatorRequest) -> EmulatorResponse:
        return self._paged(request, self.world.products())
