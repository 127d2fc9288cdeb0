"""Sync modes do what they say, for every combination an endpoint allows, through real runs.

A small vendor built on the kit serves a change log: every key changes twice a day, so a day
holds two versions of each key — enough to tell `append` (every landed row) from `merge` (one row
per key per day), and `incremental` (the day's changes) from `full_refresh` (everything, every day).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plumbing_dagster.config import ConfigError, load_stream_configs
from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.discovery import discovered_stream, write_discovered
from plumbing_dagster.kit import (
    ApiClient,
    ConnectionSettings,
    Endpoint,
    PageNumber,
    RestClient,
    ServerFilter,
    Vendor,
    Window,
    rest_endpoint,
    setting,
)
from plumbing_dagster.kit.emulator import EmulatorApp, EmulatorRequest, EmulatorResponse, Route, int_arg
from plumbing_dagster_tests.assets.helpers import warehouse_rows
from plumbing_dagster_tests.conftest import materialize

START = date(2026, 3, 1)
KEYS = 5
DAY_1, DAY_2 = date(2026, 3, 2), date(2026, 3, 3)
NOW = datetime(2026, 3, 4, tzinfo=UTC)  # the world stops here: a snapshot is the same whenever taken


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def changes_until(end: datetime) -> list[dict[str, Any]]:
    """Key k changes at 06:00+k minutes and 18:00+k minutes every day; `version` counts up."""
    records = []
    day = START
    while True:
        for hour in (6, 18):
            for key in range(1, KEYS + 1):
                moment = datetime(day.year, day.month, day.day, hour, key, tzinfo=UTC)
                if moment >= end:
                    return records
                version = (day - START).days * 2 + (hour == 18) + 1
                records.append({"id": key, "version": version, "updated_at": _iso(moment)})
        day += timedelta(days=1)


class ChangesApp(EmulatorApp):
    def routes(self) -> Sequence[Route]:
        return [Route("GET", "/changes", self._changes, "changes", scope=None)]

    def _changes(self, request: EmulatorRequest) -> EmulatorResponse:
        records = changes_until(NOW)
        start, end = request.arg("from"), request.arg("to")
        if start and end:
            records = [r for r in records if start <= r["updated_at"] < end]
        page, size = int_arg(request, "page", 1, 1), int_arg(request, "size", 4, 1)
        return EmulatorResponse.of_json(
            {"data": records[(page - 1) * size : page * size], "size": size, "total": len(records)}
        )


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangesConnection(ConnectionSettings):
    vendor = "changes"
    base_url: str = setting(env="CHANGES_URL")


def _connect(settings: ChangesConnection) -> RestClient:
    return RestClient(ApiClient("changes", settings.base_url))


ENDPOINT = rest_endpoint(
    "log",
    path="/changes",
    records="data",
    paging=PageNumber(size=4, size_param="size", total_path="total", served_size_path="size"),
    primary_key=("id",),
    cursors={"updated_at": ServerFilter()},
    window_params=lambda w: {"from": _iso(w.start), "to": _iso(w.end)},
)
SNAPSHOT_ONLY = Endpoint(name="snapshot", fetch=ENDPOINT.fetch, primary_key=("id",))
VENDOR = Vendor(
    name="changes",
    start_date=START,
    endpoints={"log": ENDPOINT, "snapshot": SNAPSHOT_ONLY},
    connection=ChangesConnection,
    connect=_connect,
    emulator=ChangesApp,
    sandbox_connection=lambda url: ChangesConnection(base_url=url),
)
FIELDS = {
    "id": FieldSpec(type="integer"),
    "version": FieldSpec(type="integer"),
    "updated_at": FieldSpec(type="string", format="date-time"),
}


def write_dag(dag_dir: Path, stream: str, sync_mode: str, destination_sync_mode: str) -> None:
    write_discovered(dag_dir, "changes", discovered_stream(VENDOR.endpoints[stream], FIELDS))
    config = {
        "stream": stream,
        "sync_mode": sync_mode,
        "destination_sync_mode": destination_sync_mode,
        "fields": {name: spec.model_dump(exclude_none=True) for name, spec in FIELDS.items()},
    }
    path = dag_dir / "streams" / "changes" / f"{stream}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))


@pytest.fixture
def run_days(sandbox, tmp_path: Path) -> Iterator:
    def run(sync_mode: str, destination_sync_mode: str) -> list[tuple]:
        dag_dir = tmp_path / "dag"
        write_dag(dag_dir, "log", sync_mode, destination_sync_mode)
        defs = build_definitions(sandbox, dag_dir, vendors={"changes": VENDOR})
        for day in (DAY_1, DAY_2):
            result = materialize(
                defs, ["raw/changes/log_landed", "staging/changes/log"], partition_key=day.isoformat()
            )
            assert result.success
        return warehouse_rows(sandbox, "SELECT partition_date, id, version FROM changes.log ORDER BY ALL")

    yield run


def _versions(day: date) -> list[int]:
    first = (day - START).days * 2 + 1
    return [first, first + 1]


def current_rows(sandbox) -> list[tuple]:
    return warehouse_rows(sandbox, "SELECT id, version FROM changes.log__current ORDER BY ALL")


def test_incremental_append_keeps_every_change_of_each_day(run_days, sandbox) -> None:
    rows = run_days("incremental", "append")
    assert rows == [
        (day, key, v) for day in (DAY_1, DAY_2) for key in range(1, KEYS + 1) for v in _versions(day)
    ]
    # The current view still answers "what is each key now": the newest version.
    assert current_rows(sandbox) == [(key, _versions(DAY_2)[1]) for key in range(1, KEYS + 1)]


def test_incremental_merge_keeps_the_newest_change_per_key_and_day(run_days, sandbox) -> None:
    rows = run_days("incremental", "merge")
    assert rows == [(day, key, _versions(day)[1]) for day in (DAY_1, DAY_2) for key in range(1, KEYS + 1)]
    assert current_rows(sandbox) == [(key, _versions(DAY_2)[1]) for key in range(1, KEYS + 1)]


def test_full_refresh_append_lands_the_whole_snapshot_every_day(run_days, sandbox) -> None:
    rows = run_days("full_refresh", "append")
    everything = changes_until(NOW)
    assert rows == sorted((day, r["id"], r["version"]) for day in (DAY_1, DAY_2) for r in everything)
    # A snapshot's current state is its newest day, as landed.
    assert current_rows(sandbox) == sorted((r["id"], r["version"]) for r in everything)


def test_full_refresh_merge_lands_one_row_per_key_every_day(run_days, sandbox) -> None:
    rows = run_days("full_refresh", "merge")
    newest = max(r["version"] for r in changes_until(NOW))
    assert rows == [(day, key, newest) for day in (DAY_1, DAY_2) for key in range(1, KEYS + 1)]
    assert current_rows(sandbox) == [(key, newest) for key in range(1, KEYS + 1)]


def test_a_combination_the_endpoint_cannot_honour_is_rejected_at_load(tmp_path: Path) -> None:
    write_dag(tmp_path, "snapshot", "incremental", "merge")
    with pytest.raises(ConfigError) as raised:
        load_stream_configs(tmp_path, {"changes": VENDOR})
    message = str(raised.value)
    assert "streams/changes/snapshot.json: field 'sync_mode'" in message
    assert "changes/snapshot cannot be read as 'incremental' (it supports: full_refresh)" in message


def test_a_cursor_the_endpoint_cannot_window_on_is_rejected_at_load(tmp_path: Path) -> None:
    write_dag(tmp_path, "log", "incremental", "merge")
    path = tmp_path / "streams" / "changes" / "log.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, "cursor_field": ["version"]}))
    with pytest.raises(
        ConfigError,
        match=r"field 'cursor_field': changes/log cannot window on 'version' \(cursors: updated_at\)",
    ):
        load_stream_configs(tmp_path, {"changes": VENDOR})


def test_the_window_reaches_the_api(sandbox) -> None:
    from plumbing_dagster.kit import Extract
    from plumbing_dagster.kit.emulator import EmulatorServer

    with EmulatorServer(ChangesApp()) as server, _connect(ChangesConnection(base_url=server.url)) as client:
        records = [r for page in ENDPOINT.fetch(client, Extract(Window.for_day(DAY_1))) for r in page]
    assert [(r["id"], r["version"]) for r in records] == [
        (k, v) for v in _versions(DAY_1) for k in range(1, KEYS + 1)
    ]
