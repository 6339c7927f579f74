"""Content-addressed raw messages: ``blobs/ab/cdef…`` named by the SHA-256 of the bytes.

A blob is written under a temporary name, made durable, and only then renamed into
place, and the rename is made durable before ``put_many`` returns: a crash leaves
either the whole blob under its name or none, and writing the same bytes twice is a
no-op. Blobs are only ever added: a blob whose database row was rolled back is
harmless and is found again by its hash. A temporary file left by a process that
died before its rename is removed by `FileBlobStore.sweep_temporaries`.

Durability costs one flush per batch, not one per file: on Linux ``syncfs(2)``
writes out the whole file system of the blob folder at once (one journal commit
for the batch, where an ``fsync`` per file and per folder made two each); elsewhere
each file and folder is fsynced. A batch of messages stages its arrivals and its
replies in one `StagedBlobs`, so the batch pays that flush once. Blobs are written
and renamed by their names as text (``os`` calls, no `Path` per blob): a batch
stores thousands, and a `Path` each cost as much as the write.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from postroom.errors import StorageUnavailableError
from postroom.storage.home import make_folder

TEMPORARY = ".tmp-"
"""Name prefix of a blob being written (never a blob's own name: those are hex)."""
SWEEP_AFTER = 3600.0
"""Seconds after which a temporary file is taken as left by a dead process (a write
in progress lasts milliseconds)."""


class Durability(Protocol):
    def sync_files(self, root: Path, files: Iterable[Path]) -> None:
        """Put the contents of ``files`` (under ``root``) on disk."""

    def sync_names(self, root: Path, folders: Iterable[Path]) -> None:
        """Put the entries of ``folders`` (renames into them) on disk."""


class PerFile:
    """``fsync`` each file, then each folder: portable, one journal commit per call."""

    def sync_files(self, root: Path, files: Iterable[Path]) -> None:
        for path in files:
            _fsync(path)

    def sync_names(self, root: Path, folders: Iterable[Path]) -> None:
        for folder in folders:
            _fsync(folder)


class WholeFileSystem:
    """``syncfs(2)`` on the blob folder's file system: everything written so far, at once."""

    def __init__(self, syncfs: Callable[[int], int]) -> None:
        self._syncfs = syncfs

    def sync_files(self, root: Path, files: Iterable[Path]) -> None:
        self._sync(root)

    def sync_names(self, root: Path, folders: Iterable[Path]) -> None:
        self._sync(root)

    def _sync(self, root: Path) -> None:
        fd = os.open(root, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if self._syncfs(fd) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, os.strerror(errno))
        finally:
            os.close(fd)


def best_durability() -> Durability:
    """`WholeFileSystem` where the C library has ``syncfs`` (Linux), else `PerFile`."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return PerFile()
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return WholeFileSystem(syncfs)


class FileBlobStore:
    def __init__(
        self, root: Path, fsync: bool = True, durability: Durability | None = None
    ) -> None:
        self.root = root
        self.fsync = fsync
        self.durability = durability or best_durability()
        self._made: set[str] = set()
        self._prefix = os.fspath(root) + os.sep

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def _name(self, sha256: str) -> str:
        """`path` as text: what the ``os`` calls of a batch's writes take."""
        return f"{self._prefix}{sha256[:2]}{os.sep}{sha256[2:]}"

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; return its SHA-256 (hex)."""
        return self.put_many([data])[0]

    def put_many(self, items: list[bytes]) -> list[str]:
        """Store several blobs durably with one flush; return their SHA-256s (hex), in order.

        Each new blob is written under a temporary name; then the data of all of them is
        flushed, they are renamed into place, and the renames are flushed."""
        staged = self.staged()
        digests = [staged.put(data) for data in items]
        staged.publish()
        return digests

    def staged(self) -> StagedBlobs:
        """Blobs to be written now and made durable together later (`StagedBlobs.publish`)."""
        return StagedBlobs(self)

    def _publish(self, pending: dict[str, str]) -> None:
        if not pending:
            return
        try:
            if self.fsync:  # `Path`s made only if the durability reads them (`PerFile`)
                self.durability.sync_files(self.root, map(Path, pending.values()))
            for digest, temporary in pending.items():
                os.replace(temporary, self._name(digest))
            if self.fsync:
                folders = {digest[:2] for digest in pending}
                self.durability.sync_names(self.root, (self.root / f for f in folders))
        except OSError as exc:
            _discard(pending)
            raise StorageUnavailableError(f"cannot store message blobs: {exc.strerror}") from exc

    def _write_temporary(self, digest: str, data: bytes) -> str:
        if digest[:2] not in self._made:
            if not self._made:
                make_folder(self.root)  # both 0700 (storage/home.py)
            make_folder(self.root / digest[:2])
            self._made.add(digest[:2])
        # Unique per process and thread: two pollers storing the same message (one mail
        # to two shared mailboxes) each write their own file and rename it into place.
        temporary = (
            f"{self._prefix}{digest[:2]}{os.sep}{TEMPORARY}{digest[2:]}"
            f"-{os.getpid()}-{threading.get_native_id()}"
        )
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            _unlink(temporary)
            raise
        os.close(fd)
        return temporary

    def sweep_temporaries(self, older_than: float = SWEEP_AFTER) -> int:
        """Remove the temporary files older than ``older_than`` seconds (left by a process
        that died between writing a blob and renaming it); return how many."""
        cutoff = time.time() - older_than
        removed = 0
        try:
            folders = [e.path for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return 0
        for folder in folders:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if not entry.name.startswith(TEMPORARY):
                        continue
                    try:
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(entry.path)
                            removed += 1
                    except FileNotFoundError:  # renamed or removed meanwhile
                        continue
        return removed

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except OSError as exc:
            raise StorageUnavailableError(f"message blob {sha256[:12]} unreadable: {exc}") from exc

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()


class StagedBlobs:
    """Blobs written under temporary names as they come, made durable and put in place by
    one `publish` (a transaction that queues several outbound messages publishes once,
    before its commit). Anything not published is removed by `discard`."""

    def __init__(self, store: FileBlobStore) -> None:
        self._store = store
        self._pending: dict[str, str] = {}
        """Digest -> the temporary file its bytes are in."""

    def put(self, data: bytes) -> str:
        """Write ``data`` under a temporary name; return its SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._pending or os.path.exists(self._store._name(digest)):
            return digest
        try:
            self._pending[digest] = self._store._write_temporary(digest, data)
        except OSError as exc:
            self.discard()
            raise StorageUnavailableError(f"cannot store message blobs: {exc.strerror}") from exc
        return digest

    def publish(self) -> None:
        """Make every blob put so far durable under its name."""
        pending, self._pending = self._pending, {}
        self._store._publish(pending)

    def discard(self) -> None:
        pending, self._pending = self._pending, {}
        _discard(pending)


def _discard(pending: dict[str, str]) -> None:
    for temporary in pending.values():
        _unlink(temporary)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
