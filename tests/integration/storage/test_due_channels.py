"""`uow.polls.due` and `count_enabled` (asked by every process at every tick, their
statements built once) on SQLite and PostgreSQL: the due channels oldest first, a lease of
a live or remote holder waited for, one of a gone process of this host taken over, and
this host's name matched as written (a ``_`` or ``%`` in it is no wildcard)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from postroom.storage import polls
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 1, 9, 0)
TTL = timedelta(minutes=5)


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Storage:
    engine = make_engine(database_url)
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(tmp_path / "blobs"))


def _gone_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def _add(storage: Storage, name: str, next_poll: datetime | None, owner: str | None = None) -> int:
    with storage.writing() as uow:
        cid = uow.channels.add(now=NOW, name=name, url="pop3://127.0.0.1", enabled=True).id
        if next_poll is not None:
            uow.polls.record_success(cid, NOW, next_poll)
        if owner is not None:
            assert uow.polls.take_lease(cid, owner, NOW, TTL)
        return cid


def _due(storage: Storage, now: datetime = NOW) -> list[str]:
    with storage.reading() as uow:
        return [c.name for c in uow.polls.due(now)]


def test_due_channels_oldest_first_and_the_enabled_counted(storage: Storage) -> None:
    _add(storage, "later", NOW + timedelta(minutes=1))
    _add(storage, "old", NOW - timedelta(minutes=2))
    _add(storage, "now", NOW)
    _add(storage, "new", None)
    with storage.writing() as uow:
        uow.channels.add(now=NOW, name="off", url="pop3://127.0.0.1")
    # A channel never polled is due too; where it sorts is the engine's (NULLs).
    assert [n for n in _due(storage) if n != "new"] == ["old", "now"]
    assert set(_due(storage)) == {"new", "old", "now"}
    assert set(_due(storage, NOW + timedelta(minutes=1))) == {"new", "old", "now", "later"}
    with storage.reading() as uow:
        assert uow.polls.count_enabled() == 4
        # The whole record, as the channel repository reads it (due reads leases first).
        due = {c.name: c for c in uow.polls.due(NOW)}
        assert due["now"] == uow.channels.get("now")


def test_leases_held_are_waited_for_and_a_gone_holder_here_is_taken_over(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polls.socket, "gethostname", lambda: "mail_1%x")
    _add(storage, "remote", None, "elsewhere:1")
    _add(storage, "lookalike", None, "mailx1yx:1")  # `_` and `%` would match it as wildcards
    _add(storage, "live", None, f"mail_1%x:{os.getpid()}")
    _add(storage, "gone", None, f"mail_1%x:{_gone_pid()}")
    _add(storage, "expired", None, "elsewhere:2")
    assert _due(storage) == ["gone"]
    assert set(_due(storage, NOW + TTL + TTL)) == {"remote", "lookalike", "live", "gone", "expired"}
