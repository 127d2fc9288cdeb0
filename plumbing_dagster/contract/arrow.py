"""Turning pages of API records into Arrow tables shaped by the stream contract.

Landing is the raw layer, so it keeps the API's values: JSON scalars keep their JSON type and
strings stay strings (date-times are typed in staging). Only the contract's fields are kept.
A value that does not fit its field is not dropped: the field is left null and the original
value goes, as JSON, into the `_contract_violations` column for staging to put the record aside.
Arrow batches also skip dlt's row-by-row normaliser (about 5x faster landing).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.contract.types import is_json_text, landing_type

VIOLATIONS_COLUMN = "_contract_violations"


def landing_schema(fields: Mapping[str, FieldSpec]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, landing_type(spec)) for name, spec in fields.items()]
        + [pa.field(VIOLATIONS_COLUMN, pa.string())]
    )


def _json_text_fields(fields: Mapping[str, FieldSpec]) -> list[str]:
    return [name for name, spec in fields.items() if is_json_text(spec)]


def _decimal_fields(fields: Mapping[str, FieldSpec]) -> list[str]:
    return [name for name, spec in fields.items() if spec.format == "decimal"]


def _decimal_text(value: Any) -> Any:
    """A number as its text (what a decimal field lands as); anything else as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    return value


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


def records_to_table(
    records: Sequence[Mapping[str, Any]] | pa.Table, fields: Mapping[str, FieldSpec]
) -> pa.Table:
    """A page of records as an Arrow table with exactly the contract's fields (plus violations)."""
    schema = landing_schema(fields)
    if isinstance(records, pa.Table):  # parsed straight into Arrow (ArrowPageParser)
        return _conform(records, schema)
    text_fields = _json_text_fields(fields)
    if text_fields:
        records = [
            {**record, **{name: _dumps(record.get(name)) for name in text_fields}} for record in records
        ]
    decimal_fields = _decimal_fields(fields)
    if decimal_fields:
        records = [
            {**record, **{name: _decimal_text(record.get(name)) for name in decimal_fields}}
            for record in records
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


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def arrow_parsable(fields: Mapping[str, FieldSpec]) -> bool:
    """Whether pages of this contract can be parsed straight into Arrow (no field kept as JSON text)."""
    return not _json_text_fields(fields)


def _nested_fields(paths: Mapping[str, pa.DataType]) -> list[pa.Field]:
    """Arrow fields for dotted envelope paths: {"_links.next.href": string} -> _links: struct<...>."""
    tree: dict[str, Any] = {}
    for path, arrow_type in paths.items():
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = arrow_type

    def build(name: str, node: Any) -> pa.Field:
        if isinstance(node, dict):
            return pa.field(name, pa.struct([build(k, v) for k, v in node.items()]))
        return pa.field(name, node)

    return [build(name, node) for name, node in tree.items()]


def value_at(document: Any, path: str) -> Any:
    """The value at a dotted path (`_links.next.href`, `params.args.6`), or None where it stops."""
    node = document
    for part in path.split(".") if path else ():
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


class ArrowPageParser:
    """Parses a JSON page (`{"<records_key>": [...], <envelope fields>}`) straight into Arrow.

    pyarrow's JSON reader types the records by the contract in C++, without a Python dict per
    record: about half the time of `json.loads` plus `records_to_table`. `meta` names the envelope
    values the pager needs, by dotted path, with their Arrow types. Any value that does not fit its
    field (or an unexpected envelope) returns None, and the caller parses the page the ordinary
    way, where violations are recorded field by field.
    """

    def __init__(self, records_key: str, fields: Mapping[str, FieldSpec], meta: Mapping[str, pa.DataType]):
        self.records_key = records_key
        record = pa.struct([f for f in landing_schema(fields) if f.name != VIOLATIONS_COLUMN])
        self.meta = dict(meta)
        self.envelope = pa.schema([pa.field(records_key, pa.list_(record)), *_nested_fields(self.meta)])

    def parse(self, body: bytes) -> tuple[pa.Table, dict[str, Any]] | None:
        try:
            parsed = pa_json.read_json(
                io.BytesIO(body),
                # One block for the whole body: a page is one JSON document, however it is laid out.
                read_options=pa_json.ReadOptions(block_size=max(len(body) + 1, 1 << 16), use_threads=False),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=self.envelope,
                    unexpected_field_behavior="ignore",
                    newlines_in_values=True,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        if parsed.num_rows != 1 or not parsed.column(self.records_key).is_valid()[0].as_py():
            return None
        records = parsed.column(self.records_key).chunk(0).values
        envelope = {name: parsed.column(name)[0].as_py() for name in parsed.column_names[1:]}
        meta = {path: value_at(envelope, path) for path in self.meta}
        return pa.Table.from_struct_array(records), meta
