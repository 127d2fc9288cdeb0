"""`plumbing discover`: sample a stream from the (emulated) API and write dag/sources."""

import json
import logging
from pathlib import Path

from plumbing_dagster.cli import main
from plumbing_dagster.config import DEFAULT_DAG_DIR, load_source_catalog
from plumbing_dagster.environments import load_environment
from plumbing_dagster.source_definitions import choose_warehouse
from plumbing_dagster.sources.registry import VENDORS


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


def test_postgres_streams_fall_back_to_duckdb_in_a_sandbox_without_postgres(tmp_path: Path, caplog):
    caplog.set_level(logging.WARNING)
    sandbox = load_environment(VENDORS, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(tmp_path)})
    from plumbing_dagster.config import load_stream_configs

    invoices = load_stream_configs(DEFAULT_DAG_DIR)["jortt"]["invoices"]
    assert invoices.warehouse == "postgres"
    assert choose_warehouse("jortt", invoices, sandbox) == "duckdb"
    assert "jortt/invoices goes to postgres, which is not configured; using duckdb instead" in caplog.text
