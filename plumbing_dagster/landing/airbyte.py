"""Files that Airbyte's S3 destination lands beside ours, read as if we had landed them.

Airbyte's default `s3_path_format` puts every sync's files flat in the stream folder:

    <landing root>/<namespace>/<stream>/<YYYY>_<MM>_<DD>_<epoch_ms>_<part>.parquet

with the namespace set to our source name. The date is the **sync** date, which becomes the
partition day; there are no manifests and no completion marker, so a day is "every file of that
sync date" (several syncs a day land several generations; staging keeps one row per key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.arrow import VIOLATIONS_COLUMN
from plumbing_dagster.contract.types import is_nested_type, landing_type
from plumbing_dagster.landing.listing import list_after
from plumbing_dagster.landing.zone import LandingZone

# v1: _airbyte_raw_id, _extracted_at, _generation_id, _meta; before v1: _ab_id, _emitted_at.
AIRBYTE_COLUMN_PREFIX = "_airbyte_"

_KEY = re.compile(
    r"^(?P<namespace>[a-z_][a-z0-9_]*)/(?P<stream>[a-z_][a-z0-9_]*)/"
    r"(?P<year>\d{4})_(?P<month>\d{2})_(?P<day>\d{2})_(?P<epoch_ms>\d+)_(?P<part>[A-Za-z0-9-]+)\.parquet$"
)


@dataclass(frozen=True)
class AirbyteFile:
    """One parquet file of an Airbyte sync, parsed from its key."""

    key: str
    namespace: str
    stream: str
    day: date
    epoch_ms: int
    part: str  # a sequence number or a UUID, depending on the connector version


def parse_airbyte_key(key: str) -> AirbyteFile | None:
    """The parts of an Airbyte key relative to the landing root; None when it is not one."""
    match = _KEY.match(key)
    if match is None:
        return None
    try:
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:  # 2026_02_30: looks like a key, is not a date
        return None
    return AirbyteFile(
        key=key,
        namespace=match["namespace"],
        stream=match["stream"],
        day=day,
        epoch_ms=int(match["epoch_ms"]),
        part=match["part"],
    )


def airbyte_day_prefix(source: str, stream: str, day: date) -> str:
    return f"{source}/{stream}/{day:%Y_%m_%d}_"


def airbyte_files_for_day(zone: LandingZone, source: str, stream: str, day: date) -> list[str]:
    """The files of every sync dated `day`, in key order (older syncs first)."""
    keys = list_after(zone, airbyte_day_prefix(source, stream, day), None)
    return [
        key
        for key in keys
        if (parsed := parse_airbyte_key(key)) is not None
        and parsed.namespace == source
        and parsed.stream == stream
        and parsed.day == day
    ]


def airbyte_to_landed(table: pa.Table, config: StreamConfig) -> pa.Table:
    """An Airbyte parquet table shaped like our own landed files: the contract's fields in
    contract order with their landing types, plus `_contract_violations`.

    Airbyte's `_airbyte_*` columns and fields outside the contract are dropped; a contract field
    Airbyte did not write is null. A value that does not fit its landing type is not dropped: the
    field is left null and the value goes into `_contract_violations`, as for our own landings,
    so staging puts the record aside.
    """
    rows = table.num_rows
    violations: list[dict[str, Any]] = [{} for _ in range(rows)]
    columns: list[pa.Array | pa.ChunkedArray] = []
    names: list[str] = []
    for name, spec in config.fields.items():
        target = landing_type(spec)
        if name in table.column_names and not name.startswith(AIRBYTE_COLUMN_PREFIX):
            columns.append(_to_landing_type(table.column(name), spec, target, name, violations))
        else:
            columns.append(pa.nulls(rows, target))
        names.append(name)
    columns.append(_violations_column(table, violations))
    names.append(VIOLATIONS_COLUMN)
    return pa.Table.from_arrays(columns, names=names)


def airbyte_extracted_at(table: pa.Table) -> pa.Array:
    """When Airbyte extracted each record, as UTC timestamps (null when the file does not say):
    v1's `_airbyte_extracted_at`, or `_airbyte_emitted_at` (epoch milliseconds) before v1."""
    target = pa.timestamp("us", tz="UTC")
    for name in (f"{AIRBYTE_COLUMN_PREFIX}extracted_at", f"{AIRBYTE_COLUMN_PREFIX}emitted_at"):
        if name not in table.column_names:
            continue
        column = table.column(name).combine_chunks()
        if pa.types.is_integer(column.type):
            column = column.cast(pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
        if pa.types.is_timestamp(column.type):
            return column.cast(target)
    return pa.nulls(table.num_rows, target)


def _to_landing_type(
    column: pa.ChunkedArray,
    spec: FieldSpec,
    target: pa.DataType,
    name: str,
    violations: list[dict[str, Any]],
) -> pa.ChunkedArray | pa.Array:
    if column.type == target:
        return column
    if target == pa.string() and spec.is_nested and is_nested_type(column.type):
        # Airbyte typed an object/array we land as JSON text: serialise it the way landing does.
        return pa.array([_dumps(v) for v in column.to_pylist()], pa.string())
    if _castable(column.type, target, spec):
        try:
            return column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass  # e.g. a struct whose fields differ: sort it out value by value below
    return _fit_values(column.to_pylist(), spec, target, name, violations)


def _castable(source: pa.DataType, target: pa.DataType, spec: FieldSpec) -> bool:
    """Casts that change the representation, never the JSON type of a value (an integer does not
    silently become a string, as it would not in our own landing)."""
    if pa.types.is_dictionary(source):
        return _castable(source.value_type, target, spec)
    if target == pa.string():
        if pa.types.is_string(source) or pa.types.is_large_string(source):
            return True
        # Airbyte writes `format: date-time` / `date` strings as parquet timestamps / dates.
        temporal = pa.types.is_timestamp(source) or pa.types.is_date(source)
        return spec.format is not None and temporal
    if pa.types.is_integer(target):
        return pa.types.is_integer(source)
    if pa.types.is_floating(target):
        numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
        return any(check(source) for check in numeric)
    if pa.types.is_boolean(target):
        return pa.types.is_boolean(source)
    return is_nested_type(source) and is_nested_type(target)


def _fit_values(
    values: list[Any],
    spec: FieldSpec,
    target: pa.DataType,
    name: str,
    violations: list[dict[str, Any]],
) -> pa.Array:
    """Value by value: what fits is kept, the rest becomes null and a recorded violation."""
    kept: list[Any] = []
    parse_json = spec.is_nested and target != pa.string()
    for row, value in enumerate(values):
        if parse_json and isinstance(value, str):
            # Untyped objects/arrays arrive as JSON text; we land this field nested.
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if value is None or _fits(value, target):
            kept.append(value)
        else:
            kept.append(None)
            violations[row][name] = value
    return pa.array(kept, target)


def _fits(value: Any, target: pa.DataType) -> bool:
    try:
        pa.array([value], type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return False
    return True


def _violations_column(table: pa.Table, violations: list[dict[str, Any]]) -> pa.Array:
    existing: list[Any] = (
        table.column(VIOLATIONS_COLUMN).to_pylist()
        if VIOLATIONS_COLUMN in table.column_names
        else [None] * table.num_rows
    )
    if not any(violations):
        return pa.array(existing, pa.string())
    merged: list[str | None] = []
    for before, found in zip(existing, violations, strict=True):
        if not found:
            merged.append(before)
            continue
        combined: Mapping[str, Any] = {**(json.loads(before) if before else {}), **found}
        merged.append(_dumps(dict(combined)))
    return pa.array(merged, pa.string())


def _dumps(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)
