"""Nested Arrow values as JSON text for Postgres jsonb columns: what `json.dumps` would write,
without going through Python objects."""

import json
from datetime import date
from decimal import Decimal

import pyarrow as pa

from plumbing_dagster.warehouses.postgres.json_text import json_text


def test_nested_values_become_the_json_of_their_python_values() -> None:
    values = [
        {"sku": 'a "quoted"\\ name\n', "quantity": 2, "tags": ["x", None], "extra": {"on": True}},
        None,
        {"sku": "ü", "quantity": None, "tags": [], "extra": None},
    ]
    encoded = json_text(pa.array(values)).to_pylist()
    assert encoded[1] is None
    assert [json.loads(text) for text in (encoded[0], encoded[2])] == [values[0], values[2]]


def test_slices_maps_fixed_size_lists_and_chunks() -> None:
    lists = pa.array([[1, 2], [3], None, [4, 5, 6]]).slice(1, 3)
    assert json_text(lists).to_pylist() == ["[3]", None, "[4,5,6]"]
    pairs = pa.array([[("k", 1), ("l", None)], None], pa.map_(pa.string(), pa.int64()))
    assert json_text(pairs).to_pylist() == ['{"k":1,"l":null}', None]
    fixed = pa.array([[1, 2], None, [3, 4]], pa.list_(pa.int64(), 2)).slice(1)
    assert json_text(fixed).to_pylist() == [None, "[3,4]"]
    chunked = pa.chunked_array([pa.array([[1]]), pa.array([[2, 3]])])
    assert json_text(chunked).to_pylist() == ["[1]", "[2,3]"]


def test_values_json_has_no_form_for() -> None:
    assert json_text(pa.array([[1.5, float("nan"), float("inf")]])).to_pylist() == ["[1.5,null,null]"]
    assert json_text(pa.array([[date(2026, 1, 2)]])).to_pylist() == ['["2026-01-02"]']
    assert json_text(pa.array([[Decimal("1.50")]])).to_pylist() == ["[1.50]"]
