"""`plumbing` command line.

plumbing sandbox                                          the Dagster UI on the offline sandbox
plumbing discover <source> [stream] [--sample-limit N]    write dag/sources/<source>/<stream>.json
plumbing preview <source> <stream> [--day D] [--limit N]  fetch and type one day, write nothing
plumbing new-source <name>                                scaffold a vendor folder and its dag/ files
plumbing <vendor> <action> [--set key=value]              a vendor's action (e.g. plumbing comdirect login)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from plumbing_dagster.config import DEFAULT_DAG_DIR

logger = logging.getLogger("plumbing")
REPOSITORY = DEFAULT_DAG_DIR.parent


def _vendor(source: str):  # noqa: ANN202 - the registry imports every vendor; only on use
    from plumbing_dagster.sources.registry import VENDORS

    vendor = VENDORS.get(source)
    if vendor is None:
        raise SystemExit(f"unknown source {source!r}; known: {', '.join(sorted(VENDORS))}")
    return vendor


def discover(source: str, stream: str | None, sample_limit: int, dag_dir: Path) -> list[Path]:
    from plumbing_dagster.discovery import discovered_stream, sampled_fields, write_discovered
    from plumbing_dagster.environments import load_environment
    from plumbing_dagster.kit import Extract
    from plumbing_dagster.preview import open_client

    vendor = _vendor(source)
    names = [stream] if stream else list(vendor.endpoints)
    unknown = [n for n in names if vendor.endpoint(n) is None]
    if unknown:
        raise SystemExit(f"{source} has no stream {unknown[0]!r}; it has: {', '.join(vendor.endpoints)}")
    written = []
    with open_client(vendor, load_environment({source: vendor})) as client:
        for name in names:
            endpoint = vendor.endpoint(name)
            assert endpoint is not None
            options = _stream_options(dag_dir, source, name, endpoint)
            if endpoint.describe is not None:
                fields = dict(endpoint.describe(client, options))
            else:
                records = (r for page in endpoint.fetch(client, Extract(None, options=options)) for r in page)
                fields = sampled_fields(endpoint, records, sample_limit)
            path = write_discovered(dag_dir, source, discovered_stream(endpoint, fields))
            logger.info("wrote %s (%d fields)", path, len(fields))
            written.append(path)
    return written


def _stream_options(dag_dir: Path, source: str, stream: str, endpoint):  # noqa: ANN001, ANN202
    """The `options` a stream's dag/streams file gives (a generic endpoint needs them to know
    what to read), as the endpoint's model; None without options or without a file."""
    import json

    if endpoint.options is None:
        return None
    path = dag_dir / "streams" / source / f"{stream}.json"
    raw = json.loads(path.read_text(encoding="utf-8")).get("options", {}) if path.exists() else {}
    return endpoint.options.model_validate(raw)


def preview(source: str, stream: str, day: date, limit: int, dag_dir: Path) -> None:
    from plumbing_dagster.config import load_stream_configs
    from plumbing_dagster.environments import load_environment
    from plumbing_dagster.preview import open_client, preview_stream, report

    vendor = _vendor(source)
    configs = load_stream_configs(dag_dir, {source: vendor}, only=source).get(source, {})
    if stream not in configs:
        raise SystemExit(
            f"no selected stream {stream!r} in {dag_dir / 'streams' / source}; have: {', '.join(configs)}"
        )
    environment = load_environment({source: vendor})
    with open_client(vendor, environment) as client:
        result = preview_stream(vendor, configs[stream], day, environment, client)
    sys.stdout.write("\n".join(report(result, limit)) + "\n")


def new_source(name: str, dag_dir: Path) -> None:
    from plumbing_dagster.scaffold import scaffold_source

    for path in scaffold_source(name, dag_dir):
        logger.info("wrote %s", path)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def run_vendor_action(argv: Sequence[str]) -> int:
    """`plumbing <vendor> <action> [--set key=value ...]`: a vendor's action, asking at the terminal."""
    from plumbing_dagster.actions import run_action
    from plumbing_dagster.environments import load_environment

    vendor = _vendor(argv[0])
    actions = {action.name: action for action in vendor.actions}
    parser = argparse.ArgumentParser(prog=f"plumbing {vendor.name}", description=f"{vendor.name}'s actions")
    parser.add_argument("action", choices=sorted(actions))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="run config value")
    args = parser.parse_args(argv[1:])
    config = dict(item.split("=", 1) for item in args.set)
    environment = load_environment({vendor.name: vendor})
    apis = environment.vendor_apis
    if environment.name != "sandbox":  # resolve dg.EnvVar values for use outside a run
        apis = apis.process_config_and_initialize()
    with apis.connection(vendor) as settings:
        metadata = run_action(vendor, actions[args.action], settings, config, logger, ask=input)
    for key, value in dict(metadata or {}).items():
        sys.stdout.write(f"{key}: {value}\n")
    return 0


COMMANDS = ("discover", "preview", "new-source", "sandbox")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
        return run_vendor_action(argv)
    parser = argparse.ArgumentParser(
        prog="plumbing", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    discover_cmd = commands.add_parser("discover", help="write dag/sources/<source>/<stream>.json")
    discover_cmd.add_argument("source")
    discover_cmd.add_argument("stream", nargs="?")
    discover_cmd.add_argument("--sample-limit", type=int, default=500)
    discover_cmd.add_argument("--dag-dir", type=Path, default=DEFAULT_DAG_DIR)
    preview_cmd = commands.add_parser("preview", help="fetch and type one day of a stream; write nothing")
    preview_cmd.add_argument("source")
    preview_cmd.add_argument("stream")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    preview_cmd.add_argument("--day", type=_day, default=yesterday, help="UTC day (default: yesterday)")
    preview_cmd.add_argument("--limit", type=int, default=20, help="rows to show (default: 20)")
    preview_cmd.add_argument("--dag-dir", type=Path, default=DEFAULT_DAG_DIR)
    new_cmd = commands.add_parser(
        "new-source", help="scaffold plumbing_dagster/sources/<name> and its dag/ files"
    )
    new_cmd.add_argument("name")
    new_cmd.add_argument("--dag-dir", type=Path, default=DEFAULT_DAG_DIR)
    sandbox_cmd = commands.add_parser("sandbox", help="start the Dagster UI on the offline sandbox")
    sandbox_cmd.add_argument("--host", default="127.0.0.1")
    sandbox_cmd.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    if args.command == "sandbox":
        from plumbing_dagster.sandbox import run_sandbox

        return run_sandbox(REPOSITORY, args.host, args.port)
    elif args.command == "discover":
        discover(args.source, args.stream, args.sample_limit, args.dag_dir)
    elif args.command == "preview":
        preview(args.source, args.stream, args.day, args.limit, args.dag_dir)
    else:
        new_source(args.name, args.dag_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
