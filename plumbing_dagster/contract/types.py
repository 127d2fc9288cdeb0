"""The one table from a contract field (JSON-schema type and format) to its types everywhere.

Landing keeps the API's values (date-times stay strings), staging types them. Every reader of a
type — Arrow parsing, staging casts, the contract check, both warehouses — looks it up here, so
adding a type or a warehouse column is one row or one column of this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec


@dataclass(frozen=True)
class ContractType:
    """How one kind of field lands, is staged, and is named by each warehouse.

    `None` in a column means "keep the nested Arrow type the field landed with" (objects and
    arrays whose shape the contract spells out in full).
    """

    name: str
    landing: pa.DataType | None
    staged: pa.DataType | None
    duckdb: str | None  # DuckDB's name, as DDL takes it and information_schema reports it
    postgres: str  # Postgres' name, likewise
    # What Postgres staging casts landed values to, when that is not the column's type: decimals
    # round to 9 places as DuckDB's DECIMAL(38,9) does, in an unconstrained numeric column (a
    # later, wider decimal must not overflow it).
    postgres_cast: str | None = None


CONTRACT_TYPES: dict[str, ContractType] = {
    t.name: t
    for t in (
        ContractType("integer", pa.int64(), pa.int64(), "BIGINT", "bigint"),
        ContractType("number", pa.float64(), pa.float64(), "DOUBLE", "double precision"),
        ContractType("boolean", pa.bool_(), pa.bool_(), "BOOLEAN", "boolean"),
        ContractType("string", pa.string(), pa.string(), "VARCHAR", "text"),
        ContractType(
            "date-time",
            pa.string(),
            pa.timestamp("us", tz="UTC"),
            "TIMESTAMP WITH TIME ZONE",
            "timestamp with time zone",
        ),
        ContractType("date", pa.string(), pa.date32(), "DATE", "date"),
        # Exact amounts: landed as the API's text (no float rounding), staged with 9 decimals.
        ContractType(
            "decimal", pa.string(), pa.decimal128(38, 9), "DECIMAL(38,9)", "numeric", "numeric(38,9)"
        ),
        # Objects and arrays without a full shape travel as JSON text.
        ContractType("json", pa.string(), pa.string(), "VARCHAR", "text"),
        # Objects and arrays with a full shape keep it: lists and structs in Arrow and DuckDB.
        ContractType("nested", None, None, None, "jsonb"),
    )
}


def _fully_typed(spec: FieldSpec) -> bool:
    if spec.base_type == "array":
        return spec.items is not None and _fully_typed(spec.items)
    if spec.base_type == "object":
        return bool(spec.properties) and all(_fully_typed(p) for p in spec.properties.values())
    return True


def contract_type(spec: FieldSpec) -> ContractType:
    """The row of `CONTRACT_TYPES` a field belongs to."""
    if spec.is_nested:
        return CONTRACT_TYPES["nested" if _fully_typed(spec) else "json"]
    if spec.format is not None:
        return CONTRACT_TYPES[spec.format]
    base = spec.base_type
    return CONTRACT_TYPES["string" if base == "null" else base]


def landing_type(spec: FieldSpec) -> pa.DataType:
    """The Arrow type a field lands as (nested types built from the contract's shape)."""
    row = contract_type(spec)
    if row.landing is not None:
        return row.landing
    if spec.base_type == "array":
        assert spec.items is not None  # a fully typed array has items
        return pa.list_(landing_type(spec.items))
    assert spec.properties is not None
    return pa.struct([pa.field(n, landing_type(p)) for n, p in spec.properties.items()])


def is_json_text(spec: FieldSpec) -> bool:
    """Whether a nested field travels as JSON text (its shape is not spelled out in full)."""
    return contract_type(spec).name == "json"


def is_nested_type(arrow_type: pa.DataType) -> bool:
    """Lists, structs and maps: values Postgres keeps as jsonb and landing as nested columns."""
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_list_view(arrow_type)
        or pa.types.is_large_list_view(arrow_type)
        or pa.types.is_struct(arrow_type)
        or pa.types.is_map(arrow_type)
    )
