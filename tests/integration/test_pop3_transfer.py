"""Moving messages out of the real Dovecot: bytes exact, big ones cheap, deletes only at QUIT."""

from __future__ import annotations

import base64
import os
import tracemalloc

import pytest

from postroom.mailboxes import Pop3MailboxSource, Pop3Session
from postroom.net.connection import MailUrl
from support.mailstack import Mailstack

pytestmark = pytest.mark.servers


def open_box(stack: Mailstack, user: str, password: str) -> Pop3Session:
    url = MailUrl.parse(f"pop3s://{user}@{stack.host}:{stack.pop3s_port}")
    return Pop3MailboxSource(url, password, ca_file=stack.ca_file, timeout=10).open()


@pytest.fixture
def box(mailstack: Mailstack) -> tuple[str, str]:
    return mailstack.new_user("pop3")


def message(body: bytes, subject: str = "test") -> bytes:
    head = (
        f"From: a@customer.invalid\r\nTo: b@example.test\r\nSubject: {subject}\r\n"
        "Message-ID: <t@customer.invalid>\r\n\r\n"
    ).encode()
    return head + body


def test_list_gives_uid_and_size(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    mailstack.fill(address, 3, size_kb=4)
    with open_box(mailstack, address, password) as session:
        infos = session.list()
    assert [m.number for m in infos] == [1, 2, 3]
    assert len({m.uid for m in infos}) == 3
    assert all(4000 < m.size < 5000 for m in infos)


def test_dot_stuffing_round_trip(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    raw = message(b".\r\n..\r\n.leading dot\r\n..two dots\r\nend .\r\n.\r\n")
    mailstack.deliver(address, raw)
    with open_box(mailstack, address, password) as session:
        (info,) = session.list()
        assert session.retrieve(info.number) == raw
        assert info.size == len(raw)


def test_lines_longer_than_poplib_allows(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    raw = message(b"<html>" + b"x" * 100_000 + b"</html>\r\n" + b"." + b"y" * 3000 + b"\r\n")
    mailstack.deliver(address, raw)
    with open_box(mailstack, address, password) as session:
        assert session.retrieve(1) == raw
        session.delete(1)
        session.commit()
    assert mailstack.count(address) == 0


def test_a_25_mb_message_is_fast_and_lean(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    attachment = base64.encodebytes(os.urandom(18_750_000)).replace(b"\n", b"\r\n")
    raw = message(b"see attachment\r\n\r\n" + attachment)
    assert len(raw) > 25_000_000
    mailstack.deliver(address, raw)
    with open_box(mailstack, address, password) as session:
        tracemalloc.start()
        got = session.retrieve(1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert got == raw
    # The result itself is one copy; the reader holds at most one more while
    # it unstuffs (measured here: 2.0x in RSS; poplib with its line limit
    # raised 3.6x, reading 340,000 lines one by one). bench/poll.py times it.
    assert peak < 2.5 * len(raw), f"peak {peak / 1e6:.0f} MB for {len(raw) / 1e6:.0f} MB"


def test_dele_without_quit_keeps_the_message(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    mailstack.fill(address, 2, size_kb=1)
    with open_box(mailstack, address, password) as session:
        uids = [m.uid for m in session.list()]
        session.delete(1)
        session.delete(2)
        session.close()  # abandon: no QUIT, the server never enters UPDATE
    with open_box(mailstack, address, password) as session:
        assert [m.uid for m in session.list()] == uids


def test_leaving_the_with_block_on_an_error_abandons(
    mailstack: Mailstack, box: tuple[str, str]
) -> None:
    address, password = box
    mailstack.fill(address, 1, size_kb=1)
    with pytest.raises(RuntimeError), open_box(mailstack, address, password) as session:
        session.delete(1)
        raise RuntimeError("storing failed")
    with open_box(mailstack, address, password) as session:
        assert len(session.list()) == 1


def test_dele_then_quit_removes_only_deleted(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    mailstack.fill(address, 3, size_kb=1)
    with open_box(mailstack, address, password) as session:
        infos = session.list()
        for info in infos[:2]:
            session.retrieve(info.number)
            session.delete(info.number)
        session.commit()
    with open_box(mailstack, address, password) as session:
        assert [m.uid for m in session.list()] == [infos[2].uid]


def test_many_messages_in_one_session(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    mailstack.fill(address, 200, size_kb=8)
    with open_box(mailstack, address, password) as session:
        infos = session.list()
        for info in infos:
            assert len(session.retrieve(info.number)) == info.size
            session.delete(info.number)
        session.commit()
    assert mailstack.count(address) == 0


def pipelined(
    stack: Mailstack, address: str, password: str, window: int, octets: int
) -> Pop3Session:
    session = open_box(stack, address, password)
    session.WINDOW, session.WINDOW_BYTES = window, octets
    return session


def test_retrieve_many_keeps_order_and_bytes(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    sent = [message(f"body {i}\r\n".encode() * (1 + 300 * (i % 3)), f"m{i}") for i in range(12)]
    for raw in sent:
        mailstack.deliver(address, raw)
    # A window of 4 requests and ~10 KB: both limits are reached on the way.
    with pipelined(mailstack, address, password, 4, 10_000) as session:
        infos = session.list()
        got = list(session.retrieve_many(infos))
    assert [info.number for info, _ in got] == [info.number for info in infos]
    assert sorted(raw for _, raw in got) == sorted(sent)
    assert all(len(raw) == info.size for info, raw in got)


def test_deletes_travel_between_pipelined_retrs(mailstack: Mailstack, box: tuple[str, str]) -> None:
    address, password = box
    mailstack.fill(address, 30, size_kb=2)
    with pipelined(mailstack, address, password, 5, 1_000_000) as session:
        for info, raw in session.retrieve_many(session.list()):
            assert len(raw) == info.size
            session.delete(info.number)
        session.commit()
    assert mailstack.count(address) == 0


def test_stopping_early_keeps_what_was_not_deleted(
    mailstack: Mailstack, box: tuple[str, str]
) -> None:
    address, password = box
    mailstack.fill(address, 10, size_kb=2)
    with pipelined(mailstack, address, password, 8, 1_000_000) as session:
        infos = session.list()
        fetches = session.retrieve_many(infos)
        for _ in range(3):  # three taken and deleted; five more asked for, never taken
            info, _ = next(fetches)
            session.delete(info.number)
        session.commit()  # QUIT reads past the answers nobody took
    with open_box(mailstack, address, password) as session:
        assert [m.uid for m in session.list()] == [m.uid for m in infos[3:]]


def test_a_message_over_the_window_is_still_fetched(
    mailstack: Mailstack, box: tuple[str, str]
) -> None:
    address, password = box
    mailstack.fill(address, 3, size_kb=64)
    with pipelined(mailstack, address, password, 16, 1_000) as session:
        got = list(session.retrieve_many(session.list()))
    assert [len(raw) for _, raw in got] == [info.size for info, _ in got]
    assert len(got) == 3
