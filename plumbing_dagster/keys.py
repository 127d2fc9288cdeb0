"""Asset keys by layer: `raw/<source>/<stream>_landed`, `staging/<source>/<stream>`,
`marts/<source>/<mart>`.

Dagster's lineage graph labels a node by the last part of its key, and the IO managers name a
table after it, so staging and marts end in the table's name; the raw asset (files in the landing
zone, no table) ends in `_landed`, so the two nodes of one stream read differently.
"""

from collections.abc import Sequence

import dagster as dg

RAW_SUFFIX = "_landed"


def raw_key(source: str, stream: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source, f"{stream}{RAW_SUFFIX}"])


def staging_key(source: str, stream: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", source, stream])


def mart_key(source: str, mart: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", source, mart])


def stream_selection(source: str, streams: Sequence[str]) -> list[str]:
    """The raw and staging keys of `streams`, as `--select` and the UI spell them (raw first)."""
    return [
        *(raw_key(source, s).to_user_string() for s in streams),
        *(staging_key(source, s).to_user_string() for s in streams),
    ]
