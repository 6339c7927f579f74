"""The check's POP3 steps over the mailbox adapter's client, against a scripted peer: the
check quotes what the server said and reads transport errors as they were."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from postroom.diagnostics.failure import StepFailure, explain
from postroom.diagnostics.pop3 import Pop3Session
from postroom.diagnostics.report import StepName
from postroom.net.connection import MailUrl

URL = MailUrl.parse("pop3://alice@mail.example.test:110?tls=none")
CAPA = b"+OK\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"


class Peer:
    """Answers lines in order from a script; records what it received."""

    def __init__(self, sock: socket.socket, greeting: bytes, answers: list[bytes]) -> None:
        self.received: list[bytes] = []
        self._sock, self._greeting, self._answers = sock, greeting, answers
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with self._sock:
            if not self._greeting:
                return  # close without a word
            self._sock.sendall(self._greeting)
            lines = self._sock.makefile("rb")
            for answer in self._answers:
                line = lines.readline()
                if not line:
                    return
                self.received.append(line.rstrip(b"\r\n"))
                self._sock.sendall(answer)

    def join(self) -> None:
        self._thread.join(timeout=5)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = socket.socketpair()
    client.settimeout(5)
    yield client, server
    client.close()


def _session(
    pair: tuple[socket.socket, socket.socket], greeting: bytes, answers: list[bytes]
) -> tuple[Pop3Session, Peer]:
    client, server = pair
    peer = Peer(server, greeting, answers)
    return Pop3Session(client, "mail.example.test", 5), peer


def _explained(step: StepName, action: Callable[[], object]) -> StepFailure:
    with pytest.raises(Exception) as info:
        action()
    return explain(info.value, step, URL, 5)


def test_a_mailbox_is_read_with_the_adapters_commands(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    answers = [CAPA, b"+OK logged in\r\n", b"+OK 2 2048\r\n", b"+OK bye\r\n"]
    session, peer = _session(pair, b"+OK ready\r\n", answers)
    assert session.greeting == "+OK ready"
    assert session.capabilities() == ["TOP", "UIDL", "USER", "SASL PLAIN LOGIN"]
    assert not session.offers_starttls()
    detail = session.authenticate("alice", "pw-9", None)
    assert detail == {"mechanism": "PLAIN", "authzid": None}
    assert session.mailbox() == {"messages": 2, "bytes": 2048}
    session.close()
    peer.join()
    assert peer.received[0] == b"CAPA"
    assert peer.received[1].startswith(b"AUTH PLAIN ")
    assert peer.received[2:] == [b"STAT", b"QUIT"]


def test_user_pass_without_sasl_plain(pair: tuple[socket.socket, socket.socket]) -> None:
    capa = b"+OK\r\nUSER\r\n.\r\n"
    session, peer = _session(pair, b"+OK\r\n", [capa, b"+OK\r\n", b"+OK\r\n"])
    session.capabilities()
    assert session.authenticate("alice", "pw-9", None)["mechanism"] == "USER/PASS"
    peer.join()
    assert peer.received[1:] == [b"USER alice", b"PASS pw-9"]


def test_a_refused_login_is_quoted_with_the_auth_hint(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    answers = [CAPA, b"-ERR [AUTH] Authentication failed.\r\n"]
    session, _ = _session(pair, b"+OK\r\n", answers)
    session.capabilities()
    failure = _explained(StepName.AUTH, lambda: session.authenticate("alice", "pw-9", None))
    assert failure.error == "the server said: -ERR [AUTH] Authentication failed."
    assert failure.hint is not None and "password" in failure.hint


def test_a_server_without_capa_fails_the_capabilities_step(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    session, _ = _session(pair, b"+OK\r\n", [b"-ERR what\r\n"])
    failure = _explained(StepName.CAPABILITIES, session.capabilities)
    assert failure.error == "the server said: -ERR CAPA not supported by server"


def test_a_greeting_that_is_not_pop3_is_quoted_with_the_port_hint(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    client, server = pair
    Peer(server, b"220 smtp.example.test ESMTP\r\n", [])
    failure = _explained(StepName.GREETING, lambda: Pop3Session(client, "h", 5))
    assert failure.error == "the server said: 220 smtp.example.test ESMTP"
    assert failure.hint is not None and "did not greet as POP3" in failure.hint


def test_a_server_that_hangs_up_at_once_closed_the_connection(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    client, server = pair
    Peer(server, b"", [])
    failure = _explained(StepName.GREETING, lambda: Pop3Session(client, "h", 5))
    assert failure.error == "the server closed the connection"
