"""Compare-and-swap of one small file (a day's manifest): replace it only if it is still the
version we read, so two runs publishing the same day at once cannot both think they won.

- S3 (and S3-compatible stores): conditional PUT — `If-Match: <ETag read>` to replace,
  `If-None-Match: *` to create. AWS S3 has both since 2024, as do MinIO and moto's server; a store
  that ignores them degrades to last-writer-wins (each write is still atomic).
- Local folders: an exclusive `flock` per file while re-reading and renaming a temporary file
  over it. The kernel drops the lock when its process dies, so a killed run never leaves the day
  locked.
- Any other fsspec filesystem: a plain overwrite, with a warning (no CAS available).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import posixpath
import uuid
from abc import ABC, abstractmethod
from typing import Any

from fsspec.asyn import sync

logger = logging.getLogger(__name__)

# What a swap compares against: an ETag, a content hash, or None for "does not exist yet".
Token = str | None


class SwapStore(ABC):
    @abstractmethod
    def read(self, path: str) -> tuple[bytes | None, Token]:
        """The file's content (None if absent) and the token a `swap` compares with."""

    @abstractmethod
    def swap(self, path: str, data: bytes, expected: Token) -> bool:
        """Write `data` if the file is still at `expected`; False (nothing written) if not."""


class LocalSwapStore(SwapStore):
    def __init__(self, fs: Any):
        self.fs = fs

    @staticmethod
    def _token(data: bytes | None) -> Token:
        return hashlib.sha256(data).hexdigest() if data is not None else None

    def read(self, path: str) -> tuple[bytes | None, Token]:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            data = None
        return data, self._token(data)

    def swap(self, path: str, data: bytes, expected: Token) -> bool:
        os.makedirs(posixpath.dirname(path), exist_ok=True)
        with open(f"{path}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released on close, or by the kernel if we die
            if self.read(path)[1] != expected:
                return False
            temporary = f"{path}.{uuid.uuid4().hex}.tmp"
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)  # atomic on one filesystem: readers see old or new
            return True


class S3SwapStore(SwapStore):
    def __init__(self, fs: Any):
        self.fs = fs

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        bucket, _, key = path.partition("/")
        return bucket, key

    def read(self, path: str) -> tuple[bytes | None, Token]:
        bucket, key = self._split(path)

        async def get() -> tuple[bytes | None, Token]:
            try:
                response = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
            except FileNotFoundError:
                return None, None
            async with response["Body"] as body:
                return await body.read(), response["ETag"]  # content and ETag of one response

        return sync(self.fs.loop, get)

    def swap(self, path: str, data: bytes, expected: Token) -> bool:
        bucket, key = self._split(path)
        condition = {"IfMatch": expected} if expected is not None else {"IfNoneMatch": "*"}
        try:
            self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, **condition)
        except OSError as exc:
            if _lost_the_race(exc):
                return False
            raise
        self.fs.invalidate_cache(path)
        return True


# 412: the object changed (or was created) since it was read; 409: another conditional write to
# it is in progress; 404 NoSuchKey: it was deleted since it was read (If-Match on a missing key).
_LOST = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"}


def _lost_the_race(exc: BaseException) -> bool:
    """Whether an s3fs error is a failed condition. s3fs turns S3 errors into OSErrors of varying
    kinds (FileExistsError, EINVAL, FileNotFoundError); S3's own error code is on the cause."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in _LOST


class UnguardedSwapStore(SwapStore):
    def __init__(self, fs: Any):
        self.fs = fs
        logger.warning("%s has no compare-and-swap: same-day landings are last-writer-wins", fs.protocol)

    def read(self, path: str) -> tuple[bytes | None, Token]:
        try:
            return self.fs.cat_file(path), None
        except FileNotFoundError:
            return None, None

    def swap(self, path: str, data: bytes, expected: Token) -> bool:
        self.fs.pipe_file(path, data)
        return True
