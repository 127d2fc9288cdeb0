"""Pages parsed straight into Arrow land exactly like pages parsed into dicts; misfits fall back."""

import json
from datetime import UTC, datetime

import pyarrow as pa

from plumbing_dagster.config import DEFAULT_DAG_DIR, load_stream_configs
from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN, ArrowPageParser, records_to_table
from plumbing_dagster.kit import Extract, Window
from plumbing_dagster.kit.emulator import EmulatorRequest, EmulatorResponse, EmulatorServer
from plumbing_dagster.sources.shop import VENDOR as SHOP
from plumbing_dagster.sources.shop import ShopEmulator, ShopWorld

ORDERS = load_stream_configs(DEFAULT_DAG_DIR)["shop"]["orders"].fields
NOW = datetime(2026, 11, 1, tzinfo=UTC)
DAY = Window(datetime(2026, 10, 14, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC))


def test_arrow_and_dict_parsing_land_the_same_table():
    records = ShopWorld(now=NOW, orders_per_day=300).orders_updated_between(DAY.start, DAY.end)
    body = json.dumps({"data": records, "next_cursor": "c-2"}).encode()
    parsed = ArrowPageParser("data", ORDERS, {"next_cursor": pa.string()}).parse(body)
    assert parsed is not None
    table, meta = parsed
    assert meta == {"next_cursor": "c-2"}
    assert records_to_table(table, ORDERS).equals(records_to_table(json.loads(body)["data"], ORDERS))


def test_a_page_whose_values_do_not_fit_falls_back_and_records_the_violation():
    class OneBadPage:
        def handle(self, request: EmulatorRequest) -> EmulatorResponse:
            good = {"id": 1, "user_id": 7, "total_amount": 3.5, "line_items": []}
            bad = {"id": 2, "user_id": "seven", "total_amount": 1.0, "line_items": []}
            return EmulatorResponse.of_json({"data": [good, bad], "next_cursor": None})

    with EmulatorServer(OneBadPage()) as server, SHOP.connect(SHOP.sandbox_connection(server.url)) as client:
        pages = list(SHOP.endpoints["orders"].fetch(client, Extract(DAY, arrow_fields=ORDERS)))
    assert len(pages) == 1 and isinstance(pages[0], list)  # parsed as dicts, not Arrow
    landed = records_to_table(pages[0], ORDERS).to_pylist()
    assert [row["id"] for row in landed] == [1, 2]
    assert landed[0][VIOLATIONS_COLUMN] is None
    assert landed[1]["user_id"] is None and json.loads(landed[1][VIOLATIONS_COLUMN]) == {"user_id": "seven"}


def test_the_arrow_path_pages_through_the_whole_day():
    emulator = ShopEmulator(now=NOW, orders_per_day=2500)
    with EmulatorServer(emulator) as server, SHOP.connect(SHOP.sandbox_connection(server.url)) as client:
        pages = list(SHOP.endpoints["orders"].fetch(client, Extract(DAY, arrow_fields=ORDERS)))
    assert len(pages) > 2 and all(isinstance(p, pa.Table) for p in pages)
    ids = [i for page in pages for i in page.column("id").to_pylist()]
    assert ids == [o["id"] for o in emulator.world.orders_updated_between(DAY.start, DAY.end)]
