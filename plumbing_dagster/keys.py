"""Asset keys by layer: `raw/<source>/<stream>`, `staging/<source>/<stream>`, `marts/<source>/<mart>`."""

import dagster as dg


def raw_key(source: str, stream: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source, stream])


def staging_key(source: str, stream: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", source, stream])


def mart_key(source: str, mart: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", source, mart])
