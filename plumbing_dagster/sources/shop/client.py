"""The client of our order API: Bearer auth, cursor paging for orders, page numbers for the rest.

Retries, backoff and `Retry-After` live in `ApiClient`; this module adds the API's paging and checks
that each page has the documented envelope, so a malformed page fails loudly instead of landing as
an empty or partial day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.sources.arrow import ArrowPageParser
from plumbing_dagster.sources.http import ApiClient, ApiError, RetryPolicy
from plumbing_dagster.sources.vendor import Connection, Page, Window

logger = logging.getLogger(__name__)

VENDOR_NAME = "shop"
ORDERS_PATH = "/api/v1/orders"
USERS_PATH = "/api/v1/users"
PRODUCTS_PATH = "/api/v1/products"
ORDERS_LIMIT_MAX = 1000
PER_PAGE_MAX = 500


def iso_utc(moment: datetime) -> str:
    """A UTC ISO 8601 string ending in `Z`, as the API expects for `updated_from`/`updated_to`."""
    timespec = "microseconds" if moment.microsecond else "seconds"
    text = moment.astimezone(UTC).isoformat(timespec=timespec)
    return text.replace("+00:00", "Z")


class ShopClient:
    """Reads orders, users and products from the shop API."""

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 1000,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ):
        if not connection.api_key:
            raise ValueError(f"{VENDOR_NAME}: SHOP_API_KEY is missing; set it to the shop API key")
        if page_size < 1:
            raise ValueError(f"{VENDOR_NAME}: page_size must be at least 1, got {page_size}")
        self.page_size = page_size
        self._base_url = connection.base_url
        self._api = ApiClient(
            vendor=VENDOR_NAME,
            base_url=connection.base_url,
            headers={"Authorization": f"Bearer {connection.api_key}"},
            timeout=timeout,
            retry=retry,
        )

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> ShopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_orders(
        self, window: Window | None = None, arrow_fields: Mapping[str, FieldSpec] | None = None
    ) -> Iterator[Page | pa.Table]:
        """Orders whose `updated_at` lies in `window` (all orders for `None`), page by page.

        With `arrow_fields`, pages come as Arrow tables of those fields, parsed by pyarrow's JSON
        reader; a page whose values do not fit them comes as dicts, parsed the ordinary way.
        """
        parser = ArrowPageParser("data", arrow_fields, {"next_cursor": pa.string()}) if arrow_fields else None
        params: dict[str, Any] = {"limit": min(self.page_size, ORDERS_LIMIT_MAX)}
        if window is not None:
            params["updated_from"] = iso_utc(window.start)
            params["updated_to"] = iso_utc(window.end)
        cursor: str | None = None
        pages = records = 0
        while True:
            page_params = {**params, "cursor": cursor} if cursor else params
            response = self._api.request("GET", ORDERS_PATH, params=page_params)
            parsed = parser.parse(response.content) if parser else None
            if parsed is not None:
                data, meta = parsed
                next_cursor = meta["next_cursor"]
            else:
                body = self._api.parse_json(response)
                data = self._data(body, ORDERS_PATH)
                next_cursor = body.get("next_cursor")
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise self._malformed(ORDERS_PATH, "'next_cursor' is neither a string nor null")
            if next_cursor is not None and next_cursor == cursor:
                # The same cursor again would loop forever; a broken API, not an empty day.
                raise self._malformed(ORDERS_PATH, "'next_cursor' did not advance")
            pages, records = pages + 1, records + len(data)
            if data:
                yield data
            if not next_cursor:
                break
            cursor = next_cursor
        logger.debug("%s: %d orders in %d pages", VENDOR_NAME, records, pages)

    def iter_users(self) -> Iterator[Page]:
        """All users (a snapshot), page by page."""
        return self._iter_numbered(USERS_PATH)

    def iter_products(self) -> Iterator[Page]:
        """All products (a snapshot), page by page."""
        return self._iter_numbered(PRODUCTS_PATH)

    def _iter_numbered(self, path: str) -> Iterator[Page]:
        per_page = min(self.page_size, PER_PAGE_MAX)
        page = 1
        while True:
            body = self._api.get_json(path, params={"page": page, "per_page": per_page})
            data = self._data(body, path)
            total = body.get("total")
            served_per_page = body.get("per_page")
            if not isinstance(total, int) or not isinstance(served_per_page, int):
                raise self._malformed(path, "'total' or 'per_page' is missing or not an integer")
            if served_per_page < 1:
                raise self._malformed(path, "'per_page' is not positive")
            if data:
                yield data
            # The server may lower per_page, so the last page is judged by what it says it used.
            if not data or page * served_per_page >= total:
                break
            page += 1

    def _data(self, body: Any, path: str) -> Page:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise self._malformed(path, "expected an object with a 'data' list")
        data = body["data"]
        if not all(isinstance(record, dict) for record in data):
            raise self._malformed(path, "'data' holds something other than objects")
        return data

    def _malformed(self, path: str, problem: str) -> ApiError:
        url = self._public_url(path)
        return ApiError(VENDOR_NAME, "GET", url, 200, f"malformed page: {problem}")

    def _public_url(self, path: str) -> str:
        # Same shape as ApiClient's errors: no query string, no user info.
        url = httpx.URL(self._base_url)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}{url.path.rstrip('/')}{path}"
