"""The landing zone and its manifests.

Layout (seed 004, Hive-style, the day is the **partition's** day):

    <root>/<source>/<stream>/year=YYYY/month=MM/day=DD/<load_id>.<file_id>.parquet
    <root>/_manifests/current/<source>/<stream>/YYYY-MM-DD.json   which files make up the day now
    <root>/_manifests/log/<source>/<YYYYMMDD>/<written_at>_<load_id>_<stream>_<day>.json   the log

Replacing a day: the new files are written beside the old ones, then the day's `current` manifest
is replaced by compare-and-swap (`landing/swap.py`: a conditional PUT on S3, a locked rename on
local disks) — that is the commit point — and only then are the files of the manifest it replaced
deleted. Readers go through the manifest, so they see the old day or the new day, never both and
never nothing; a failed or partial load changes no manifest and leaves the previous day in place.

Two runs landing the same day at once: each writes its own files (names carry the load id); the
first swap wins, the other finds the manifest changed, re-reads it and swaps again on top of it
(last publisher wins, `PUBLISH_ATTEMPTS` tries, then `ManifestConflict`). Clean-up deletes only
what a swap replaced — never files no manifest names yet, which may be another run's landing in
progress — plus leftovers of crashed runs once they are older than `ORPHAN_AGE`.

The log gives sensors something that grows with new landings only: its keys sort by time, so a
listing can start after the last key seen.
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from plumbing_dagster.landing.swap import LocalSwapStore, S3SwapStore, SwapStore, UnguardedSwapStore

logger = logging.getLogger(__name__)

MANIFESTS = "_manifests"
# Swaps tried before giving up on a day that other runs keep publishing.
PUBLISH_ATTEMPTS = 5
# Files in a day folder that no manifest names are a landing in progress — or the leftovers of a
# run that died before publishing, once they are this old (no landing of one day takes that long).
ORPHAN_AGE = timedelta(hours=24)


class ManifestConflict(RuntimeError):
    """Other runs kept replacing the day's manifest; this landing was not published."""


@dataclass(frozen=True)
class Manifest:
    """The files that make up one landed day of one stream."""

    source: str
    stream: str
    day: str  # YYYY-MM-DD
    load_id: str
    files: list[str]  # paths relative to the landing root
    rows: int
    written_at: str
    producer: str = "dlt"
    # The key snapshot taken with this landing (every key that existed then), for delete detection.
    ids_files: list[str] = field(default_factory=list)
    # Files of the manifest this one replaced: deleted right after the swap, and once more by the
    # next publish in case this run died before it could.
    replaced: list[str] = field(default_factory=list)

    @property
    def named_files(self) -> list[str]:
        """Every file this manifest makes part of the day."""
        return [*self.files, *self.ids_files]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        # Keys this version does not know (older manifests carried "extra") are ignored.
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


