"""Listing landing-zone keys in key order, starting after a given key.

Sensors call this every tick, so on object stores the cost must grow with the keys returned, not
with everything under the prefix: S3 is asked with ListObjectsV2 `StartAfter`, which the server
answers from its key index (and which works for a key that no longer exists, unlike a cursor that
has to be found in a listing). Other filesystems (a local folder in the sandbox) are scanned and
sorted, which is fine for their size.

Keys are relative to the landing root and compared as plain strings. S3 orders keys by their UTF-8
bytes, and for Python strings code-point order is the same order, so both paths agree.
"""

from __future__ import annotations

import posixpath
from typing import Any

from plumbing_dagster.landing.zone import LandingZone

# ListObjectsV2 returns at most 1000 keys per request.
_S3_PAGE = 1000


def list_after(
    zone: LandingZone, prefix: str, start_after: str | None, limit: int | None = None
) -> list[str]:
    """Relative keys that start with `prefix` and sort after `start_after`, in key order.

    `prefix` is a key prefix, not necessarily a folder (`shop/orders/2026_11_22_` is fine), and the
    listing is recursive, as on S3. `start_after` need not exist. At most `limit` keys are returned.
    """
    if limit is not None and limit <= 0:
        return []
    if _is_s3(zone):
        return _list_s3(zone, prefix, start_after, limit)
    return _list_fs(zone, prefix, start_after, limit)


def _is_s3(zone: LandingZone) -> bool:
    protocols = zone.fs.protocol if isinstance(zone.fs.protocol, tuple) else (zone.fs.protocol,)
    return bool({"s3", "s3a"} & set(protocols))


def _list_s3(zone: LandingZone, prefix: str, start_after: str | None, limit: int | None) -> list[str]:
    bucket, _, root_key = zone.root.partition("/")
    base = f"{root_key}/" if root_key else ""
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": base + prefix}
    if start_after is not None:
        request["StartAfter"] = base + start_after
    keys: list[str] = []
    while limit is None or len(keys) < limit:
        page_size = _S3_PAGE if limit is None else min(_S3_PAGE, limit - len(keys))
        # Through s3fs's own client, so the zone's endpoint, credentials and retries apply.
        response = zone.fs.call_s3("list_objects_v2", **request, MaxKeys=page_size)
        contents = response.get("Contents", [])
        for item in contents:
            key: str = item["Key"]
            # Zero-byte "folder/" markers some tools create are not files.
            if not key.endswith("/"):
                keys.append(key[len(base) :])
        if not response.get("IsTruncated") or not contents:
            break
        # Page on with StartAfter rather than continuation tokens: S3-compatible stores
        # (SeaweedFS, MinIO) all implement StartAfter the same way.
        request["StartAfter"] = contents[-1]["Key"]
    return keys[:limit] if limit is not None else keys


def _list_fs(zone: LandingZone, prefix: str, start_after: str | None, limit: int | None) -> list[str]:
    folder = posixpath.dirname(prefix)  # the deepest folder that contains every matching key
    try:
        paths = zone.fs.find(zone.path(folder) if folder else zone.root)
    except FileNotFoundError:
        return []
    keys = sorted(
        key
        for key in (zone.relative(p) for p in paths)
        if key.startswith(prefix) and (start_after is None or key > start_after)
    )
    return keys[:limit] if limit is not None else keys
