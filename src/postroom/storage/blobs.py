"""Content-addressed raw messages: ``blobs/ab/cdef…`` named by the SHA-256 of the bytes.

A blob is written to a temporary file, flushed to disk and renamed into
place, so a crash leaves either the whole blob or none; writing the same
bytes twice is a no-op.  Blobs are only ever added: a blob whose database
row was rolled back is harmless and is found again by its hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from postroom.errors import StorageUnavailableError


class FileBlobStore:
    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self._made: set[str] = set()

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; return its SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        folder = target.parent
        try:
            if digest[:2] not in self._made:
                folder.mkdir(parents=True, exist_ok=True)
                self._made.add(digest[:2])
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    if self.fsync:
                        fh.flush()
                        os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            if self.fsync:
                _fsync_dir(folder)
        except OSError as exc:
            raise StorageUnavailableError(f"cannot store message blob: {exc.strerror}") from exc
        return digest

    def put_many(self, items: list[bytes]) -> list[str]:
        """Store several blobs durably with one flush: each file is written, then all are
        synced (the first fsync commits the journal for the others), then their folders."""
        digests: list[str] = []
        pending: list[tuple[str, Path]] = []
        try:
            for data in items:
                digest = hashlib.sha256(data).hexdigest()
                digests.append(digest)
                target = self.path(digest)
                if target.exists() or any(d == digest for d, _ in pending):
                    continue
                folder = target.parent
                if digest[:2] not in self._made:
                    folder.mkdir(parents=True, exist_ok=True)
                    self._made.add(digest[:2])
                fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                pending.append((digest, Path(tmp_name)))
            if self.fsync:
                for _, tmp in pending:
                    fd = os.open(tmp, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            folders = set()
            for digest, tmp in pending:
                os.replace(tmp, self.path(digest))
                folders.add(tmp.parent)
            if self.fsync:
                for folder in folders:
                    _fsync_dir(folder)
        except OSError as exc:
            for _, tmp in pending:
                tmp.unlink(missing_ok=True)
            raise StorageUnavailableError(f"cannot store message blobs: {exc.strerror}") from exc
        return digests

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except OSError as exc:
            raise StorageUnavailableError(f"message blob {sha256[:12]} unreadable: {exc}") from exc

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
