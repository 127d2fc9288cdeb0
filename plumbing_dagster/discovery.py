"""Schema discovery (the seed 004 workflow): write `dag/sources/<source>/<stream>.json` from the
endpoint's facts (sync modes, key, cursors) and its field types — described by the vendor where
the endpoint can ask (`Endpoint.describe`), else inferred from a sample of records."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from plumbing_dagster.config.loader import catalog_entry_facts
from plumbing_dagster.config.models import IDENTIFIER, DiscoveredStream, FieldSpec
from plumbing_dagster.kit import Endpoint, Record

logger = logging.getLogger(__name__)

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _infer(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        if _DATE_TIME.match(value):
            return {"type": "string", "format": "date-time"}
        if _DATE.match(value):
            return {"type": "string", "format": "date"}
        return {"type": "string"}
    if isinstance(value, Mapping):
        return {"type": "object", "properties": _infer_fields([value])}
    if isinstance(value, list):
        items = _merge_all([_infer(v) for v in value])
        return {"type": "array", **({"items": items} if items else {})}
    return {"type": "string"}


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema["type"]
    return [kind] if isinstance(kind, str) else list(kind)


def _merge(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """The narrowest schema both samples fit; numbers absorb integers, conflicts become strings."""
    if a is None or b is None:
        return a or b
    for plain, other in ((a, b), (b, a)):
        if _types(plain) == ["null"]:  # a null says nothing about the shape: keep the other's
            kinds = [t for t in _types(other) if t != "null"]
            return {**other, "type": ["null", *kinds]} if kinds else other
    types = set(_types(a)) | set(_types(b))
    nullable = "null" in types
    types.discard("null")
    if types == {"integer", "number"}:
        types = {"number"}
    merged: dict[str, Any] = {}
    if len(types) > 1:
        types = {"string"}
    elif types == {"object"}:
        properties = dict(a.get("properties") or {})
        for name, spec in (b.get("properties") or {}).items():
            properties[name] = _merge(properties.get(name), spec)
        merged["properties"] = properties
    elif types == {"array"}:
        items = _merge(a.get("items"), b.get("items"))
        if items:
            merged["items"] = items
    elif types == {"string"} and a.get("format") == b.get("format") and a.get("format"):
        merged["format"] = a["format"]
    kind = sorted(types)[0] if types else "null"
    return {"type": ["null", kind] if nullable and kind != "null" else kind, **merged}


def _merge_all(schemas: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    result: dict[str, Any] | None = None
    for schema in schemas:
        result = _merge(result, schema)
    return result


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return cleaned if IDENTIFIER.match(cleaned) else f"_{cleaned}"


def _infer_fields(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    seen = 0
    for record in records:
        seen += 1
        for name, value in record.items():
            fields[_safe_name(name)] = _merge(fields.get(_safe_name(name)), _infer(value))
    # A field absent from some records is nullable.
    return fields


def sampled_fields(endpoint: Endpoint, records: Iterable[Record], sample_limit: int) -> dict[str, Any]:
    """JSON-schema field types inferred from up to `sample_limit` records."""
    sample = list(islice(records, sample_limit))
    if not sample:
        raise ValueError(f"stream {endpoint.name!r} returned no records to sample")
    fields = _infer_fields(sample)
    for name, spec in fields.items():
        if sum(1 for r in sample if r.get(name) is not None) < len(sample) and "null" not in _types(spec):
            spec["type"] = ["null", spec["type"]]
    return fields


def discovered_stream(endpoint: Endpoint, fields: Mapping[str, Any]) -> DiscoveredStream:
    """The catalog entry: the endpoint's facts and the fields (JSON schema or `FieldSpec`s)."""
    as_json = {
        name: spec.model_dump(mode="json", exclude_none=True) if isinstance(spec, FieldSpec) else spec
        for name, spec in fields.items()
    }
    return DiscoveredStream.model_validate(
        {"stream": endpoint.name, **catalog_entry_facts(endpoint), "fields": dict(sorted(as_json.items()))}
    )


def write_discovered(dag_dir: Path, source: str, stream: DiscoveredStream) -> Path:
    path = dag_dir / "sources" / source / f"{stream.stream}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = stream.model_dump(mode="json", exclude_none=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path
