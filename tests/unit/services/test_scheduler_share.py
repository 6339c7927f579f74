"""The scheduler's tick: each process submits at most its share of the enabled channels,
and a tick with nothing in flight and one channel due or none does not count the channels
(an idle tick asks the database one question): every process of `postroom run` asks at
every tick."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event

from postroom.clock import utcnow
from postroom.records.config import ChannelRecord
from postroom.services.poll import PollService
from postroom.services.poll_report import ChannelReport
from postroom.services.scheduler import Scheduler
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage


class Pool:
    """Takes the submitted polls without running them."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, fn: Callable[[ChannelRecord], ChannelReport], channel: ChannelRecord) -> Any:
        self.submitted.append(channel.name)
        return Future()


class Poller:
    def poll(self, channel: ChannelRecord) -> ChannelReport:
        raise AssertionError("the pool above never runs a poll")


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    engine = make_engine(f"sqlite:///{tmp_path / 'postroom.db'}")
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(tmp_path / "blobs"))


@pytest.fixture
def statements(storage: Storage) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(storage.engine, "before_cursor_execute", note)
    yield seen
    event.remove(storage.engine, "before_cursor_execute", note)


def _channels(storage: Storage, due: int, later: int = 0) -> None:
    now = utcnow()
    with storage.writing() as uow:
        for i in range(due + later):
            record = uow.channels.add(now=now, name=f"box{i}", url="pop3://127.0.0.1", enabled=True)
            if i >= due:
                uow.polls.record_success(record.id, now, now + timedelta(hours=1))


def _tick(
    storage: Storage, processes: int, in_flight: dict[int, Future[ChannelReport]] | None = None
) -> list[str]:
    scheduler = Scheduler(storage, cast(PollService, Poller()), 8, processes)
    pool = Pool()
    scheduler._schedule(cast(Any, pool), in_flight if in_flight is not None else {})
    return pool.submitted


@pytest.mark.parametrize(
    ("due", "later", "processes", "submitted"),
    [
        (4, 0, 2, 2),  # four enabled, two processes: two each
        (3, 0, 2, 2),  # a share is rounded up
        (4, 4, 4, 2),  # eight enabled, four processes: two each, all of it due
        (1, 3, 4, 1),  # one due: polled
        (1, 0, 3, 1),  # fewer channels than processes: a share is one at least
        (0, 2, 2, 0),  # none due
    ],
)
def test_a_process_submits_its_share_of_the_enabled_channels(
    storage: Storage, due: int, later: int, processes: int, submitted: int
) -> None:
    _channels(storage, due, later)
    assert len(_tick(storage, processes)) == submitted


def test_a_process_with_its_share_in_flight_submits_no_more(storage: Storage) -> None:
    _channels(storage, 4)
    busy: dict[int, Future[ChannelReport]] = {1: Future(), 2: Future()}
    assert _tick(storage, 2, busy) == []  # share 2, both in flight
    one: dict[int, Future[ChannelReport]] = {1: Future()}
    assert _tick(storage, 2, one) == ["box1"]  # box0 (id 1) is in flight


@pytest.mark.parametrize("due", [0, 1])
def test_a_tick_with_none_in_flight_and_one_due_or_none_counts_nothing(
    storage: Storage, statements: list[str], due: int
) -> None:
    _channels(storage, due, later=3)
    statements.clear()
    assert len(_tick(storage, 2)) == due
    assert not [s for s in statements if "count(" in s.lower()], statements
    if not due:  # an idle tick: one question
        assert len(statements) == 1, statements
