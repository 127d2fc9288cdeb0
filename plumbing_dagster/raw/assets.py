"""Raw assets: one multi-asset per source, built from the stream configs.

Each selected stream becomes `raw/<source>/<stream>_landed` (`keys.py`). A run covers a partition
window (one day, or a range during backfills) and lands it day by day: for each day the dlt source
is built for `[day, day+1)`, dlt writes parquet into that day's folder (run through dagster-dlt's
resource), and the landing zone's manifest makes the new files the day's content (see
`landing/zone.py`).
The specs are built from the configs alone, so loading the code location never imports dlt.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext

from plumbing_dagster.asset_metadata import (
    code_references,
    landed_column_schema,
    location_url,
    stream_code_version,
)
from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.keys import raw_key
from plumbing_dagster.kit import Vendor
from plumbing_dagster.partitions import BACKFILL_POLICY, run_window
from plumbing_dagster.resources import LandingZoneResource, VendorApisResource


def raw_spec(vendor: Vendor, config: StreamConfig, config_path: Path) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_key(vendor.name, config.stream),
        group_name=vendor.name,
        kinds={"dlt", "parquet"},
        owners=["team:data-engineering"],
        code_version=stream_code_version(vendor.name, config),
        description=(config.description or f"{vendor.name} `{config.stream}`")
        + " — landed as parquet by dlt, one folder per UTC day (the API's values, as sent).",
        metadata={
            "dagster/column_schema": landed_column_schema(config.fields),
            "dagster/code_references": code_references(config_path, vendor),
            "plumbing/sync_mode": config.sync_mode,
            "plumbing/primary_key": config.key_columns,
        },
    )


def build_raw_assets(
    vendor: Vendor, streams: Sequence[StreamConfig], partitions_def: dg.PartitionsDefinition, dag_dir: Path
) -> dg.AssetsDefinition:
    """The source's raw multi-asset: one asset per stream in `streams` (those we extract)."""
    configs = {s.stream: s for s in streams}
    stream_of_key = {raw_key(vendor.name, name): name for name in configs}
    specs = [raw_spec(vendor, c, dag_dir / "streams" / vendor.name / f"{c.stream}.json") for c in streams]

    @dg.multi_asset(
        name=f"raw_{vendor.name}",
        specs=specs,
        can_subset=True,
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        pool=f"api_{vendor.name}",
    )
    def raw_assets(
        context: AssetExecutionContext, landing: LandingZoneResource, vendor_apis: VendorApisResource
    ) -> Iterator[dg.MaterializeResult]:
        from plumbing_dagster.raw.landing_run import land_days  # dlt, only when landing

        selected = [configs[stream_of_key[k]] for k in sorted(context.selected_asset_keys)]
        days = run_window(context).days()
        with vendor_apis.open(vendor) as client:
            rows, files = land_days(context, vendor, selected, days, client, landing)
        zone = landing.zone()
        for config in selected:
            yield dg.MaterializeResult(
                asset_key=raw_key(vendor.name, config.stream),
                metadata={
                    "dagster/row_count": rows[config.stream],
                    "plumbing/days": len(days),
                    "plumbing/files": files[config.stream],
                    "plumbing/landing": location_url(zone.url_of(f"{vendor.name}/{config.stream}")),
                },
            )

    return raw_assets
