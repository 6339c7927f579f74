"""The blob folder: content-addressed, whole or absent, one flush a batch."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from postroom.errors import StorageUnavailableError
from postroom.storage.blobs import (
    TEMPORARY,
    FileBlobStore,
    PerFile,
    WholeFileSystem,
    best_durability,
)


class Recording:
    """A durability that records what exists under the blob folder at each flush."""

    def __init__(self, store_root: Path) -> None:
        self.root = store_root
        self.calls: list[tuple[str, set[str], set[str]]] = []

    def _names(self) -> tuple[set[str], set[str]]:
        files = {p.name for p in self.root.rglob("*") if p.is_file()}
        return {n for n in files if n.startswith(".tmp-")}, {
            n for n in files if not n.startswith(".tmp-")
        }

    def sync_files(self, root: Path, files: Iterable[Path]) -> None:
        self.calls.append(("files", *self._names()))

    def sync_names(self, root: Path, folders: Iterable[Path]) -> None:
        self.calls.append(("names", *self._names()))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_this_machine_flushes_the_whole_file_system_at_once() -> None:
    assert isinstance(best_durability(), WholeFileSystem)  # Linux: syncfs(2)


@pytest.mark.parametrize("durability", [best_durability(), PerFile()], ids=["syncfs", "fsync"])
def test_put_many_stores_each_under_its_hash(tmp_path: Path, durability: object) -> None:
    store = FileBlobStore(tmp_path / "blobs", durability=durability)  # type: ignore[arg-type]
    items = [b"one", b"two", b"one", os.urandom(3_000_000)]
    digests = store.put_many(items)
    assert digests == [sha(x) for x in items]
    for data, digest in zip(items, digests, strict=True):
        assert store.get(digest) == data
        assert store.path(digest) == tmp_path / "blobs" / digest[:2] / digest[2:]
    assert not [p for p in (tmp_path / "blobs").rglob(".tmp-*")]


def test_data_is_flushed_before_any_name_appears_and_names_after(tmp_path: Path) -> None:
    recording = Recording(tmp_path / "blobs")
    store = FileBlobStore(tmp_path / "blobs", durability=recording)
    store.put_many([b"first", b"second"])
    (what1, temporary1, final1), (what2, temporary2, final2) = recording.calls
    assert what1 == "files" and len(temporary1) == 2 and not final1
    assert what2 == "names" and not temporary2 and final2 == {sha(b"first")[2:], sha(b"second")[2:]}


def test_a_stored_blob_is_neither_rewritten_nor_flushed_again(tmp_path: Path) -> None:
    recording = Recording(tmp_path / "blobs")
    store = FileBlobStore(tmp_path / "blobs", durability=recording)
    (digest,) = store.put_many([b"same bytes"])
    inode = store.path(digest).stat().st_ino
    assert store.put(b"same bytes") == digest
    assert store.path(digest).stat().st_ino == inode
    assert len(recording.calls) == 2  # only the first put flushed


def test_a_failure_is_storage_unavailable_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FileBlobStore(root)
    store.put(b"fine")
    blocked = sha(b"blocked")[:2]
    (root / blocked).write_bytes(b"a file where a folder belongs")
    with pytest.raises(StorageUnavailableError, match="cannot store message blobs"):
        store.put_many([b"another", b"blocked"])
    assert not store.exists(sha(b"another"))
    assert not [p for p in root.rglob(".tmp-*")]


def test_without_fsync_nothing_is_flushed(tmp_path: Path) -> None:
    recording = Recording(tmp_path / "blobs")
    store = FileBlobStore(tmp_path / "blobs", fsync=False, durability=recording)
    assert store.get(store.put(b"x")) == b"x"
    assert recording.calls == []


def test_staged_blobs_appear_under_their_names_only_when_published(tmp_path: Path) -> None:
    recording = Recording(tmp_path / "blobs")
    store = FileBlobStore(tmp_path / "blobs", durability=recording)
    staged = store.staged()
    digests = [staged.put(b"reply one"), staged.put(b"reply two"), staged.put(b"reply one")]
    assert not any(store.exists(d) for d in digests) and recording.calls == []
    staged.publish()
    assert [store.get(d) for d in digests] == [b"reply one", b"reply two", b"reply one"]
    assert [what for what, _, _ in recording.calls] == ["files", "names"]  # one flush for all


def test_discarded_staged_blobs_leave_nothing(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    staged = store.staged()
    digest = staged.put(b"rolled back")
    staged.discard()
    staged.publish()  # nothing left to publish
    assert not store.exists(digest)
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def test_temporary_files_left_by_a_dead_process_are_swept_and_fresh_ones_kept(
    tmp_path: Path,
) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    [digest] = store.put_many([b"kept blob"])
    folder = store.path(digest).parent
    old = folder / f"{TEMPORARY}{'1' * 62}-999-999"
    fresh = folder / f"{TEMPORARY}{'2' * 62}-999-998"
    for temporary in (old, fresh):
        temporary.write_bytes(b"half a message")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert store.sweep_temporaries() == 1
    assert not old.exists()
    assert fresh.exists()
    assert store.get(digest) == b"kept blob"
    assert FileBlobStore(tmp_path / "none").sweep_temporaries() == 0
