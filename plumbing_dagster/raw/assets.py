"""Raw assets: one `@dlt_assets` multi-asset per source, built from the stream configs.

Each selected stream becomes `raw/<source>/<stream>`. A run covers a partition window (one day,
or a range during backfills) and lands it day by day: for each day the dlt source is built for
`[day, day+1)`, dlt writes parquet into that day's folder, and the landing zone's manifest makes
the new files the day's content (see `landing/zone.py`).
"""

import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.keys import raw_key
from plumbing_dagster.kit import Extract, Vendor, Window
from plumbing_dagster.kit.extract import stream_options
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.landing.key_snapshots import key_table, write_key_snapshot
from plumbing_dagster.partitions import BACKFILL_POLICY, run_window
from plumbing_dagster.raw.dlt_source import build_dlt_source
from plumbing_dagster.resources import LandingZoneResource, VendorApisResource

logger = logging.getLogger(__name__)

# dlt needs a pipeline object to build asset specs; it never runs, so its folder is throwaway.
_SPEC_PIPELINES_DIR = str(Path(tempfile.gettempdir()) / "plumbing_dagster_dlt_specs")


class RawTranslator(DagsterDltTranslator):
    """Asset keys `raw/<source>/<stream>`, grouped by source, no phantom upstream assets."""

    def __init__(self, source: str, streams: Mapping[str, StreamConfig]):
        super().__init__()
        self.source = source
        self.streams = streams

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        default = super().get_asset_spec(data)
        stream = data.resource.name
        config = self.streams[stream]
        return default.replace_attributes(
            key=raw_key(self.source, stream),
            deps=[],
            group_name=self.source,
            kinds={"dlt", "parquet"},
            owners=["team:data-engineering"],
            description=config.description
            or f"{self.source} `{stream}` landed as parquet, one folder per UTC day.",
            metadata={
                **default.metadata,
                "plumbing/sync_mode": config.sync_mode,
                "plumbing/primary_key": config.key_columns,
                "plumbing/fields": sorted(config.fields),
            },
        )


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


def build_raw_assets(
    vendor: Vendor, streams: Sequence[StreamConfig], partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """The source's raw multi-asset: one asset per stream in `streams` (those we extract)."""
    configs = {s.stream: s for s in streams}
    translator = RawTranslator(vendor.name, configs)
    spec_pipeline = dlt.pipeline(
        pipeline_name=f"raw_{vendor.name}",
        pipelines_dir=_SPEC_PIPELINES_DIR,
        destination="filesystem",
        dataset_name=vendor.name,
    )
    stream_of_key = {raw_key(vendor.name, name): name for name in configs}

    @dlt_assets(
        dlt_source=build_dlt_source(vendor, list(configs.values())),
        dlt_pipeline=spec_pipeline,
        name=f"raw_{vendor.name}",
        dagster_dlt_translator=translator,
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        pool=f"api_{vendor.name}",
    )
    def raw_assets(
        context: AssetExecutionContext,
        dlt_resource: DagsterDltResource,
        landing: LandingZoneResource,
        vendor_apis: VendorApisResource,
    ) -> Iterator[dg.MaterializeResult]:
        selected = [configs[stream_of_key[k]] for k in sorted(context.selected_asset_keys)]
        days = run_window(context).days()
        zone = landing.zone()
        rows: dict[str, int] = {s.stream: 0 for s in selected}
        files: dict[str, int] = {s.stream: 0 for s in selected}
        last_metadata: dict[str, Mapping[str, Any]] = {}

        with vendor_apis.open(vendor) as client, tempfile.TemporaryDirectory() as pipelines_dir:
            for day in days:
                source = build_dlt_source(vendor, selected, client=client, window=Window.for_day(day))
                pipeline = _pipeline(vendor, pipelines_dir, landing.dlt_destination(day))
                for result in dlt_resource.run(
                    context, dlt_source=source, dlt_pipeline=pipeline, loader_file_format="parquet"
                ):
                    last_metadata[stream_of_key[result.asset_key]] = result.metadata or {}
                trace = pipeline.last_trace
                load_ids = trace.last_load_info.loads_ids if trace and trace.last_load_info else []
                row_counts = (
                    trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
                )
                for config in selected:
                    # Keys as of now belong to the run's last day (a backfill's old days cannot know them).
                    ids_files = (
                        land_key_snapshot(zone, vendor, config, client, day) if day == days[-1] else []
                    )
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
                    # The day's own figures on the day's materialization (a range run makes one per day).
                    context.add_asset_metadata(
                        {"dagster/row_count": count, "plumbing/files": landed, "plumbing/days": 1},
                        asset_key=raw_key(vendor.name, config.stream),
                        partition_key=f"{day:%Y-%m-%d}",
                    )
                    context.log.info(
                        f"landed {vendor.name}/{config.stream} {day}: {count} rows in {landed} file(s)"
                    )

        for config in selected:
            metadata = last_metadata.get(config.stream, {})
            yield dg.MaterializeResult(
                asset_key=raw_key(vendor.name, config.stream),
                metadata={
                    **{
                        k: v
                        for k, v in metadata.items()
                        if k in ("dagster/column_schema", "destination_type")
                    },
                    "dagster/row_count": rows[config.stream],
                    "plumbing/days": len(days),
                    "plumbing/files": files[config.stream],
                    "plumbing/landing": zone.url_of(f"{vendor.name}/{config.stream}"),
                },
            )

    return raw_assets
