"""The landing zone and its manifests.

Layout (seed 004, Hive-style, the day is the **partition's** day):

    <root>/<source>/<stream>/year=YYYY/month=MM/day=DD/<load_id>.<file_id>.parquet
    <root>/_manifests/current/<source>/<stream>/YYYY-MM-DD.json   which files make up the day now
    <root>/_manifests/log/<source>/<YYYYMMDD>/<written_at>_<load_id>_<stream>_<day>.json   the log

Replacing a day: the new files are written beside the old ones, then the day's `current` manifest
is overwritten in one write (a single PUT on S3, a rename on local disks) — that is the commit
point — and only then are files of earlier loads deleted. Readers go through the manifest, so they
see the old day or the new day, never both and never nothing; a failed or partial load changes no
manifest and leaves the previous day in place. The log gives sensors something that grows with new
landings only: its keys sort by time, so a listing can start after the last key seen.
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

logger = logging.getLogger(__name__)

MANIFESTS = "_manifests"


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

    def list_folders(self, folder: str) -> list[str]:
        """Names of the sub-folders of `folder` ([] if it does not exist)."""
        path = self.path(folder)
        self.fs.invalidate_cache(path)
        try:
            entries = self.fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
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
        path = self.path(folder)
        self.fs.invalidate_cache(path)  # object-store listings are cached per filesystem instance
        try:
            entries = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(self.relative(e) for e in entries if not self.fs.isdir(e))

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
        )
        self._write_atomically(self.current_manifest_key(source, stream, day), manifest.to_json())
        self._write_atomically(self.log_key(source, now, load_id, stream, day), manifest.to_json())
        self.remove_stale(source, stream, day, keep=[*manifest.files, *manifest.ids_files])
        return manifest

    def remove_stale(self, source: str, stream: str, day: date, keep: Iterable[str]) -> list[str]:
        """Delete the day folder's files that the current manifest does not list."""
        keep_set = set(keep)
        stale = [f for f in self.list_files(self.day_folder(source, stream, day)) if f not in keep_set]
        if stale:
            self.fs.rm([self.path(f) for f in stale])
            logger.info("removed %d superseded file(s) of %s/%s %s", len(stale), source, stream, day)
        return stale
