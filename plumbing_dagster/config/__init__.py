"""Stream configuration: the `dag/` folder loaded into typed, validated models."""

from plumbing_dagster.config.loader import (
    DEFAULT_DAG_DIR,
    ConfigError,
    load_source_catalog,
    load_stream_configs,
)
from plumbing_dagster.config.models import (
    DiscoveredStream,
    FieldSpec,
    StreamConfig,
)

__all__ = [
    "DEFAULT_DAG_DIR",
    "ConfigError",
    "DiscoveredStream",
    "FieldSpec",
    "StreamConfig",
    "load_source_catalog",
    "load_stream_configs",
]
