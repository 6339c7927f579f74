"""What a hostile IMAP server cannot do to `BoundedImap`: no line, literal, answer or drip
outgrows its bound (imaplib alone reads 1 MB lines, any literal it is told, and waits per
recv for ever)."""

from __future__ import annotations

import imaplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from postroom.mailboxes.imap_session import ImapSession, uid_sets
from postroom.mailboxes.imap_wire import BoundedImap, LiteralTooLarge, WireTooLong
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.ports.mailbox import After, MessageInfo, MessageTooLarge

Answer = Callable[[bytes, bytes], bytes | Callable[[socket.socket, bytes], None]]
"""(tag, command line) -> the bytes to send, or a function that does the sending."""


def _capability(tag: bytes, line: bytes) -> bytes:
    return b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n" + tag + b" OK done\r\n"


@contextmanager
def scripted(*answers: Answer) -> Iterator[socket.socket]:
    """A connected client socket; the other end greets, then answers each command in turn."""
    ours, theirs = socket.socketpair()

    def serve() -> None:
        with theirs:
            theirs.sendall(b"* OK ready\r\n")
            pending = b""
            for answer in (_capability, *answers):
                while b"\r\n" not in pending:
                    chunk = theirs.recv(4096)
                    if not chunk:
                        return
                    pending += chunk
                line, _, pending = pending.partition(b"\r\n")
                reply = answer(line.split(b" ", 1)[0], line)
                try:
                    if callable(reply):
                        reply(theirs, line.split(b" ", 1)[0])
                    else:
                        theirs.sendall(reply)
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield ours
    finally:
        ours.close()
        thread.join(5)


def client(sock: socket.socket, **limits: float) -> BoundedImap:
    return BoundedImap(
        sock,
        "localhost",
        timeout=float(limits.get("timeout", 5.0)),
        max_line=int(limits.get("max_line", 4096)),
        max_literal=int(limits.get("max_literal", 10_000)),
    )


def session(imap: BoundedImap) -> ImapSession:
    imap.state = "SELECTED"  # as after a SELECT the script does not play
    return ImapSession(
        imap,
        where="imap://test",
        folder="INBOX",
        quoted_folder='"INBOX"',
        validity=7,
        exists=3,
        after=After(),
        move_to=None,
        resume=None,
        timeout=1.0,
    )


def test_a_line_past_the_limit_stops_the_reading() -> None:
    endless = lambda tag, line: b"* 1 FETCH (UID 1 RFC822.SIZE " + b"9" * 100_000  # noqa: E731
    with scripted(endless) as sock:
        imap = client(sock)
        with pytest.raises(ConnectionFailure) as failed:
            session(imap).list()
    assert failed.value.kind is FailureClass.PROTOCOL
    assert "longer than 4096 bytes" in str(failed.value)


def test_a_literal_over_the_limit_is_not_read_and_names_its_uid() -> None:
    def huge(tag: bytes, line: bytes) -> bytes:
        return b"* 1 FETCH (UID 42 BODY[] {999999999}\r\n" + b"x" * 1000

    with scripted(huge) as sock:
        imap = client(sock)
        with pytest.raises(MessageTooLarge) as failed:
            list(session(imap).retrieve_many([MessageInfo(42, "k", 100)]))
    assert failed.value.number == 42 and failed.value.limit == 10_000


def test_an_answer_past_its_byte_budget_stops() -> None:
    def many(tag: bytes, line: bytes) -> bytes:
        return b"* OK chatter\r\n" * 10_000 + tag + b" OK done\r\n"

    with scripted(many) as sock:
        imap = client(sock)
        imap.budget(5.0, 50_000)
        with pytest.raises(WireTooLong, match="budget"):
            imap.noop()


def test_a_server_dripping_bytes_is_cut_off_by_the_time_budget() -> None:
    def drip(sock: socket.socket, tag: bytes) -> None:
        for byte in b"* 1 FETCH (UID 1 RFC822.SIZE 10)\r\n":
            sock.sendall(bytes([byte]))
            time.sleep(0.1)

    with scripted(lambda tag, line: drip) as sock:
        imap = client(sock, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(ConnectionFailure) as failed:
            session(imap).list()
    assert failed.value.kind is FailureClass.TIMEOUT
    assert time.monotonic() - started < 2.5


def test_bytes_after_the_starttls_answer_are_refused() -> None:
    def injected(tag: bytes, line: bytes) -> bytes:
        return tag + b" OK begin TLS\r\n* OK injected before the handshake\r\n"

    with scripted(injected) as sock:
        imap = client(sock)
        with pytest.raises(imaplib.IMAP4.abort, match="before TLS"):
            imap.starttls(ssl.create_default_context())


def test_literal_guard_raises_before_reading() -> None:
    with scripted() as sock:
        imap = client(sock)
        with pytest.raises(LiteralTooLarge):
            imap.read(20_000)


@pytest.mark.parametrize(
    ("uids", "sets"),
    [
        ([1, 2, 3, 5, 7, 8], ["1:3,5,7:8"]),
        ([9], ["9"]),
        ([3, 1, 2, 2], ["1:3"]),
        ([], []),
    ],
)
def test_uid_sets(uids: list[int], sets: list[str]) -> None:
    assert uid_sets(uids) == sets
