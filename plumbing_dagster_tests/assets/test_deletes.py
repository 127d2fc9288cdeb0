"""For APIs that never report deletes: a key snapshot lands with each day, and `__current` marks
a key that disappeared with the first snapshot day it was missing (`deleted_on`), in both
warehouses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.discovery import discovered_stream, write_discovered
from plumbing_dagster.kit import (
    ApiClient,
    ConnectionSettings,
    Endpoint,
    Extract,
    PageRequest,
    RestClient,
    ServerFilter,
    SinglePage,
    Vendor,
    iter_pages,
    setting,
)
from plumbing_dagster.kit.emulator import EmulatorApp, EmulatorRequest, EmulatorResponse, Route
from plumbing_dagster_tests.assets.helpers import postgres_rows, warehouse_rows
from plumbing_dagster_tests.conftest import materialize

DAY_1, DAY_2 = date(2026, 6, 1), date(2026, 6, 2)


class ItemsApp(EmulatorApp):
    """Items 1..5 change every day at 06:00; `deleted` maps an id to the moment it was deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 6, 2, tzinfo=UTC)
        self.deleted: dict[int, datetime] = {}

    def routes(self) -> Sequence[Route]:
        return [
            Route("GET", "/items", self._items, "items", scope=None),
            Route("GET", "/ids", self._ids, "ids", scope=None),
        ]

    def _alive(self, item: int, at: datetime) -> bool:
        return item not in self.deleted or self.deleted[item] > at

    def _items(self, request: EmulatorRequest) -> EmulatorResponse:
        start = datetime.fromisoformat(request.arg("from", ""))
        records = []
        moment = start.replace(hour=6)
        for item in range(1, 6):
            if moment < self.now and self._alive(item, moment):
                records.append(
                    {"id": item, "updated_at": moment.isoformat(), "name": f"item {item} on {start:%d}"}
                )
        return EmulatorResponse.of_json({"data": records})

    def _ids(self, request: EmulatorRequest) -> EmulatorResponse:
        return EmulatorResponse.of_json(
            {"data": [{"id": i} for i in range(1, 6) if self._alive(i, self.now)]}
        )


@dataclass(frozen=True, kw_only=True, repr=False)
class ItemsConnection(ConnectionSettings):
    vendor = "tracked"
    base_url: str = setting(env="TRACKED_URL")


def _items(client: RestClient, extract: Extract) -> Any:
    assert extract.window is not None
    params = {"from": extract.window.start.isoformat()}
    return iter_pages(client.api, PageRequest("GET", "/items", params), SinglePage(), "data")


def _ids(client: RestClient, extract: Extract) -> Any:
    return iter_pages(client.api, PageRequest("GET", "/ids"), SinglePage(), "data")


APP = ItemsApp()
ENDPOINT = Endpoint(
    name="items",
    fetch=_items,
    primary_key=("id",),
    cursors={"updated_at": ServerFilter()},
    snapshot=False,
    description="items",
    ids=_ids,
)
VENDOR = Vendor(
    name="tracked",
    start_date=date(2026, 5, 1),
    endpoints={"items": ENDPOINT},
    connection=ItemsConnection,
    connect=lambda settings: RestClient(ApiClient("tracked", settings.base_url)),
    emulator=lambda: APP,
    sandbox_connection=lambda url: ItemsConnection(base_url=url),
)
FIELDS = {
    "id": FieldSpec(type="integer"),
    "name": FieldSpec(type="string"),
    "updated_at": FieldSpec(type="string", format="date-time"),
}


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_deleted_key_is_marked_deleted_on_the_next_days_snapshot(
    sandbox, tmp_path: Path, warehouse: str
) -> None:
    dag_dir = tmp_path / "dag"
    write_discovered(dag_dir, "tracked", discovered_stream(ENDPOINT, FIELDS))
    (dag_dir / "streams" / "tracked").mkdir(parents=True)
    (dag_dir / "streams" / "tracked" / "items.json").write_text(
        json.dumps(
            {
                "stream": "items",
                "sync_mode": "incremental",
                "destination_sync_mode": "merge",
                "warehouse": warehouse,
                "fields": {n: f.model_dump(exclude_none=True) for n, f in FIELDS.items()},
            }
        )
    )
    defs = build_definitions(sandbox, dag_dir, vendors={"tracked": VENDOR})
    selection = ["raw/tracked/items_landed", "staging/tracked/items"]
    APP.deleted.clear()
    APP.now = datetime.combine(DAY_2, datetime.min.time(), UTC)  # the end of day 1
    assert materialize(defs, selection, partition_key=DAY_1.isoformat()).success
    APP.deleted[3] = datetime.combine(DAY_2, datetime.min.time(), UTC) + timedelta(hours=3)
    APP.now = datetime.combine(DAY_2 + timedelta(days=1), datetime.min.time(), UTC)
    assert materialize(defs, selection, partition_key=DAY_2.isoformat()).success

    read = postgres_rows if warehouse == "postgres" else lambda sql: warehouse_rows(sandbox, sql)
    current = read("SELECT id, partition_date, deleted_on FROM tracked.items__current ORDER BY id")
    assert current == [
        (1, DAY_2, None),
        (2, DAY_2, None),
        (3, DAY_1, DAY_2),  # last landed on day 1, missing from day 2's snapshot
        (4, DAY_2, None),
        (5, DAY_2, None),
    ]
    snapshots = read("SELECT partition_date, count(*) FROM tracked.items__keys GROUP BY 1 ORDER BY 1")
    assert snapshots == [(DAY_1, 5), (DAY_2, 4)]
