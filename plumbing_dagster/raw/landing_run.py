"""Running dlt for one raw step: the day-by-day landing loop. Imported only when a raw step
runs, so loading the code location never imports dlt (about a second)."""

import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.keys import raw_key
from plumbing_dagster.kit import Extract, Vendor, Window
from plumbing_dagster.kit.extract import stream_options
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.landing.key_snapshots import key_table, write_key_snapshot
from plumbing_dagster.quiet import dlt_on_purpose
from plumbing_dagster.raw.dlt_source import build_dlt_source
from plumbing_dagster.resources import LandingZoneResource

logger = logging.getLogger(__name__)

# dltHub's anonymous usage telemetry is off, as Dagster's is in both instance configs; on, it also
# starts a sender thread that exit waits for. `RUNTIME__DLTHUB_TELEMETRY=true` turns it back on.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


class RawTranslator(DagsterDltTranslator):
    """Maps each dlt resource to its asset key `raw/<source>/<stream>` for dagster-dlt's run."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        return dg.AssetSpec(key=raw_key(self.source, data.resource.name))


def _pipeline(vendor: Vendor, pipelines_dir: str, destination: Any) -> dlt.Pipeline:
    pipeline = dlt.pipeline(
        pipeline_name=f"raw_{vendor.name}",
        pipelines_dir=pipelines_dir,  # per run: parallel runs of one source must not share it
        destination=destination,
        dataset_name=vendor.name,
        progress="log" if logger.isEnabledFor(logging.DEBUG) else None,
    )
    # Windows make runs stateless; skip reading old state back from the landing zone.
    pipeline.config.restore_from_destination = False
    return pipeline


def publish_landed_day(
    zone: LandingZone,
    source: str,
    stream: str,
    day: date,
    load_ids: Sequence[str],
    rows: int,
    ids_files: Sequence[str] = (),
) -> tuple[int, int]:
    """Make the files dlt just wrote into the day folder the day's content; (rows, files)."""
    folder = zone.day_folder(source, stream, day)
    landed = [
        f
        for f in zone.list_files(folder)
        if any(Path(f).name.startswith(f"{load_id}.") for load_id in load_ids)
    ]
    if rows and not landed:  # never let a listing problem publish an empty day
        raise RuntimeError(
            f"dlt loaded {rows} rows of {source}/{stream} for {day} "
            f"but no files of load {list(load_ids)} are in {zone.url_of(folder)}"
        )
    zone.publish(source, stream, day, ",".join(load_ids) or "empty", landed, rows, ids_files=ids_files)
    return rows, len(landed)


def land_key_snapshot(
    zone: LandingZone, vendor: Vendor, config: StreamConfig, client: Any, day: date
) -> list[str]:
    """For streams whose API never reports deletes: every key that exists now, landed with `day`."""
    endpoint = vendor.endpoint(config.stream)
    if endpoint is None or endpoint.ids is None:
        return []
    keys = {name: config.fields[name] for name in config.key_columns}
    table = key_table(endpoint.ids(client, Extract(None, options=stream_options(endpoint, config))), keys)
    return [write_key_snapshot(zone, vendor.name, config.stream, day, table)]


def land_days(
    context: dg.AssetExecutionContext,
    vendor: Vendor,
    selected: Sequence[StreamConfig],
    days: Sequence[date],
    client: Any,
    landing: LandingZoneResource,
) -> tuple[dict[str, int], dict[str, int]]:
    """Lands each day of each selected stream and publishes it; (rows, files) by stream.

    Each day's own figures go on that day's materialization (a range run makes one per day)."""
    zone = landing.zone()
    rows = {s.stream: 0 for s in selected}
    files = {s.stream: 0 for s in selected}
    runner = DagsterDltResource()
    translator = RawTranslator(vendor.name)
    with tempfile.TemporaryDirectory() as pipelines_dir:
        for day in days:
            source = build_dlt_source(vendor, selected, client=client, window=Window.for_day(day))
            pipeline = _pipeline(vendor, pipelines_dir, landing.dlt_destination(day))
            with dlt_on_purpose():
                for _ in runner.run(
                    context,
                    dlt_source=source,
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=translator,
                    loader_file_format="parquet",
                ):
                    pass  # our own materializations follow, with the landing's figures
            trace = pipeline.last_trace
            load_ids = trace.last_load_info.loads_ids if trace and trace.last_load_info else []
            row_counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
            for config in selected:
                # Keys as of now belong to the run's last day (a backfill's old days cannot know them).
                ids_files = land_key_snapshot(zone, vendor, config, client, day) if day == days[-1] else []
                count, landed = publish_landed_day(
                    zone,
                    vendor.name,
                    config.stream,
                    day,
                    load_ids,
                    int(row_counts.get(config.stream, 0)),
                    ids_files,
                )
                rows[config.stream] += count
                files[config.stream] += landed
                context.add_asset_metadata(
                    {"dagster/row_count": count, "plumbing/files": landed, "plumbing/days": 1},
                    asset_key=raw_key(vendor.name, config.stream),
                    partition_key=f"{day:%Y-%m-%d}",
                )
                context.log.info(
                    f"landed {vendor.name}/{config.stream} {day}: {count} rows in {landed} file(s)"
                )
    return rows, files
