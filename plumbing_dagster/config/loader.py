"""Loading `dag/` into models, with errors that name the file, the field and the problem."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from plumbing_dagster.config.models import IDENTIFIER, DiscoveredStream, StreamConfig

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


def _read_model(path: Path, model: type[ModelT]) -> ModelT:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
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
            path.stem: _read_model(path, DiscoveredStream) for path in sorted(folder.glob("*.json"))
        }
    return catalog


def _check_against_catalog(path: Path, config: StreamConfig, discovered: DiscoveredStream) -> None:
    for name in config.fields:
        if name not in discovered.fields:
            raise ConfigError(
                f"{path}: field 'fields.{name}': the source does not provide {name!r} "
                f"(see dag/sources/{path.parent.name}/{path.name}; re-run `plumbing discover`?)"
            )
    if config.sync_mode not in discovered.options.sync_modes:
        raise ConfigError(
            f"{path}: field 'sync_mode': {config.sync_mode!r} is not supported by the source "
            f"(supported: {', '.join(discovered.options.sync_modes)})"
        )


def load_stream_configs(
    dag_dir: Path, catalog: Mapping[str, Mapping[str, DiscoveredStream]] | None = None
) -> dict[str, dict[str, StreamConfig]]:
    """Every selected `dag/streams/<source>/<stream>.json`, checked against the discovered catalog.

    Streams with `"selected": false` are left out.
    """
    catalog = load_source_catalog(dag_dir) if catalog is None else catalog
    selected: dict[str, dict[str, StreamConfig]] = {}
    for folder in _source_dirs(dag_dir / "streams"):
        streams: dict[str, StreamConfig] = {}
        for path in sorted(folder.glob("*.json")):
            config = _read_model(path, StreamConfig)
            discovered = catalog.get(folder.name, {}).get(config.stream)
            if discovered is None:
                if config.producer == "dlt":
                    raise ConfigError(
                        f"{path}: no discovered schema dag/sources/{folder.name}/{path.name}; "
                        f"run `plumbing discover {folder.name} {config.stream}` first"
                    )
            else:
                _check_against_catalog(path, config, discovered)
            if config.selected:
                streams[config.stream] = config
        if streams:
            selected[folder.name] = streams
    return selected
