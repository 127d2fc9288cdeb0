"""Turning pages of API records into Arrow tables shaped by the stream contract.

Landing is the raw layer, so it keeps the API's values: JSON scalars keep their JSON type and
strings stay strings (date-times are typed in staging). Only the contract's fields are kept.
A value that does not fit its field is not dropped: the field is left null and the original
value goes, as JSON, into the `_contract_violations` column for staging to put the record aside.
Arrow batches also skip dlt's row-by-row normaliser (about 5x faster landing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec

VIOLATIONS_COLUMN = "_contract_violations"

_SCALARS: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "string": pa.string(),
    "null": pa.string(),
}


def landing_type(spec: FieldSpec) -> pa.DataType:
    """Arrow type a field lands as. Nested fields with a full shape stay nested; others are JSON text."""
    base = spec.base_type
    if base == "array" and spec.items is not None and _fully_typed(spec.items):
        return pa.list_(landing_type(spec.items))
    if base == "object" and spec.properties:
        if all(_fully_typed(p) for p in spec.properties.values()):
            return pa.struct([pa.field(n, landing_type(p)) for n, p in spec.properties.items()])
    if base in ("array", "object"):
        return pa.string()
    return _SCALARS[base]


def _fully_typed(spec: FieldSpec) -> bool:
    if spec.base_type == "array":
        return spec.items is not None and _fully_typed(spec.items)
    if spec.base_type == "object":
        return bool(spec.properties) and all(_fully_typed(p) for p in spec.properties.values())
    return True


def landing_schema(fields: Mapping[str, FieldSpec]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, landing_type(spec)) for name, spec in fields.items()]
        + [pa.field(VIOLATIONS_COLUMN, pa.string())]
    )


def _json_text_fields(fields: Mapping[str, FieldSpec], schema: pa.Schema) -> list[str]:
    return [
        name for name, spec in fields.items() if spec.is_nested and schema.field(name).type == pa.string()
    ]


def _fits(value: Any, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([value], type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return False
    return True


def _dumps(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def records_to_table(records: Sequence[Mapping[str, Any]], fields: Mapping[str, FieldSpec]) -> pa.Table:
    """A page of records as an Arrow table with exactly the contract's fields (plus violations)."""
    schema = landing_schema(fields)
    text_fields = _json_text_fields(fields, schema)
    if text_fields:
        records = [
            {**record, **{name: _dumps(record.get(name)) for name in text_fields}} for record in records
        ]
    try:
        return pa.Table.from_pylist(list(records), schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return _records_to_table_slow(records, schema)


def _records_to_table_slow(records: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Row by row, for the rare page where some value does not fit its field."""
    columns = [f for f in schema if f.name != VIOLATIONS_COLUMN]
    cleaned: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = {}
        violations: dict[str, Any] = {}
        for column in columns:
            value = record.get(column.name)
            if value is None or _fits(value, column.type):
                row[column.name] = value
            else:
                row[column.name] = None
                violations[column.name] = value
        row[VIOLATIONS_COLUMN] = _dumps(violations) if violations else None
        cleaned.append(row)
    return pa.Table.from_pylist(cleaned, schema=schema)
