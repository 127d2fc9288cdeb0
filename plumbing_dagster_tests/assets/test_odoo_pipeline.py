"""Odoo end to end: a day of sales orders and lines landed and staged over JSON-2 and over JSON-RPC
(the same rows), same-second ties across pages, archives, deletes, typed many2one columns, and a
refused API key — each against an emulated Odoo with a fixed clock."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.keys import stream_selection
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.resources import VendorApisResource
from plumbing_dagster.sources.odoo import VENDOR, OdooEmulator, OdooWorld
from plumbing_dagster.sources.odoo.emulator.app import SANDBOX_API_KEY
from plumbing_dagster_tests.assets.helpers import day_files, landing_root, warehouse_rows
from plumbing_dagster_tests.conftest import check_results, definitions_for, materialize

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MASS_UPDATE = datetime(2026, 1, 14, 5, 0, tzinfo=UTC)  # 250 orders share this second
DAY = "2026-01-14"
STREAMS = ("sale_orders", "sale_order_lines")


class MovingWorld(OdooWorld):
    """A world whose clock a test moves from run to run."""

    clock: datetime | None = None

    @property
    def now(self) -> datetime:
        return self.clock or super().now


def odoo_day(day: str) -> tuple[str, str]:
    end = date.fromisoformat(day) + timedelta(days=1)
    return f"{day} 00:00:00", f"{end} 00:00:00"


def apis(server: EmulatorServer, **changes: str) -> VendorApisResource:
    """A `vendor_apis` resource on `server`, with connection settings changed as given."""
    settings = {k: v for k, v in VENDOR.sandbox_connection(server.url).values().items() if v is not None}
    return VendorApisResource(sandbox=False, connections={"odoo": {**settings, **changes}})


def selection(defs: dg.Definitions, streams: Sequence[str]) -> list[str]:
    """The raw and staging assets of `streams` (whatever else the layers add for them)."""
    keys = {k.to_user_string() for a in defs.assets for k in a.keys}  # type: ignore[union-attr]
    return [k for k in stream_selection("odoo", streams) if k in keys]


@contextmanager
def odoo(world: OdooWorld) -> Iterator[tuple[OdooEmulator, EmulatorServer]]:
    app = OdooEmulator(world)
    with EmulatorServer(app) as server:
        yield app, server


def run(
    defs: dg.Definitions, server: EmulatorServer, day: str, streams: Sequence[str] = STREAMS, **changes: str
) -> dg.ExecuteInProcessResult:
    result = materialize(
        defs, selection(defs, streams), partition_key=day, resources={"vendor_apis": apis(server, **changes)}
    )
    checks = check_results(result)
    assert all(e.passed for e in checks.values()), {k: v.metadata for k, v in checks.items() if not v.passed}
    return result


def pages_read(app: OdooEmulator, protocol: str) -> int:
    return sum(
        n for (used, _, method), n in app.calls.items() if used == protocol and method == "search_read"
    )


def table(sandbox, name: str) -> list[tuple]:  # noqa: ANN001
    return warehouse_rows(sandbox, f"SELECT * FROM odoo.{name} ORDER BY partition_date, id")


def test_a_day_lands_and_stages_identically_over_json2_and_json_rpc(sandbox) -> None:
    world = OdooWorld(now=NOW, mass_updates=[(MASS_UPDATE, 250)])
    defs = definitions_for(sandbox)
    seen = []
    with odoo(world) as (app, server):
        for protocol in ("json2", "jsonrpc", "json2"):  # the last run: again, nothing changes
            before = pages_read(app, protocol)
            assert run(defs, server, DAY, protocol=protocol).success
            assert pages_read(app, protocol) > before  # this run spoke `protocol`
            seen.append({stream: table(sandbox, stream) for stream in STREAMS})
    assert seen[0] == seen[1] == seen[2]
    for stream, model in zip(STREAMS, ("sale.order", "sale.order.line"), strict=True):
        expected = sorted(r["id"] for r in world.written_between(model, *odoo_day(DAY)))
        assert len(expected) > 200
        assert warehouse_rows(sandbox, f"SELECT id FROM odoo.{stream} ORDER BY id") == [
            (i,) for i in expected
        ]
        files = day_files(sandbox, "odoo", stream, date.fromisoformat(DAY))
        assert len(files) == 2 and files[1].startswith("keys-")  # the day and its id snapshot, replaced


def test_250_records_sharing_one_second_across_page_boundaries_land_exactly_once(
    sandbox, tmp_path: Path
) -> None:
    dag = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, dag)
    orders = dag / "streams" / "odoo" / "sale_orders.json"
    config = json.loads(orders.read_text())
    config["options"]["page_size"] = 100  # page boundaries at 100 and 200 fall inside the tie
    orders.write_text(json.dumps(config))
    world = OdooWorld(now=NOW, mass_updates=[(MASS_UPDATE, 250)])
    ((second, tied),) = world.mass_updates()
    expected = [r["id"] for r in world.written_between("sale.order", *odoo_day(DAY))]
    first_tied = expected.index(min(tied))
    assert first_tied < 100 and first_tied + 250 > 200
    with odoo(world) as (app, server):
        run(definitions_for(sandbox, dag), server, DAY, ["sale_orders"])
    assert app.calls["json2", "sale.order", "search_read"] == len(expected) // 100 + 1
    landed_file, _keys = day_files(sandbox, "odoo", "sale_orders", date.fromisoformat(DAY))
    landed = pq.read_table(landing_root(sandbox) / "odoo/sale_orders/year=2026/month=01/day=14" / landed_file)
    assert sorted(landed.column("id").to_pylist()) == sorted(expected)  # each exactly once
    staged = warehouse_rows(
        sandbox, f"SELECT id FROM odoo.sale_orders WHERE write_date = TIMESTAMPTZ '{second}+00' ORDER BY id"
    )
    assert [r[0] for r in staged] == sorted(tied)


def test_an_archived_order_still_lands(sandbox) -> None:
    world = OdooWorld(now=NOW, mass_updates=[])
    archived = next(r for r in world.records("sale.order") if not r["active"])
    day = archived["write_date"][:10]
    with odoo(world) as (_, server):
        run(definitions_for(sandbox), server, day, ["sale_orders"])
    rows = warehouse_rows(sandbox, f"SELECT active, state FROM odoo.sale_orders WHERE id = {archived['id']}")
    assert rows == [(False, archived["state"])]


def test_a_many2one_becomes_two_typed_columns(sandbox) -> None:
    world = OdooWorld(now=NOW, mass_updates=[])
    with odoo(world) as (_, server):
        result = run(definitions_for(sandbox), server, DAY, ["sale_orders"])
    materialization = result.asset_materializations_for_node("staging__odoo__sale_orders")[0]
    columns = {c.name: c.type for c in materialization.metadata["dagster/column_schema"].value.columns}
    assert (columns["partner_id"], columns["partner_name"]) == ("BIGINT", "VARCHAR")
    assert (columns["amount_total"], columns["write_date"]) == ("DECIMAL(38,9)", "TIMESTAMP WITH TIME ZONE")
    assert columns["order_line"] == "BIGINT[]" and "partner" not in columns
    odoo_rows = {r["id"]: r for r in world.written_between("sale.order", *odoo_day(DAY))}
    staged = warehouse_rows(
        sandbox, "SELECT id, partner_id, partner_name, amount_total, order_line FROM odoo.sale_orders"
    )
    assert len(staged) == len(odoo_rows)
    for id_, partner_id, partner_name, amount_total, order_line in staged:
        odoo_row = odoo_rows[id_]
        assert [partner_id, partner_name] == odoo_row["partner_id"]
        assert str(amount_total.normalize()) == str(odoo_row["amount_total"]).removesuffix(".0")
        assert order_line == odoo_row["order_line"]


def test_a_deleted_order_is_marked_deleted_on_the_next_days_snapshot(sandbox) -> None:
    world = MovingWorld(now=NOW, mass_updates=[])
    world.clock = datetime(2026, 1, 31, tzinfo=UTC)
    # An order last written the day before the day it was deleted.
    order, deleted_on = next(
        (id_, date.fromisoformat(committed[:10]))
        for id_, committed in sorted(world.deleted("sale.order").items(), key=lambda item: item[1])
        if _last_written(world, id_, committed) == date.fromisoformat(committed[:10]) - timedelta(days=1)
    )
    written_on = deleted_on - timedelta(days=1)
    defs = definitions_for(sandbox)
    with odoo(world) as (_, server):
        world.clock = datetime.combine(deleted_on, datetime.min.time(), UTC) + timedelta(hours=2)
        run(defs, server, f"{written_on}", ["sale_orders"])  # the order lands, and is in that day's snapshot
        alive = f"SELECT deleted_on FROM odoo.sale_orders__current WHERE id = {order}"
        assert warehouse_rows(sandbox, alive) == [(None,)]
        world.clock += timedelta(days=1)
        run(defs, server, f"{deleted_on}", ["sale_orders"])  # gone from the next day's snapshot
    assert warehouse_rows(sandbox, alive) == [(deleted_on,)]
    still = warehouse_rows(sandbox, "SELECT count(*) FROM odoo.sale_orders__current WHERE deleted_on IS NULL")
    assert still[0][0] > 0


def _last_written(world: MovingWorld, order: int, deleted: str) -> date | None:
    """The day `order` was last written before its deletion committed."""
    saved = world.clock
    world.clock = datetime.fromisoformat(deleted).replace(tzinfo=UTC) - timedelta(seconds=1)
    found = [r["write_date"] for r in world.records("sale.order") if r["id"] == order]
    world.clock = saved
    return date.fromisoformat(found[0][:10]) if found else None


def test_an_invalid_api_key_fails_the_run_at_once_with_a_clear_message(sandbox) -> None:
    world = OdooWorld(now=NOW, mass_updates=[])
    defs = definitions_for(sandbox)
    with odoo(world) as (app, server):
        result = materialize(
            defs,
            selection(defs, ["sale_orders"]),
            partition_key=DAY,
            raise_on_error=False,
            resources={"vendor_apis": apis(server, api_key="not-the-key-8d1f")},
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.to_string()  # type: ignore[union-attr]
    assert "HTTP 401: werkzeug.exceptions.Unauthorized: Invalid apikey (check ODOO_API_KEY" in message
    assert "not-the-key-8d1f" not in message and SANDBOX_API_KEY not in message
    assert app.requests["json2"] == 1  # refused once, not retried
