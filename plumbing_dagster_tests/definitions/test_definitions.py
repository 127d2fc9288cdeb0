"""What the code location exposes, and how environments are chosen."""

from datetime import datetime

import dagster as dg
import pytest

from plumbing_dagster.environments import EnvironmentSettingsError, load_environment
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster_tests.conftest import definitions_for

SHOP_STREAMS = ["orders", "products", "users"]
JORTT_STREAMS = ["customers", "invoices", "organizations", "project_line_items", "projects"]
ODOO_STREAMS = ["sale_order_lines", "sale_orders"]
COMDIRECT_STREAMS = ["accounts", "balances", "pending_transactions", "transactions"]
JIRA_STREAMS = [
    "changelog_items",
    "fields",
    "issue_components",
    "issue_fix_versions",
    "issue_labels",
    "issue_links",
    "issues",
    "projects",
]
JIRA_MARTS = [
    "changelog",
    "issue_components",
    "issue_fix_versions",
    "issue_labels",
    "issue_links",
    "issues",
    "status_history",
]


def test_the_lineage_labels_a_streams_raw_and_staging_nodes_differently(sandbox):
    """The graph shows a node's last key part; within a source's group, no raw or staging node
    may read like another (marts named after their staging table are documented to)."""
    graph = definitions_for(sandbox).resolve_asset_graph()
    labels: dict[tuple[str | None, str], list[str]] = {}
    for key in graph.get_all_asset_keys():
        if key.path[0] in ("raw", "staging"):
            group = graph.get(key).group_name
            labels.setdefault((group, key.path[-1]), []).append(key.to_user_string())
    assert len(labels) > 20
    assert [keys for keys in labels.values() if len(keys) > 1] == []
    assert ("shop", "orders_landed") in labels and ("shop", "orders") in labels


def test_asset_keys_jobs_and_schedules_snapshot(sandbox):
    defs = definitions_for(sandbox)
    keys = sorted(k.to_user_string() for a in defs.assets for k in a.keys)
    expected = sorted(
        [f"raw/shop/{s}_landed" for s in SHOP_STREAMS]
        + [f"staging/shop/{s}" for s in SHOP_STREAMS]
        + [f"raw/jortt/{s}_landed" for s in JORTT_STREAMS]
        + [f"staging/jortt/{s}" for s in JORTT_STREAMS]
        + [f"raw/odoo/{s}_landed" for s in ODOO_STREAMS]
        + [f"staging/odoo/{s}" for s in ODOO_STREAMS]
        + [f"raw/comdirect/{s}_landed" for s in COMDIRECT_STREAMS]
        + [f"staging/comdirect/{s}" for s in COMDIRECT_STREAMS]
        + ["marts/comdirect/daily_balances"]
        + [f"raw/jira/{s}_landed" for s in JIRA_STREAMS]
        + [f"staging/jira/{s}" for s in JIRA_STREAMS]
        + [f"marts/jira/{m}" for m in JIRA_MARTS]
        + ["marts/shop/order_lines"]
    )
    assert keys == expected
    repository = defs.get_repository_def()
    assert sorted(j.name for j in repository.get_all_jobs() if not j.name.startswith("__")) == [
        "comdirect_daily",
        "comdirect_keepalive",
        "comdirect_login",
        "jira_daily",
        "jortt_daily",
        "odoo_daily",
        "shop_daily",
    ]
    assert sorted(s.name for s in repository.schedule_defs) == [
        "comdirect_daily_schedule",
        "comdirect_keepalive_schedule",
        "jira_daily_schedule",
        "jortt_daily_schedule",
        "odoo_daily_schedule",
        "shop_daily_schedule",
    ]
    checks = sorted(k.to_user_string() for c in defs.asset_checks for k in c.check_keys)
    assert "staging/shop/orders:key_unique_and_not_null" in checks
    assert "marts/shop/order_lines:referential_integrity" in checks
    assert "marts/comdirect/daily_balances:balance_change_matches_bookings" in checks
    staged_streams = SHOP_STREAMS + JORTT_STREAMS + ODOO_STREAMS + COMDIRECT_STREAMS + JIRA_STREAMS
    mart_checks = 1 + 1 + 8  # shop, comdirect, jira (referential integrity per mart, two on issues)
    assert len(checks) == 4 * len(staged_streams) + mart_checks


