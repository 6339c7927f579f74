"""The POP3 adapter against a scripted loopback server: the answers Dovecot never gives.

Each test scripts a server as ``{command: reply}``; the server runs in a thread
on an ephemeral port and records every line it received.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from postroom.errors import UserError
from postroom.mailboxes import Pop3MailboxSource
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl, TlsProblem
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import MessageInfo

PASSWORD = "Secr3t-p4ss"
CAPA_PLAIN = b"+OK\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n.\r\n"
CAPA_PIPE = b"+OK\r\nUIDL\r\nUSER\r\nPIPELINING\r\nSASL PLAIN\r\n.\r\n"

Reply = bytes | Callable[[socket.socket], None]


@dataclass
class ScriptedServer:
    """Answers each command by its first word (or whole line) from ``script``."""

    script: dict[str, Reply]
    greeting: bytes = b"+OK scripted\r\n"
    received: list[bytes] = field(default_factory=list)
    port: int = 0

    def serve(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(self.greeting)
            data = conn.makefile("rb")
            for raw in data:
                line = raw.rstrip(b"\r\n")
                self.received.append(line)
                text = line.decode()
                reply = self.script.get(text) or self.script.get(text.split(" ")[0])
                reply = reply or self.script.get("*")
                if reply is None:
                    conn.sendall(b"-ERR unknown\r\n")
                elif callable(reply):
                    reply(conn)
                    return
                else:
                    conn.sendall(reply)
                if text == "QUIT":
                    return


@pytest.fixture
def scripted() -> Iterator[Callable[[dict[str, Reply]], ScriptedServer]]:
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    def start(script: dict[str, Reply]) -> ScriptedServer:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        server = ScriptedServer(script, port=listener.getsockname()[1])
        thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
        thread.start()
        threads.append(thread)
        return server

    yield start
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(timeout=2)


def source(server: ScriptedServer, tls: str = "none", **kw: object) -> Pop3MailboxSource:
    url = MailUrl.parse(f"pop3://alice@127.0.0.1:{server.port}?tls={tls}")
    return Pop3MailboxSource(url, PASSWORD, timeout=2, **kw)  # type: ignore[arg-type]


def hang_up(conn: socket.socket) -> None:
    conn.close()


def test_stls_not_offered_is_refused_before_any_login(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted({"CAPA": CAPA_PLAIN})
    with pytest.raises(ConnectionFailure) as info:
        source(server, tls="required").open()
    assert info.value.kind is FailureClass.TLS
    assert info.value.tls_problem is TlsProblem.NOT_OFFERED
    assert not any(line.startswith((b"AUTH", b"USER", b"PASS")) for line in server.received)


def test_stls_refused_by_the_server(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": b"-ERR no CAPA here\r\n", "STLS": b"-ERR not today\r\n"})
    with pytest.raises(ConnectionFailure) as info:
        source(server, tls="required").open()
    assert info.value.kind is FailureClass.TLS
    assert "not today" in str(info.value)


def test_data_injected_after_stls_is_refused(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": b"+OK\r\nSTLS\r\n.\r\n", "STLS": b"+OK go\r\n+OK injected\r\n"})
    with pytest.raises(ConnectionFailure) as info:
        source(server, tls="required").open()
    assert info.value.kind is FailureClass.PROTOCOL


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (b"-ERR [AUTH] Authentication failed.\r\n", FailureClass.AUTHENTICATION),
        (b"-ERR invalid password\r\n", FailureClass.AUTHENTICATION),
        (b"-ERR [IN-USE] mailbox locked\r\n", FailureClass.PROTOCOL),
        (b"-ERR [SYS/TEMP] try later\r\n", FailureClass.PROTOCOL),
    ],
)
def test_login_answers(
    scripted: Callable[..., ScriptedServer], reply: bytes, kind: FailureClass
) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": reply})
    with pytest.raises(ConnectionFailure) as info:
        source(server).open()
    assert info.value.kind is kind
    assert reply.decode().split(" ", 1)[1].strip() in str(info.value)


def test_server_echoing_the_password_is_redacted(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "USER": b"+OK\r\n", "PASS": b"-ERR bad Secr3t-p4ss\r\n"})
    with pytest.raises(ConnectionFailure) as info:
        source(server, mechanism=AuthMechanism.USER).open()
    assert PASSWORD not in str(info.value)


def test_password_is_in_no_message_log_or_repr(
    scripted: Callable[..., ScriptedServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="postroom")
    server = scripted({"CAPA": CAPA_PLAIN, "USER": b"+OK\r\n", "PASS": b"-ERR no\r\n"})
    src = source(server, mechanism=AuthMechanism.USER)
    with pytest.raises(ConnectionFailure) as info:
        src.open()
    assert b"PASS " + PASSWORD.encode() in server.received  # it did go to the server
    texts = [str(info.value), repr(info.value), repr(src), caplog.text]
    texts += [str(e) for e in (info.value.__cause__, info.value.__context__) if e]
    assert all(PASSWORD not in text for text in texts)
    assert "PASS" in caplog.text  # the command is logged, its argument is not


def test_pipelining_sends_dele_with_the_next_command(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(_mailbox(CAPA_PIPE))
    with source(server).open() as session:
        assert session.retrieve(1) == b"msg\r\n"
        session.delete(1)
        assert session.retrieve(2) == b"msg\r\n"
        session.delete(2)
        session.commit()
    assert server.received[-4:] == [b"DELE 1", b"RETR 2", b"DELE 2", b"QUIT"]


def test_refused_dele_is_reported_by_the_call_that_carried_it(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted({"CAPA": CAPA_PIPE, "AUTH": b"+OK\r\n", "DELE": b"-ERR no such message\r\n"})
    with source(server).open() as session:
        session.delete(7)
        with pytest.raises(ConnectionFailure) as info:
            session.commit()
    assert info.value.kind is FailureClass.PROTOCOL
    assert "DELE 7" in str(info.value)


def test_retr_refused_is_protocol(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": b"+OK\r\n", "RETR": b"-ERR no such msg\r\n"})
    with source(server).open() as session, pytest.raises(ConnectionFailure) as info:
        session.retrieve(9)
    assert info.value.kind is FailureClass.PROTOCOL
    assert "RETR 9" in str(info.value) and "no such msg" in str(info.value)


def test_hang_up_mid_message_is_connection(scripted: Callable[..., ScriptedServer]) -> None:
    def half_message(conn: socket.socket) -> None:
        conn.sendall(b"+OK\r\nFrom: a@b\r\n\r\nhalf")
        conn.close()

    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": b"+OK\r\n", "RETR": half_message})
    session = source(server).open()
    with pytest.raises(ConnectionFailure) as info:
        session.retrieve(1)
    assert info.value.kind is FailureClass.CONNECTION
    with pytest.raises(ConnectionFailure, match="session is closed"):
        session.retrieve(1)


def test_garbage_instead_of_a_status_is_protocol(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": b"HELLO?\r\n"})
    with pytest.raises(ConnectionFailure) as info:
        source(server).open()
    assert info.value.kind is FailureClass.PROTOCOL


def test_uidl_missing_is_protocol(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": b"+OK\r\n", "UIDL": b"-ERR what?\r\n"})
    with source(server).open() as session, pytest.raises(ConnectionFailure) as info:
        session.list()
    assert info.value.kind is FailureClass.PROTOCOL


def test_list_joins_uidl_and_sizes(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(
        {
            "CAPA": CAPA_PLAIN,
            "AUTH": b"+OK\r\n",
            "UIDL": b"+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n",
            "LIST": b"+OK 2 messages\r\n1 120\r\n2 4500\r\n.\r\n",
        }
    )
    with source(server).open() as session:
        infos = session.list()
    assert [(m.number, m.uid, m.size) for m in infos] == [(1, "aaa", 120), (2, "bbb", 4500)]


def test_close_sends_no_quit(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": b"+OK\r\n", "DELE": b"+OK\r\n"})
    with source(server).open() as session:
        session.delete(1)
    session.close()  # twice is fine
    assert b"QUIT" not in server.received


def test_long_auth_plain_waits_for_the_continuation(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted({"CAPA": CAPA_PLAIN, "AUTH": b"+ \r\n", "*": b"+OK\r\n"})
    url = MailUrl.parse(f"pop3://{'a' * 200}@127.0.0.1:{server.port}?tls=none")
    Pop3MailboxSource(url, PASSWORD, timeout=2).open().close()
    assert server.received[1] == b"AUTH PLAIN"


@pytest.mark.parametrize("mechanism", [AuthMechanism.LOGIN, AuthMechanism.USER])
def test_authzid_with_a_mechanism_that_cannot_carry_it_is_refused_at_once(
    mechanism: AuthMechanism,
) -> None:
    url = MailUrl.parse("pop3s://alice@127.0.0.1:1")
    with pytest.raises(UserError, match="authorization identity"):
        Pop3MailboxSource(url, PASSWORD, authzid="shared@example.test", mechanism=mechanism)


def test_only_pop3_urls_with_a_user() -> None:
    with pytest.raises(UserError):
        Pop3MailboxSource(MailUrl.parse("imaps://alice@127.0.0.1"), PASSWORD)
    with pytest.raises(UserError):
        Pop3MailboxSource(MailUrl.parse("pop3s://127.0.0.1"), PASSWORD)


def _listed(count: int) -> list[MessageInfo]:
    return [MessageInfo(n, f"uid{n}", 5) for n in range(1, count + 1)]


def _mailbox(capa: bytes, **refused: bytes) -> dict[str, Reply]:
    """A mailbox serving "msg" for every RETR, answering ``refused`` lines (e.g. "RETR 2")."""
    return {
        "CAPA": capa,
        "AUTH": b"+OK in\r\n",
        **{line.replace("_", " "): reply for line, reply in refused.items()},
        "RETR": b"+OK\r\nmsg\r\n.\r\n",
        "DELE": b"+OK marked\r\n",
        "QUIT": b"+OK bye\r\n",
    }


def test_retrieve_many_asks_ahead_when_the_server_pipelines(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(_mailbox(CAPA_PIPE))
    with source(server).open() as session:
        for info, raw in session.retrieve_many(_listed(3)):
            assert raw == b"msg\r\n"
            session.delete(info.number)
        session.commit()
    # All three asked for at once; each DELE rides with the next write (here: QUIT).
    assert server.received[-7:] == [
        b"RETR 1",
        b"RETR 2",
        b"RETR 3",
        b"DELE 1",
        b"DELE 2",
        b"DELE 3",
        b"QUIT",
    ]


def test_retrieve_many_one_at_a_time_without_pipelining(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(_mailbox(CAPA_PLAIN))
    with source(server).open() as session:
        for info, _ in session.retrieve_many(_listed(2)):
            session.delete(info.number)
        session.commit()
    assert server.received[-5:] == [b"RETR 1", b"DELE 1", b"RETR 2", b"DELE 2", b"QUIT"]


def test_a_refused_retr_in_the_window_is_protocol_and_quit_still_works(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(_mailbox(CAPA_PIPE, RETR_2=b"-ERR gone\r\n"))
    with source(server).open() as session:
        fetches = session.retrieve_many(_listed(4))
        first, _ = next(fetches)
        with pytest.raises(ConnectionFailure) as info:
            next(fetches)
        session.delete(first.number)
        session.commit()  # reads past RETR 3 and 4, nobody took them
    assert info.value.kind is FailureClass.PROTOCOL and "RETR 2" in str(info.value)
    assert server.received[-2:] == [b"DELE 1", b"QUIT"]


def test_a_refused_retr_nobody_waits_for_does_not_fail_the_quit(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(_mailbox(CAPA_PIPE, RETR_3=b"-ERR gone\r\n"))
    with source(server).open() as session:
        first, _ = next(session.retrieve_many(_listed(4)))  # RETR 2, 3, 4 asked, not taken
        session.delete(first.number)
        session.commit()
    assert server.received[-2:] == [b"DELE 1", b"QUIT"]
