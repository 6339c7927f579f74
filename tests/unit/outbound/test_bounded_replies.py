"""A hostile SMTP server cannot grow the client's memory or hold it past its timeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.outbound import SmtpConnection
from postroom.outbound.bounded import MAX_REPLY_LINES
from postroom.ports.sending import RecipientOutcome, SmtpServer

RAW = b"From: a@example.test\r\nTo: b@customer.test\r\nSubject: hi\r\n\r\nbody\r\n"


@contextmanager
def hostile(talk: Callable[[socket.socket], None]) -> Iterator[int]:
    """A server on loopback that runs ``talk`` on its one connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            talk(conn)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=10)


def server(port: int, timeout: float = 2) -> SmtpServer:
    return SmtpServer(MailUrl.parse(f"smtp://127.0.0.1:{port}?tls=none"), None, timeout=timeout)


def endless_continuation(conn: socket.socket) -> None:
    line = b"220-" + b"x" * 500 + b"\r\n"
    for _ in range(20_000):  # 10 MB of one greeting
        conn.sendall(line)


def trickle(conn: socket.socket) -> None:
    """A byte every 0.5 s: each within a 2 s socket timeout, the reply never ending."""
    for _ in range(40):
        conn.sendall(b"2")
        time.sleep(0.5)


def test_a_greeting_of_endless_continuation_lines_is_refused() -> None:
    with hostile(endless_continuation) as port, pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(server(port))
    assert info.value.kind is FailureClass.PROTOCOL
    assert "too long" in str(info.value)


def test_a_reply_trickled_byte_by_byte_ends_at_the_timeout() -> None:
    started = time.monotonic()
    with hostile(trickle) as port, pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(server(port, timeout=2))
    assert time.monotonic() - started < 6
    assert info.value.kind is FailureClass.TIMEOUT


def garbled_final_reply(conn: socket.socket) -> None:
    reader = conn.makefile("rb")
    conn.sendall(b"220 hostile.test ESMTP\r\n")
    while line := reader.readline(10_000):
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 hostile.test\r\n")
        elif verb in (b"MAIL", b"RCPT"):
            conn.sendall(b"250 ok\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go on\r\n")
            while reader.readline(10_000) not in (b".\r\n", b""):
                pass
            conn.sendall(b"2x0 what\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return


def test_a_garbled_answer_to_the_final_dot_is_not_a_permanent_refusal() -> None:
    """The server may have taken the message: never marked failed for good."""
    with hostile(garbled_final_reply) as port, SmtpConnection.open(server(port)) as conn:
        delivery = conn.send("a@example.test", ["b@customer.test"], RAW)
    assert [r.outcome for r in delivery.recipients] == [RecipientOutcome.DEFERRED]


def test_a_long_but_bounded_ehlo_answer_is_read() -> None:
    def many_lines(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 ok\r\n")
        reader.readline()
        lines = [b"250-X-EXT%d\r\n" % i for i in range(MAX_REPLY_LINES - 2)]
        conn.sendall(b"".join(lines) + b"250 SIZE 1000\r\n")
        reader.readline()
        conn.sendall(b"221 bye\r\n")

    with hostile(many_lines) as port, SmtpConnection.open(server(port)) as conn:
        assert conn.send  # opened: the whole answer was read
