"""`plumbing preview`: one day fetched through the real client and typed by the contract, shown,
and not written anywhere."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from plumbing_dagster.cli import main
from plumbing_dagster.sources.shop import ShopWorld
from plumbing_dagster_tests.assets.helpers import day_window

DAY = "2026-11-01"


def test_preview_shows_the_days_typed_rows_and_where_a_run_would_write(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    assert main(["preview", "shop", "orders", "--day", DAY, "--limit", "5"]) == 0
    out = capsys.readouterr().out.splitlines()

    expected = ShopWorld().orders_updated_between(*day_window(DAY))
    pages = math.ceil(len(expected) / 1000)
    assert out[0] == (
        f"shop/orders {DAY}: {len(expected)} records in {pages} page(s); "
        f"{len(expected)} staged, 0 put aside (preview: nothing written)"
    )
    header = out[2].split()
    assert header == [
        "created_at",
        "currency",
        "id",
        "line_items",
        "status",
        "total_amount",
        "updated_at",
        "user_id",
    ]
    rows = out[4:9]
    first_id = sorted(o["id"] for o in expected)[0]
    id_column = out[2].index("id ")
    assert rows[0][id_column:].split()[0] == str(first_id)  # staged rows come ordered by key
    assert out[9] == "" and out[10] == "a run would write:"
    landing = str(tmp_path / "data" / "landing")
    assert out[11] == f"  {landing}/shop/orders/year=2026/month=11/day=01/<load_id>.<file_id>.parquet"
    assert out[12] == f"  {landing}/_manifests/current/shop/orders/{DAY}.json"
    assert re.fullmatch(r"  duckdb: shop\.orders and shop\.orders__rejected, partition 2026-11-01", out[13])
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def test_preview_of_an_unknown_stream_names_what_there_is(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit, match="no selected stream 'refunds'.*have: orders, products, users"):
        main(["preview", "shop", "refunds"])
