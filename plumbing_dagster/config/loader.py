"""Loading `dag/` into models, with errors that name the file, the field and the problem.

A stream's facts (key, cursors, sync modes) are the endpoint's; the loader fills the key and the
default cursor into a config that leaves them out, and rejects a config that asks for what the
endpoint cannot do. The discovered catalog (`dag/sources`) is generated from the same facts: when
it no longer matches them, the loader says to re-run discovery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from plumbing_dagster.config.models import IDENTIFIER, DiscoveredStream, FieldSpec, StreamConfig

if TYPE_CHECKING:
    from plumbing_dagster.kit.streams import Endpoint
    from plumbing_dagster.kit.vendor import Vendor

ModelT = TypeVar("ModelT", bound=BaseModel)

# The repository's `dag/` folder (the package is installed editable from the repository).
DEFAULT_DAG_DIR = Path(__file__).resolve().parents[2] / "dag"


class ConfigError(ValueError):
    """A `dag/` file is malformed. The message names the file, the field and the problem."""


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(file)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"field '{location}': {message}")
    return "; ".join(problems)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None


def _validate(path: Path, raw: Any, model: type[ModelT]) -> ModelT:
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None
    stream_name = getattr(parsed, "stream", None)
    if stream_name is not None and stream_name != path.stem:
        raise ConfigError(
            f"{path}: field 'stream': {stream_name!r} does not match the file name {path.stem!r}"
        )
    return parsed


def _source_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        if not IDENTIFIER.match(folder.name):
            raise ConfigError(f"{folder}: source folder name {folder.name!r} is not a lowercase identifier")
    return folders


def load_source_catalog(dag_dir: Path) -> dict[str, dict[str, DiscoveredStream]]:
    """Every `dag/sources/<source>/<stream>.json`, keyed by source then stream."""
    catalog: dict[str, dict[str, DiscoveredStream]] = {}
    for folder in _source_dirs(dag_dir / "sources"):
        catalog[folder.name] = {
            path.stem: _validate(path, _read_json(path), DiscoveredStream)
            for path in sorted(folder.glob("*.json"))
        }
    return catalog


def catalog_entry_facts(endpoint: Endpoint) -> dict[str, Any]:
    """The `options` and `defaults` of a discovered stream, as the endpoint states them."""
    return {
        "options": {
            "sync_modes": list(endpoint.sync_modes),
            "destination_sync_modes": list(endpoint.destination_sync_modes),
            "cursor_fields": list(endpoint.cursors),
        },
        "defaults": {
            "primary_key": [[key] for key in endpoint.primary_key],
            "cursor_field": [endpoint.default_cursor] if endpoint.default_cursor else [],
        },
    }


def _narrows(wanted: FieldSpec, offered: FieldSpec) -> bool:
    """Whether a curated field type fits what the source offers (same type, or a discovered
    all-null field given a type, nullability free; nested shapes are the curator's)."""
    if offered.base_type == "null":
        return True
    return wanted.base_type == offered.base_type and (wanted.format in (None, offered.format))


def _with_endpoint_defaults(raw: Any, endpoint: Endpoint) -> Any:
    if not isinstance(raw, dict):
        return raw
    filled = dict(raw)
    filled.setdefault("primary_key", [[key] for key in endpoint.primary_key])
    selected = filled.get("fields") if isinstance(filled.get("fields"), dict) else {}
    # A snapshot needs no cursor: it gets the default one only when it lands that field (to pick
    # the newest of a key's versions); an incremental stream always does (and must land it).
    wants_cursor = filled.get("sync_mode") != "full_refresh" or endpoint.default_cursor in selected
    if "cursor_field" not in filled and endpoint.default_cursor and wants_cursor:
        filled["cursor_field"] = [endpoint.default_cursor]
    return filled


def _check_modes(path: Path, source: str, raw: Any, endpoint: Endpoint) -> None:
    """The sync modes first: a mode the endpoint cannot honour is the problem to report, not
    what the model would then say about it (a missing cursor, say)."""
    if not isinstance(raw, dict):
        return
    where = f"{source}/{path.stem}"
    sync_mode = raw.get("sync_mode")
    if isinstance(sync_mode, str) and sync_mode not in endpoint.sync_modes:
        raise ConfigError(
            f"{path}: field 'sync_mode': {where} cannot be read as {sync_mode!r} "
            f"(it supports: {', '.join(endpoint.sync_modes)})"
        )
    destination = raw.get("destination_sync_mode")
    if isinstance(destination, str) and destination not in endpoint.destination_sync_modes:
        raise ConfigError(
            f"{path}: field 'destination_sync_mode': {destination!r} is not supported "
            f"by {where} (supported: {', '.join(endpoint.destination_sync_modes)})"
        )


def _check_against_endpoint(path: Path, source: str, config: StreamConfig, endpoint: Endpoint) -> None:
    where = f"{source}/{config.stream}"
    if tuple(config.key_columns) != endpoint.primary_key:
        raise ConfigError(
            f"{path}: field 'primary_key': {config.key_columns} is not the key of {where} "
            f"({list(endpoint.primary_key)}); leave it out to use the endpoint's"
        )
    if config.cursor is not None and config.cursor not in endpoint.cursors:
        offered = ", ".join(endpoint.cursors) or "none: it is read whole"
        raise ConfigError(
            f"{path}: field 'cursor_field': {where} cannot window on {config.cursor!r} (cursors: {offered})"
        )
    if endpoint.options is None:
        if config.options:
            raise ConfigError(f"{path}: field 'options': {where} takes no options")
    else:
        try:
            endpoint.options.model_validate(config.options)
        except ValidationError as exc:
            raise ConfigError(f"{path}: in 'options': {_describe(exc)}") from None


def _check_against_catalog(path: Path, config: StreamConfig, discovered: DiscoveredStream) -> None:
    for name, spec in config.fields.items():
        if name not in discovered.fields:
            raise ConfigError(
                f"{path}: field 'fields.{name}': the source does not provide {name!r} "
                f"(see dag/sources/{path.parent.name}/{path.name}; re-run `plumbing discover`?)"
            )
        if not _narrows(spec, discovered.fields[name]):
            raise ConfigError(
                f"{path}: field 'fields.{name}': {spec.base_type} does not fit the source's "
                f"{discovered.fields[name].base_type} (dag/sources/{path.parent.name}/{path.name})"
            )


def _check_catalog_is_current(
    source: str, discovered: DiscoveredStream, endpoint: Endpoint, dag_dir: Path
) -> None:
    facts = catalog_entry_facts(endpoint)
    stated = discovered.model_dump(mode="json", include={"options", "defaults"})
    if stated != facts:
        raise ConfigError(
            f"{dag_dir / 'sources' / source / (discovered.stream + '.json')}: options/defaults no longer "
            f"match the endpoint ({facts}); run `plumbing discover {source} {discovered.stream}`"
        )


def _known(kind: str, name: str, known: Mapping[str, Any], path: Path, field: str) -> None:
    if name not in known:
        raise ConfigError(
            f"{path}: field '{field}': {name!r} is not a {kind} (known: {', '.join(sorted(known))})"
        )


def load_stream_configs(
    dag_dir: Path,
    vendors: Mapping[str, Vendor] | None = None,
    catalog: Mapping[str, Mapping[str, DiscoveredStream]] | None = None,
    *,
    only: str | None = None,
) -> dict[str, dict[str, StreamConfig]]:
    """Every selected `dag/streams/<source>/<stream>.json` (of source `only`, if given), checked
    against the source's endpoints and the discovered catalog. Streams with `"selected": false`
    are left out. A missing or empty `dag/streams` is an error: a code location with no streams is
    a wrong path, not a choice."""
    from plumbing_dagster.landing.producers import PRODUCERS
    from plumbing_dagster.sources.registry import VENDORS
    from plumbing_dagster.warehouses import WAREHOUSES

    vendors = VENDORS if vendors is None else vendors
    streams_dir = dag_dir / "streams"
    folders = [f for f in _source_dirs(streams_dir) if only is None or f.name == only]
    if not any(folder.glob("*.json") for folder in folders):
        raise ConfigError(f"{streams_dir}: no stream configs here (is PLUMBING_DAG_DIR right?)")
    catalog = load_source_catalog(dag_dir) if catalog is None else catalog
    selected: dict[str, dict[str, StreamConfig]] = {}
    for folder in folders:
        source = folder.name
        vendor = vendors.get(source)
        if vendor is None:
            raise ConfigError(
                f"{folder}: no source package named {source!r} (known: {', '.join(sorted(vendors))})"
            )
        streams: dict[str, StreamConfig] = {}
        for path in sorted(folder.glob("*.json")):
            raw = _read_json(path)
            producer = PRODUCERS.get(raw.get("producer", "dlt") if isinstance(raw, dict) else "dlt")
            # Streams we extract have an endpoint; files other tools land carry their facts themselves.
            extracted = producer is None or producer.extracts
            endpoint = vendor.endpoint(path.stem) if extracted else None
            if extracted and endpoint is None:
                raise ConfigError(
                    f"{path}: {source} has no stream {path.stem!r} (it has: {', '.join(vendor.endpoints)})"
                )
            if endpoint is not None:
                _check_modes(path, source, raw, endpoint)
                raw = _with_endpoint_defaults(raw, endpoint)
            config = _validate(path, raw, StreamConfig)
            _known("producer", config.producer, PRODUCERS, path, "producer")
            _known("warehouse", config.warehouse, WAREHOUSES, path, "warehouse")
            if endpoint is not None:
                _check_against_endpoint(path, source, config, endpoint)
            discovered = catalog.get(source, {}).get(config.stream)
            if discovered is None:
                if endpoint is not None:
                    raise ConfigError(
                        f"{path}: no discovered schema dag/sources/{source}/{path.name}; "
                        f"run `plumbing discover {source} {config.stream}` first"
                    )
            else:
                if endpoint is not None:
                    _check_catalog_is_current(source, discovered, endpoint, dag_dir)
                _check_against_catalog(path, config, discovered)
            if config.selected:
                streams[config.stream] = config
        _check_families(folder, vendor, streams)
        if streams:
            selected[source] = streams
    return selected


def _check_families(folder: Path, vendor: Vendor, streams: Mapping[str, StreamConfig]) -> None:
    """Streams of one family are read together, so they must ask for the same window."""
    first_of: dict[str, StreamConfig] = {}
    for name, config in streams.items():
        endpoint = vendor.endpoint(name)
        if endpoint is None or endpoint.family is None:
            continue
        first = first_of.setdefault(endpoint.family, config)
        if (config.sync_mode, config.cursor) != (first.sync_mode, first.cursor):
            raise ConfigError(
                f"{folder / (name + '.json')}: field 'sync_mode': {name} is read in one request with "
                f"{first.stream} (family {endpoint.family!r}), so it needs the same sync_mode and "
                f"cursor_field ({first.sync_mode}, {first.cursor})"
            )
        if config.options != first.options:
            raise ConfigError(
                f"{folder / (name + '.json')}: field 'options': {name} is read in one request with "
                f"{first.stream} (family {endpoint.family!r}), so it needs the same options "
                f"({json.dumps(first.options, sort_keys=True)})"
            )
