"""The metadata a data engineer reads in the UI: code versions that follow the config, column
schemas as landed and as staged with the contract's descriptions, code references, landing
locations as links, freshness, and nothing the UI cannot show."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.keys import raw_key
from plumbing_dagster_tests.conftest import definitions_for, materialize

RAW_ORDERS = raw_key("shop", "orders")
STAGING_ORDERS = dg.AssetKey(["staging", "shop", "orders"])
DAY = "2026-10-03"


def _node(defs: dg.Definitions, key: dg.AssetKey):  # noqa: ANN202 - Dagster's internal node type
    return defs.resolve_asset_graph().get(key)


def _columns(defs: dg.Definitions, key: dg.AssetKey) -> dict[str, dg.TableColumn]:
    schema = _node(defs, key).metadata["dagster/column_schema"]
    return {c.name: c for c in getattr(schema, "schema", schema).columns}


def _copy_of_dag(tmp_path: Path) -> Path:
    dag = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, dag)
    return dag


def test_code_version_changes_with_the_streams_config_and_only_with_it(sandbox, tmp_path):
    dag = _copy_of_dag(tmp_path)
    before = definitions_for(sandbox, dag)
    config_file = dag / "streams" / "shop" / "orders.json"
    config = json.loads(config_file.read_text())
    first_field = next(iter(config["fields"]))
    config["fields"][first_field]["description"] = "edited since the last run"
    config_file.write_text(json.dumps(config, indent=2))
    after = definitions_for(sandbox, dag)

    for key in (RAW_ORDERS, STAGING_ORDERS):
        assert _node(before, key).code_version and _node(after, key).code_version
        assert _node(before, key).code_version != _node(after, key).code_version, key
    users = dg.AssetKey(["staging", "shop", "users"])
    assert _node(before, users).code_version == _node(after, users).code_version


def test_column_schemas_carry_the_contracts_descriptions_and_staged_types(sandbox):
    defs = definitions_for(sandbox)
    config = json.loads((DEFAULT_DAG_DIR / "streams" / "shop" / "orders.json").read_text())
    described = {
        name: spec["description"] for name, spec in config["fields"].items() if spec.get("description")
    }
    assert described, "shop orders declares no descriptions to check"
    for key in (RAW_ORDERS, STAGING_ORDERS):
        columns = _columns(defs, key)
        assert set(config["fields"]) <= set(columns)
        for name, description in described.items():
            assert columns[name].description == description, (key, name)
    staged = {name: c.type for name, c in _columns(defs, STAGING_ORDERS).items()}
    assert staged["updated_at"].upper().startswith("TIMESTAMP")


def test_raw_column_types_are_the_landed_parquet_types(sandbox):
    defs = definitions_for(sandbox)
    assert materialize(defs, ["raw/shop/orders_landed"], partition_key=DAY).success
    landed = sorted((Path(sandbox.landing.url) / "shop" / "orders").rglob("*.parquet"))
    assert landed, "nothing landed"
    # Parquet names a list's element `element` where Arrow says `item`: the same type.
    parquet = {f.name: str(f.type).replace("list<element:", "list<item:") for f in pq.read_schema(landed[0])}
    declared = {name: c.type for name, c in _columns(defs, RAW_ORDERS).items()}
    assert declared == {name: parquet[name] for name in declared}


def test_materializations_are_readable_metadata_with_links_and_plain_table_names(sandbox):
    instance = dg.DagsterInstance.ephemeral()
    defs = definitions_for(sandbox)
    assert materialize(
        defs, ["raw/shop/orders_landed", "staging/shop/orders"], partition_key=DAY, instance=instance
    ).success
    (raw,) = instance.fetch_materializations(RAW_ORDERS, limit=5).records
    metadata = raw.asset_materialization.metadata
    assert not [name for name in metadata if name.startswith("dagster_dlt/")]
    location = metadata["plumbing/landing"]
    assert isinstance(location, dg.UrlMetadataValue) and location.url.startswith("file://")
    assert metadata["dagster/row_count"].value > 0
    (staged,) = instance.fetch_materializations(STAGING_ORDERS, limit=5).records
    staged_metadata = staged.asset_materialization.metadata
    assert staged_metadata["dagster/table_name"].value == "shop.orders"
    assert staged_metadata["plumbing/warehouse"].value.endswith(".duckdb")


def test_code_references_and_freshness(sandbox):
    defs = definitions_for(sandbox)
    for key in (RAW_ORDERS, STAGING_ORDERS):
        references = _node(defs, key).metadata["dagster/code_references"].code_references
        files = [Path(r.file_path) for r in references]
        assert all(f.exists() for f in files), files
        assert DEFAULT_DAG_DIR / "streams" / "shop" / "orders.json" in files
        assert any(f.parent.name == "shop" and f.suffix == ".py" for f in files)
    assert _node(defs, STAGING_ORDERS).freshness_policy is not None
