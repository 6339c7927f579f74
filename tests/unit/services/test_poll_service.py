"""Polling as a use case, through a mailbox in memory (the port) and SQLite in memory:
store then delete, the ledger's stored UIDLs deleted unread, failures on the channel,
the lease, and the mailbox opened with what the channel stores."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from postroom.credentials import Secret, SecretBox
from postroom.mime.isolated import InProcessParser, ParseOutcome
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import MailboxSource
from postroom.records.config import ChannelRecord
from postroom.services.mailbox_access import MailboxAccess
from postroom.services.poll import PollService
from postroom.services.poll_leases import PollLeases
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.config_fakes import Clock, secret_box
from unit.services.fake_ports import FakeMailbox
from unit.services.mail_fakes import NOW, ingest_service, routed_storage


class Sources:
    """The `SourceFactory` bootstrap passes: here one fake mailbox, and what it was asked."""

    def __init__(self, box: FakeMailbox) -> None:
        self.box = box
        self.asked: list[MailboxAccess] = []

    def __call__(self, access: MailboxAccess) -> MailboxSource:
        self.asked.append(access)
        return self.box


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


@pytest.fixture
def secrets() -> SecretBox:
    return secret_box()


@pytest.fixture
def box() -> FakeMailbox:
    return FakeMailbox({f"uid-{i}": make_mail(subject=f"question {i}") for i in range(3)})


@pytest.fixture
def sources(box: FakeMailbox) -> Sources:
    return Sources(box)


@pytest.fixture
def poller(storage: Storage, secrets: SecretBox, sources: Sources) -> PollService:
    return PollService(storage, ingest_service(storage), secrets, "here:1", sources, Clock())


def channel(storage: Storage, secrets: SecretBox, max_failures: int = 3) -> ChannelRecord:
    with storage.writing() as uow:
        return uow.channels.add(
            name="support",
            url="pop3s://support@example.com@mail.example.com:995",
            address="support@example.com",
            password_enc=secrets.seal(Secret("s3cret")),
            authzid="admin",
            ca_file=None,
            mechanism="plain",
            interval_s=60,
            max_failures=max_failures,
            timeout_s=7,
            now=NOW,
        )


def stored(storage: Storage) -> dict[str, list[tuple[int, str]]]:
    with storage.reading() as uow:
        return uow.messages.stored_under(1, ["uid-0", "uid-1", "uid-2"])


def test_every_message_is_stored_then_deleted_and_the_channel_says_it_worked(
    storage: Storage, secrets: SecretBox, box: FakeMailbox, poller: PollService
) -> None:
    report = poller.poll(channel(storage, secrets))
    assert (report.fetched, report.handled, report.errors) == (3, 3, [])
    assert box.messages == {}
    assert sorted(stored(storage)) == ["uid-0", "uid-1", "uid-2"]
    with storage.reading() as uow:
        after = uow.channels.get("support")
    assert (after.failure_count, after.last_error_class, after.lease_owner) == (0, None, None)
    assert after.last_success is not None


def test_what_an_interrupted_poll_stored_is_deleted_without_downloading_it_again(
    storage: Storage, secrets: SecretBox, box: FakeMailbox, poller: PollService
) -> None:
    record = channel(storage, secrets)
    kept = dict(box.messages)
    poller.poll(record)
    box.messages.update(kept)  # the QUIT of that poll never reached the server
    report = poller.poll(record)
    assert (report.fetched, report.deleted_known, report.handled) == (0, 3, 0)
    assert box.messages == {}


def test_a_mailbox_that_cannot_be_opened_counts_against_its_channel(
    storage: Storage, secrets: SecretBox, box: FakeMailbox, poller: PollService
) -> None:
    box.refuse = ConnectionFailure(FailureClass.AUTHENTICATION, "login refused")
    record = channel(storage, secrets, max_failures=2)
    with storage.writing() as uow:
        uow.channels.enable(record.id, reset_failures=True)
    first = poller.poll(record)
    assert (first.error_class, first.errors, first.switched_off) == (
        FailureClass.AUTHENTICATION,
        ["login refused"],
        False,
    )
    assert poller.poll(record).switched_off
    with storage.reading() as uow:
        after = uow.channels.get("support")
    assert (after.enabled, after.failure_count, after.last_error) == (False, 2, "login refused")
    assert len(box.messages) == 3


def test_a_channel_another_poller_holds_is_skipped_untouched(
    storage: Storage, secrets: SecretBox, box: FakeMailbox, poller: PollService
) -> None:
    record = channel(storage, secrets)
    with storage.writing() as uow:
        assert uow.polls.take_lease(record.id, "elsewhere:7", NOW, PollLeases.LEASE)
    report = poller.poll(record)
    assert report.skipped == "another poller holds this channel"
    assert (box.opened, len(box.messages)) == (0, 3)


def test_the_mailbox_is_opened_with_what_the_channel_stores(
    storage: Storage, secrets: SecretBox, sources: Sources, poller: PollService
) -> None:
    poller.poll(channel(storage, secrets))
    [access] = sources.asked
    assert (str(access.url), access.password, access.authzid) == (
        "pop3s://support@example.com@mail.example.com:995",
        "s3cret",
        "admin",
    )
    assert (access.mechanism, access.timeout) == (AuthMechanism.PLAIN, 7.0)
    assert access.max_message_bytes == poller.max_message_bytes
    assert "s3cret" not in repr(access)  # an access in a log or a traceback's locals


class _Stream:
    """An in-process parse stream that notes each message handed over."""

    def __init__(self, events: list[str], stopping: threading.Event | None) -> None:
        self.events = events
        self.inner = InProcessParser().stream(stopping)

    def prepare(self) -> None:
        self.events.append("prepared")

    def submit(self, raw: bytes) -> None:
        self.events.append("handed over")
        self.inner.submit(raw)

    def take(self, count: int) -> list[ParseOutcome]:
        return self.inner.take(count)

    def close(self) -> None:
        self.inner.close()


def test_a_batch_is_stored_while_the_next_one_is_parsed(
    storage: Storage, secrets: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full batch waits until the next one is handed to the parser: the parser works on
    that one while the first is stored (`poll_batch`). Nothing changes in what is stored."""
    box = FakeMailbox({f"uid-{i}": make_mail(subject=f"question {i}") for i in range(5)})
    events: list[str] = []
    ingest = ingest_service(storage)
    monkeypatch.setattr(ingest.parser, "stream", lambda stopping=None: _Stream(events, stopping))
    store = ingest.ingest_batch

    def ingest_batch(arrivals: Any, *args: Any) -> Any:
        events.append(f"stored {len(arrivals)}")
        return store(arrivals, *args)

    monkeypatch.setattr(ingest, "ingest_batch", ingest_batch)
    poller = PollService(
        storage, ingest, secrets, "here:1", Sources(box), Clock(), batch_messages=2
    )
    report = poller.poll(channel(storage, secrets))
    assert (report.fetched, report.handled, report.errors) == (5, 5, [])
    assert events == [
        "prepared",
        *["handed over"] * 4,
        "stored 2",
        "handed over",
        "stored 2",
        "stored 1",
    ]
    assert box.messages == {}


def test_the_parser_gets_ready_before_the_mailbox_is_opened(
    storage: Storage, secrets: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser child that has to start starts while the poll connects and logs in."""
    box = FakeMailbox({"uid-1": make_mail(subject="question")})
    events: list[str] = []
    ingest = ingest_service(storage)
    monkeypatch.setattr(ingest.parser, "stream", lambda stopping=None: _Stream(events, stopping))
    opened = box.open

    def open_() -> Any:
        events.append("opened")
        return opened()

    monkeypatch.setattr(box, "open", open_)
    poller = PollService(storage, ingest, secrets, "here:1", Sources(box), Clock())
    report = poller.poll(channel(storage, secrets))
    assert (report.fetched, report.errors) == (1, [])
    assert events[:3] == ["prepared", "opened", "handed over"]