def test_assets_are_grouped_by_source_with_daily_partitions_and_chunked_backfills(sandbox):
    defs = definitions_for(sandbox)
    graph = defs.resolve_asset_graph()
    orders = graph.get(dg.AssetKey(["staging", "shop", "orders"]))
    assert orders.group_name == "shop"
    assert isinstance(orders.partitions_def, dg.DailyPartitionsDefinition)
    assert orders.partitions_def.start.date().isoformat() == "2026-01-01"
    raw = graph.get(dg.AssetKey(["raw", "jortt", "invoices_landed"]))
    assert raw.group_name == "jortt" and raw.parent_keys == set()
    assert raw.backfill_policy == dg.BackfillPolicy.single_run()
    assert orders.backfill_policy == dg.BackfillPolicy.single_run()
    assert orders.metadata["plumbing/primary_key"] == ["id"]


def test_schedule_runs_yesterdays_partition(sandbox):
    defs = definitions_for(sandbox)
    schedule = defs.get_repository_def().get_schedule_def("shop_daily_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 23, 1, 0))
    request = schedule(context)
    assert request.partition_key == "2026-11-22"


def test_unknown_environment_fails_loudly():
    with pytest.raises(EnvironmentSettingsError, match="PLUMBING_ENV='stage' is not an environment"):
        load_environment(VENDORS, {"PLUMBING_ENV": "stage"})


def test_prod_reads_every_setting_from_the_environment_at_run_time(monkeypatch):
    env = {
        "PLUMBING_ENV": "prod",
        "PLUMBING_LANDING_URL": "s3://landing/raw",
        "S3_ENDPOINT": "http://seaweedfs:8333",
        "S3_ACCESS_KEY_ID": "AKIA-prod",
        "S3_SECRET_ACCESS_KEY": "super-secret-s3",
        "PLUMBING_POSTGRES_URL": "postgresql://u:pw@db/warehouse",
    }
    environment = load_environment(VENDORS, env)
    assert environment.vendor_apis.sandbox is False
    assert environment.landing.url == "s3://landing/raw"
    # Secrets stay references until a run resolves them: nothing secret in the definitions.
    assert isinstance(environment.landing.secret_access_key, dg.EnvVar)
    assert environment.landing.secret_access_key.env_var_name == "S3_SECRET_ACCESS_KEY"
    jortt = environment.vendor_apis.connections["jortt"]
    assert jortt["client_secret"].env_var_name == "JORTT_CLIENT_SECRET"
    assert "token_url" not in jortt  # optional, and JORTT_TOKEN_URL is not set
    shop = environment.vendor_apis.connections["shop"]
    assert shop["api_key"].env_var_name == "SHOP_API_KEY"
    for value in env.values():
        if "secret" in value or "pw@" in value:
            assert value not in repr(environment)


def test_prod_without_a_landing_url_fails_with_the_variable_name():
    with pytest.raises(EnvironmentSettingsError, match="PLUMBING_LANDING_URL is not set"):
        load_environment(VENDORS, {"PLUMBING_ENV": "prod"})


def test_a_mart_refuses_a_stream_configured_to_another_warehouse(tmp_path, postgres_url):
    import json
    import shutil

    from plumbing_dagster.config import DEFAULT_DAG_DIR, ConfigError

    dag_dir = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, dag_dir)
    orders = dag_dir / "streams" / "shop" / "orders.json"
    orders.write_text(json.dumps({**json.loads(orders.read_text()), "warehouse": "postgres"}))
    environment = load_environment(
        VENDORS,
        {
            "PLUMBING_ENV": "sandbox",
            "PLUMBING_DATA_DIR": str(tmp_path / "data"),
            "PLUMBING_POSTGRES_URL": postgres_url,
        },
    )
    with pytest.raises(ConfigError) as raised:
        definitions_for(environment, dag_dir)
    assert str(raised.value) == (
        "dag/streams/shop/orders.json: field 'warehouse': the mart marts/shop/order_lines reads orders "
        "in duckdb, but the stream goes to postgres"
    )


def test_the_root_definitions_know_no_vendor_warehouse_or_producer_by_name():
    from pathlib import Path

    import plumbing_dagster.definitions as root

    text = Path(root.__file__).read_text(encoding="utf-8")
    for name in [*VENDORS, "duckdb", "postgres", "dlt", "airbyte"]:
        assert f'"{name}"' not in text and f"'{name}'" not in text, name