class LandingZone:
    """Reads and writes the landing zone through fsspec (local folder, `s3://`, ...)."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None):
        self.url = url.rstrip("/")
        self.fs, root = fsspec.core.url_to_fs(self.url, **dict(storage_options or {}))
        self.root = root.rstrip("/")
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self._swap_store: SwapStore | None = None

    @property
    def swap_store(self) -> SwapStore:
        if self._swap_store is None:
            protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
            if self.is_local:
                self._swap_store = LocalSwapStore(self.fs)
            elif {"s3", "s3a"} & set(protocols):
                self._swap_store = S3SwapStore(self.fs)
            else:
                self._swap_store = UnguardedSwapStore(self.fs)
        return self._swap_store

    # -- paths ---------------------------------------------------------------------------------
    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.root) if self.is_local else path[len(self.root) + 1 :]

    def url_of(self, relative: str) -> str:
        return f"{self.url}/{relative}"

    @staticmethod
    def day_folder(source: str, stream: str, day: date) -> str:
        return f"{source}/{stream}/year={day:%Y}/month={day:%m}/day={day:%d}"

    @staticmethod
    def current_manifest_key(source: str, stream: str, day: date) -> str:
        return f"{MANIFESTS}/current/{source}/{stream}/{day:%Y-%m-%d}.json"

    @staticmethod
    def log_prefix(source: str) -> str:
        return f"{MANIFESTS}/log/{source}"

    @classmethod
    def log_key(cls, source: str, written_at: datetime, load_id: str, stream: str, day: date) -> str:
        """Log entries sit in one folder per write date: a listing never has to walk the whole
        history, even on stores whose StartAfter listing scans the prefix (moto, some MinIO setups)."""
        stamp = written_at.astimezone(UTC)
        return (
            f"{cls.log_prefix(source)}/{stamp:%Y%m%d}/"
            f"{stamp:%Y%m%dT%H%M%S%fZ}_{load_id}_{stream}_{day:%Y%m%d}.json"
        )

    def _ls(self, folder: str) -> list[dict[str, Any]]:
        """A fresh listing of `folder` ([] if it does not exist). Object-store filesystems cache
        listings per instance (and fsspec shares instances within a process): an old listing
        would hide files other processes wrote since, even from later reads of those files. So
        the cache is dropped before listing and again after."""
        path = self.path(folder)
        self.fs.invalidate_cache(path)
        try:
            return list(self.fs.ls(path, detail=True))
        except FileNotFoundError:
            return []
        finally:
            self.fs.invalidate_cache(path)

    def list_folders(self, folder: str) -> list[str]:
        """Names of the sub-folders of `folder` ([] if it does not exist)."""
        entries = self._ls(folder)
        return sorted(posixpath.basename(e["name"].rstrip("/")) for e in entries if e["type"] == "directory")

    # -- reading -------------------------------------------------------------------------------
    def read_text(self, relative: str) -> str:
        with self.fs.open(self.path(relative), "r", encoding="utf-8") as handle:
            return handle.read()

    def current_manifest(self, source: str, stream: str, day: date) -> Manifest | None:
        key = self.current_manifest_key(source, stream, day)
        try:
            return Manifest.from_json(self.read_text(key))
        except FileNotFoundError:
            return None

    def current_files(self, source: str, stream: str, day: date) -> list[str]:
        """The relative paths of the files that make up the day now ([] if never landed)."""
        manifest = self.current_manifest(source, stream, day)
        return list(manifest.files) if manifest else []

    def list_files(self, folder: str) -> list[str]:
        """Relative paths of the files directly in `folder` ([] if it does not exist)."""
        return sorted(self.relative(e["name"]) for e in self._ls(folder) if e["type"] != "directory")

    # -- writing -------------------------------------------------------------------------------
    def _write_atomically(self, relative: str, text: str) -> None:
        target = self.path(relative)
        if self.is_local:
            self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
            temporary = f"{target}.{uuid.uuid4().hex}.tmp"
            with self.fs.open(temporary, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.fs.mv(temporary, target)  # rename: atomic on one local filesystem
        else:
            self.fs.pipe_file(target, text.encode("utf-8"))  # one PUT: atomic on object stores

    def publish(
        self,
        source: str,
        stream: str,
        day: date,
        load_id: str,
        files: Iterable[str],
        rows: int,
        producer: str = "dlt",
        ids_files: Iterable[str] = (),
    ) -> Manifest:
        """Make `files` (already written in the day folder) the day's content, then clean up."""
        key = self.current_manifest_key(source, stream, day)
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            text, token = self.swap_store.read(self.path(key))
            previous = Manifest.from_json(text.decode("utf-8")) if text is not None else None
            now = datetime.now(UTC)
            manifest = Manifest(
                source=source,
                stream=stream,
                day=f"{day:%Y-%m-%d}",
                load_id=load_id,
                files=sorted(files),
                rows=rows,
                written_at=now.isoformat(),
                producer=producer,
                ids_files=sorted(ids_files),
                replaced=sorted(previous.named_files) if previous else [],
            )
            if self._swap_manifest(key, manifest, token):
                break
            logger.info(
                "%s/%s %s: another run published the day meanwhile; publishing on top of it (try %d)",
                source,
                stream,
                day,
                attempt + 1,
            )
        else:
            raise ManifestConflict(
                f"{source}/{stream} {day}: the day's manifest changed {PUBLISH_ATTEMPTS} times while "
                f"load {load_id} tried to publish; other runs keep landing this day — run it again "
                "once they are done"
            )
        self._write_atomically(self.log_key(source, now, load_id, stream, day), manifest.to_json())
        self.remove_unnamed(source, stream, day, manifest, previous.replaced if previous else ())
        return manifest

    def _swap_manifest(self, key: str, manifest: Manifest, token: str | None) -> bool:
        """The commit point of a landing: the day's manifest, replaced only if still `token`."""
        return self.swap_store.swap(self.path(key), manifest.to_json().encode("utf-8"), token)

    def remove_unnamed(
        self, source: str, stream: str, day: date, manifest: Manifest, leftovers: Iterable[str] = ()
    ) -> list[str]:
        """Delete what `manifest` replaced (and `leftovers`, what the manifest before it replaced),
        and files of the day folder no manifest names that are older than `ORPHAN_AGE` (a landing
        in progress is younger: its files are kept)."""
        keep = set(manifest.named_files)
        doomed = {f for f in (*manifest.replaced, *leftovers) if f not in keep}
        cutoff = datetime.now(UTC) - ORPHAN_AGE
        for relative, modified in self._day_entries(self.day_folder(source, stream, day)):
            if relative not in keep and modified is not None and modified < cutoff:
                doomed.add(relative)
        if doomed:
            self._remove_files(sorted(doomed))
            logger.info("removed %d superseded file(s) of %s/%s %s", len(doomed), source, stream, day)
        return sorted(doomed)

    def _remove_files(self, relatives: list[str]) -> None:
        for relative in relatives:
            try:
                self.fs.rm_file(self.path(relative))
            except FileNotFoundError:
                pass  # removed by an earlier clean-up that died before its manifest said so

    def _day_entries(self, folder: str) -> list[tuple[str, datetime | None]]:
        """(relative path, last modified) of the files directly in `folder`."""
        entries = self._ls(folder)
        return [(self.relative(e["name"]), _modified(e)) for e in entries if e["type"] != "directory"]


def _modified(entry: Mapping[str, Any]) -> datetime | None:
    """Last-modified time of an fsspec listing entry (local: `mtime`, S3: `LastModified`)."""
    value = entry.get("LastModified", entry.get("mtime"))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None
