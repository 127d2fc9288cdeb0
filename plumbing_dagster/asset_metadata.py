"""Definition metadata a data engineer reads in the UI, the same way for every layer: a code
version per stream derived from its config (the UI flags assets whose config changed since they
were materialized), column schemas with the contract's descriptions, code references to the
stream's config and its vendor's endpoints, and landing locations as links."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

import plumbing_dagster.sources as sources_package
from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.types import landing_type
from plumbing_dagster.kit import Vendor


def stream_code_version(source: str, config: StreamConfig) -> str:
    """Changes whenever anything in the stream's config does (fields, modes, warehouse, options)."""
    text = f"{source}:{config.model_dump_json()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def column_schema(fields: Mapping[str, FieldSpec], type_name: dict[str, str]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type_name[name], description=spec.description or "")
            for name, spec in fields.items()
        ]
    )


def landed_column_schema(fields: Mapping[str, FieldSpec]) -> dg.TableSchema:
    """The columns as they are in the landed parquet (the API's values: date-times are text)."""
    return column_schema(fields, {name: str(landing_type(spec)) for name, spec in fields.items()})


def code_references(config_path: Path, vendor: Vendor) -> dg.CodeReferencesMetadataValue:
    """The stream's config and its vendor's folder: the endpoints (or, without them, the package)."""
    references = [dg.LocalFileCodeReference(file_path=str(config_path), line_number=1, label="stream config")]
    folder = Path(sources_package.__file__).parent / vendor.name
    vendor_file = next((f for f in (folder / "endpoints.py", folder / "__init__.py") if f.exists()), None)
    if vendor_file is not None:  # a vendor defined elsewhere (tests) has no folder to point at
        references.append(
            dg.LocalFileCodeReference(
                file_path=str(vendor_file), line_number=1, label=f"{vendor.name} endpoints"
            )
        )
    return dg.CodeReferencesMetadataValue(code_references=references)


def location_url(url: str) -> dg.UrlMetadataValue:
    """A landing location as a link: `s3://…` as it is, a local folder as `file://…`."""
    return dg.MetadataValue.url(url if "://" in url else Path(url).resolve().as_uri())
