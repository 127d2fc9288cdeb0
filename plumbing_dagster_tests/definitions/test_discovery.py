"""`plumbing discover`: sample a stream from the (emulated) API and write dag/sources."""

import json
from pathlib import Path

from plumbing_dagster.cli import main
from plumbing_dagster.config import DEFAULT_DAG_DIR, load_source_catalog


def test_discover_writes_the_committed_schema_of_shop_orders(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PLUMBING_ENV", "sandbox")
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    assert main(["discover", "shop", "orders", "--sample-limit", "200", "--dag-dir", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "sources" / "shop" / "orders.json").read_text())
    committed = json.loads((DEFAULT_DAG_DIR / "sources" / "shop" / "orders.json").read_text())
    assert written == committed
    assert written["defaults"] == {"primary_key": [["id"]], "cursor_field": ["updated_at"]}
    assert written["options"]["cursor_fields"] == ["updated_at"]
    assert written["fields"]["line_items"]["items"]["properties"]["quantity"] == {"type": "integer"}
    assert written["fields"]["updated_at"] == {"type": "string", "format": "date-time"}
    assert load_source_catalog(tmp_path)["shop"]["orders"].options.sync_modes == ["incremental"]


def test_discover_every_jortt_stream_with_nullable_and_date_fields(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path / "data"))
    assert main(["discover", "jortt", "--sample-limit", "50", "--dag-dir", str(tmp_path)]) == 0
    catalog = load_source_catalog(tmp_path)["jortt"]
    assert set(catalog) == {"customers", "invoices", "projects", "project_line_items", "organizations"}
    assert catalog["projects"].defaults.primary_key == [["aggregate_id"]]
    due = catalog["invoices"].fields["invoice_due_date"]
    assert due.format == "date" and due.nullable
