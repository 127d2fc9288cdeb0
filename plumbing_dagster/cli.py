"""`plumbing` command line.

plumbing sandbox                                   the Dagster UI on the offline sandbox
plumbing discover <source> [stream] [--sample-limit N]   write dag/sources/<source>/<stream>.json
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.discovery import discover_stream, write_discovered
from plumbing_dagster.environments import load_environment
from plumbing_dagster.sources.registry import VENDORS
from plumbing_dagster.sources.vendor import Record, Vendor, VendorClient

logger = logging.getLogger("plumbing")


@contextmanager
def _client(vendor: Vendor) -> Iterator[VendorClient]:
    environment = load_environment(VENDORS)
    vendor_apis = environment.vendor_apis
    if environment.name == "prod":  # resolve dg.EnvVar values for use outside a run
        vendor_apis = vendor_apis.process_config_and_initialize()
    with vendor_apis.open(vendor) as client:
        yield client


def _records(pages: Iterator[list[Record]]) -> Iterator[Record]:
    for page in pages:
        yield from page


def discover(source: str, stream: str | None, sample_limit: int, dag_dir: Path) -> list[Path]:
    vendor = VENDORS.get(source)
    if vendor is None:
        raise SystemExit(f"unknown source {source!r}; known: {', '.join(sorted(VENDORS))}")
    names = [stream] if stream else list(vendor.endpoints)
    unknown = [n for n in names if n not in vendor.endpoints]
    if unknown:
        raise SystemExit(f"{source} has no stream {unknown[0]!r}; it has: {', '.join(vendor.endpoints)}")
    written = []
    with _client(vendor) as client:
        for name in names:
            endpoint = vendor.endpoints[name]
            discovered = discover_stream(endpoint, _records(endpoint.fetch(client, None)), sample_limit)
            path = write_discovered(dag_dir, source, discovered)
            logger.info("wrote %s (%d fields)", path, len(discovered.fields))
            written.append(path)
    return written


REPOSITORY = DEFAULT_DAG_DIR.parent


def sandbox(host: str, port: int) -> None:
    """Start `dagster dev` with the repository's instance config in `.dagster_home/`."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPOSITORY / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    # The repository's dagster.yaml is the instance config: copied on every start so edits apply.
    shutil.copyfile(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("PLUMBING_ENV", "sandbox")
    os.chdir(REPOSITORY)  # the sandbox's data/ folder lives in the repository
    # The `dagster` of this environment, even when its bin folder is not on PATH.
    beside = Path(sys.executable).parent / "dagster"
    dagster = str(beside) if beside.exists() else shutil.which("dagster") or "dagster"
    logger.info("Dagster UI on http://%s:%d (DAGSTER_HOME=%s)", host, port, home)
    os.execv(dagster, [dagster, "dev", "-w", "workspace.yaml", "-h", host, "-p", str(port)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plumbing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    discover_cmd = commands.add_parser(
        "discover", help="sample a source and write dag/sources/<source>/<stream>.json"
    )
    discover_cmd.add_argument("source")
    discover_cmd.add_argument("stream", nargs="?")
    discover_cmd.add_argument("--sample-limit", type=int, default=500)
    discover_cmd.add_argument("--dag-dir", type=Path, default=DEFAULT_DAG_DIR)
    sandbox_cmd = commands.add_parser("sandbox", help="start the Dagster UI on the offline sandbox")
    sandbox_cmd.add_argument("--host", default="127.0.0.1")
    sandbox_cmd.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    if args.command == "sandbox":
        sandbox(args.host, args.port)
    else:
        discover(args.source, args.stream, args.sample_limit, args.dag_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
