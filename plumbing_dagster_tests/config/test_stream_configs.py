"""The `dag/` files: the committed ones load; broken ones fail naming file, field and problem."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR, ConfigError, load_stream_configs


@pytest.fixture
def dag_dir(tmp_path: Path) -> Path:
    target = tmp_path / "dag"
    shutil.copytree(DEFAULT_DAG_DIR, target)
    return target


def _edit(dag_dir: Path, relative: str, change) -> Path:
    path = dag_dir / relative
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def test_committed_configs_load_with_their_keys_and_fields():
    configs = load_stream_configs(DEFAULT_DAG_DIR)
    assert set(configs) >= {"shop", "jortt"}
    assert set(configs["shop"]) == {"orders", "users", "products"}
    orders = configs["shop"]["orders"]
    assert orders.key_columns == ["id"] and orders.cursor == "updated_at"
    assert "email" not in configs["shop"]["users"].fields  # curated out: only listed fields land
    assert configs["jortt"]["projects"].key_columns == ["aggregate_id"]


def test_a_snapshot_that_does_not_land_the_cursor_field_has_no_cursor(dag_dir: Path):
    _edit(dag_dir, "streams/shop/products.json", lambda d: d["fields"].pop("updated_at"))
    products = load_stream_configs(dag_dir)["shop"]["products"]
    assert products.sync_mode == "full_refresh" and products.cursor is None
    assert "updated_at" not in products.fields
    # An incremental stream still gets its cursor, and must land it.
    _edit(dag_dir, "streams/shop/orders.json", lambda d: d["fields"].pop("updated_at"))
    with pytest.raises(ConfigError, match=r"orders.json.*'updated_at' is not one of the selected fields"):
        load_stream_configs(dag_dir)


def test_unknown_key_is_rejected_with_file_and_field(dag_dir: Path):
    path = _edit(dag_dir, "streams/shop/orders.json", lambda d: d.update(sync_frequency="hourly"))
    with pytest.raises(ConfigError) as error:
        load_stream_configs(dag_dir)
    assert str(path) in str(error.value)
    assert "field 'sync_frequency': unknown key" in str(error.value)


def test_unsafe_field_name_is_rejected(dag_dir: Path):
    def add_field(d):
        d["fields"]["Robert'); DROP TABLE"] = {"type": "string"}

    _edit(dag_dir, "streams/shop/orders.json", add_field)
    with pytest.raises(ConfigError, match="is not a safe name: use a lowercase identifier"):
        load_stream_configs(dag_dir)


def test_field_the_source_does_not_provide_is_an_error(dag_dir: Path):
    _edit(dag_dir, "streams/shop/orders.json", lambda d: d["fields"].update(coupon={"type": "string"}))
    with pytest.raises(ConfigError) as error:
        load_stream_configs(dag_dir)
    assert "streams/shop/orders.json: field 'fields.coupon': the source does not provide 'coupon'" in str(
        error.value
    )


def test_wrong_type_and_missing_key_are_reported(dag_dir: Path):
    _edit(dag_dir, "streams/shop/orders.json", lambda d: (d.pop("sync_mode"), d.update(selected="yes")))
    with pytest.raises(ConfigError) as error:
        load_stream_configs(dag_dir)
    message = str(error.value)
    assert "field 'sync_mode': Field required" in message
    assert "field 'selected'" in message


def test_primary_key_must_be_a_selected_field(dag_dir: Path):
    _edit(dag_dir, "streams/shop/orders.json", lambda d: d["fields"].pop("id"))
    with pytest.raises(ConfigError, match="primary_key: 'id' is not one of the selected fields"):
        load_stream_configs(dag_dir)


def test_malformed_json_names_the_line(dag_dir: Path):
    path = dag_dir / "streams/shop/users.json"
    path.write_text('{"stream": "users",\n  "sync_mode": }')
    with pytest.raises(ConfigError, match=r"users.json: not valid JSON: .* \(line 2\)"):
        load_stream_configs(dag_dir)


def test_stream_name_must_match_file_name(dag_dir: Path):
    _edit(dag_dir, "streams/shop/users.json", lambda d: d.update(stream="customers"))
    with pytest.raises(ConfigError, match="field 'stream': 'customers' does not match the file name 'users'"):
        load_stream_configs(dag_dir)


def test_unselected_streams_are_left_out(dag_dir: Path):
    _edit(dag_dir, "streams/shop/products.json", lambda d: d.update(selected=False))
    assert "products" not in load_stream_configs(dag_dir)["shop"]


def test_a_bad_file_stops_the_code_location(dag_dir: Path, sandbox):
    from plumbing_dagster.definitions import build_definitions

    _edit(dag_dir, "streams/shop/orders.json", lambda d: d.update(sync_mode="sometimes"))
    with pytest.raises(ConfigError, match="orders.json: field 'sync_mode'"):
        build_definitions(sandbox, dag_dir)


def test_a_dag_dir_that_does_not_exist_stops_the_code_location_naming_it(tmp_path: Path):
    """PLUMBING_DAG_DIR with a typo: the code location does not load (with nothing in it), it
    fails and says which folder it looked in — here in the process Dagster loads it in."""
    missing = tmp_path / "no-such-dag"
    result = subprocess.run(
        [sys.executable, "-c", "import plumbing_dagster.definitions"],
        env={**os.environ, "PLUMBING_DAG_DIR": str(missing), "PLUMBING_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"ConfigError: {missing}/streams: no stream configs here (is PLUMBING_DAG_DIR right?)"
        in result.stderr
    )
