"""`plumbing new-source <name>`: a vendor folder that loads, lands a sandbox day and passes the
vendor-contract suite as generated — connection settings, one REST endpoint on the kit, an
emulator (app + world) — plus its `dag/sources` (discovered from the emulator) and `dag/streams`
files. It touches nothing outside `plumbing_dagster/sources/<name>/` and `dag/*/<name>/`.
"""

from __future__ import annotations

import importlib
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import plumbing_dagster.sources as sources_package
from plumbing_dagster.config.models import IDENTIFIER

TEMPLATE = Path(__file__).parent / "template"


class ScaffoldError(ValueError):
    """The name cannot become a vendor (not an identifier, or taken)."""


def _render(name: str) -> dict[Path, str]:
    start = (datetime.now(UTC) - timedelta(days=60)).date()
    values = {
        "name": name,
        "Name": "".join(part.capitalize() for part in name.split("_")),
        "NAME": name.upper(),
        "start_year": str(start.year),
        "start_month": str(start.month),
        "start_day": str(start.day),
    }
    return {
        template.relative_to(TEMPLATE).with_suffix(""): string.Template(template.read_text()).substitute(
            values
        )
        for template in sorted(TEMPLATE.rglob("*.tmpl"))
    }


def scaffold_source(name: str, dag_dir: Path) -> list[Path]:
    """Writes the vendor folder and its dag files; returns the paths written."""
    if not IDENTIFIER.match(name):
        raise ScaffoldError(
            f"{name!r} is not a lowercase identifier (it becomes a package, a path and a schema)"
        )
    package_dir = Path(sources_package.__file__).parent / name
    if package_dir.exists() or (dag_dir / "streams" / name).exists():
        raise ScaffoldError(f"a source named {name!r} exists already ({package_dir})")
    written = []
    for relative, text in _render(name).items():
        path = package_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    importlib.invalidate_caches()
    vendor = importlib.import_module(f"{sources_package.__name__}.{name}").VENDOR
    written += _write_dag_files(vendor, dag_dir)
    return written


def _write_dag_files(vendor, dag_dir: Path) -> list[Path]:  # noqa: ANN001 - a kit Vendor
    from plumbing_dagster.discovery import discovered_stream, sampled_fields, write_discovered
    from plumbing_dagster.kit import Extract
    from plumbing_dagster.kit.emulator import EmulatorServer

    written = []
    with (
        EmulatorServer(vendor.emulator()) as server,
        vendor.connect(vendor.sandbox_connection(server.url)) as client,
    ):
        for name, endpoint in vendor.endpoints.items():
            records = (r for page in endpoint.fetch(client, Extract(None)) for r in page)
            discovered = discovered_stream(endpoint, sampled_fields(endpoint, records, 500))
            written.append(write_discovered(dag_dir, vendor.name, discovered))
            config = {
                "stream": name,
                "sync_mode": endpoint.sync_modes[0],
                "destination_sync_mode": "merge",
                "selected": True,
                "fields": discovered.model_dump(mode="json", exclude_none=True)["fields"],
                "description": endpoint.description or None,
            }
            path = dag_dir / "streams" / vendor.name / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}, indent=2) + "\n")
            written.append(path)
    return written
