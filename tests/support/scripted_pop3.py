"""A POP3 server on 127.0.0.1 whose mailbox a test scripts: what Dovecot never does.

It speaks plain POP3 (RFC 1939; Postroom reaches it with a ``pop3://…?tls=none`` URL) and
keeps its mailbox across sessions like a real server: DELE marks, QUIT removes (RFC 1939 §6),
a dropped connection removes nothing. A test then scripts what a hostile or careless server
does:

* a UIDL given again to new mail once the old message is gone (``add(..., uid=old)``);
* a LIST size that lies (``list_size=``);
* a RETR answer that never ends (``endless=True``: header lines until the client hangs
  up, or `ScriptedPop3.stream_cap` octets, then the connection is closed);
* a QUIT that is never answered (``drop_quits``: the session ends as if it crashed there);
* an OAuth2 login (``token=``: CAPA offers SASL XOAUTH2 OAUTHBEARER, AUTH takes that access
  token for `user` and answers any other with a ``+`` error report, ``error_status``, then
  ``-ERR``; ``max_command_line``: a longer AUTH line is refused, as RFC 2449 §4 allows).

Every RETR is logged by UIDL (`retrieved`), every message removed by QUIT too (`removed`).
`add_channel` points a Postroom channel at a server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postroom.clock import utcnow
from postroom.credentials import Secret

if TYPE_CHECKING:
    from postroom.bootstrap import App

_CRLF = b"\r\n"
_FILLER = b"X-Filler: " + b"a" * 60 + _CRLF


@dataclass(eq=False)
class ScriptedMessage:
    uid: str
    body: bytes
    list_size: int | None = None
    """What LIST says; None: the true size of ``body``."""
    endless: bool = False

    @property
    def listed(self) -> int:
        return len(self.body) if self.list_size is None else self.list_size

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class ScriptedPop3:
    """The server: `start` it, `add` mail, point a channel at `url`, `close` it."""

    pipelining: bool = True
    user: str = "alice"
    password: str = "scripted-pw"
    stream_cap: int = 1 << 30
    """Octets an endless RETR sends at most before the server hangs up."""
    drop_quits: int = 0
    """This many QUITs are not answered: the connection is closed, nothing is removed."""
    mailbox: list[ScriptedMessage] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    streamed: int = 0
    sessions: int = 0
    port: int = 0
    token: str | None = None
    """The OAuth2 access token AUTH XOAUTH2 and OAUTHBEARER take; None: no SASL offered."""
    error_status: bytes = b'{"status":"401","schemes":"bearer","scope":"mail"}'
    """The error report (RFC 7628 §3.2.2) sent, Base64, after a token it refuses."""
    ok_after_error: bool = False
    """Answer ``+OK`` (not ``-ERR``) to the client's reply to the error report."""
    max_command_line: int | None = None
    """An AUTH line longer than this (with CRLF) is refused with ``-ERR``."""
    auth_lines: list[bytes] = field(default_factory=list)
    """Every line of every AUTH exchange as received (tests only: holds the tokens)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._uids = itertools.count(1)
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []

    # ------------------------------------------------------------------ scripting
    def start(self) -> ScriptedPop3:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    @property
    def url(self) -> str:
        return f"pop3://{self.user}@127.0.0.1:{self.port}?tls=none"

    def add(
        self,
        body: bytes,
        uid: str | None = None,
        *,
        list_size: int | None = None,
        endless: bool = False,
    ) -> ScriptedMessage:
        """Put a message in the mailbox (CRLF line ends; a last CRLF is added if missing)."""
        body = body.replace(b"\r\n", b"\n").replace(b"\n", _CRLF)
        if not body.endswith(_CRLF):
            body += _CRLF
        message = ScriptedMessage(uid or f"uid-{next(self._uids)}", body, list_size, endless)
        with self._lock:
            self.mailbox.append(message)
        return message

    def uids(self) -> list[str]:
        with self._lock:
            return [m.uid for m in self.mailbox]

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # ------------------------------------------------------------------ serving
    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self.sessions += 1
        try:
            with conn:
                Session(self, conn).run()
        except OSError:
            pass  # the client hung up (or dropped the session on purpose)

    def _quit(self, deleted: set[int], snapshot: list[ScriptedMessage]) -> bool:
        """UPDATE state (RFC 1939 §6); False when this QUIT is to go unanswered."""
        with self._lock:
            if self.drop_quits > 0:
                self.drop_quits -= 1
                return False
            gone = [snapshot[n - 1] for n in sorted(deleted)]
            self.mailbox = [m for m in self.mailbox if all(m is not g for g in gone)]
            self.removed += [m.uid for m in gone]
            return True


class Session:
    """One connection: AUTHORIZATION, then TRANSACTION over a snapshot of the mailbox."""

    def __init__(self, server: ScriptedPop3, conn: socket.socket) -> None:
        self.server = server
        self.conn = conn
        self.snapshot: list[ScriptedMessage] = []
        self.deleted: set[int] = set()
        self.user_ok = False
        self.logged_in = False
        self._file = conn.makefile("rb")

    def send(self, *lines: bytes) -> None:
        self.conn.sendall(b"".join(line + _CRLF for line in lines))

    def run(self) -> None:
        self.send(b"+OK scripted POP3 ready")
        for raw in self._lines():
            words = raw.decode("ascii", "replace").split()
            if not words:
                self.send(b"-ERR empty command")
                continue
            verb, args = words[0].upper(), words[1:]
            if verb == "QUIT":
                if self.logged_in and not self.server._quit(self.deleted, self.snapshot):
                    return  # unanswered: the client cannot know what happened
                self.send(b"+OK bye")
                return
            handler = getattr(self, f"do_{verb.lower()}", None)
            if handler is None or (
                not self.logged_in and verb not in ("CAPA", "USER", "PASS", "AUTH")
            ):
                self.send(b"-ERR unknown command or wrong state")
                continue
            if handler(args) is False:
                return

    def _lines(self) -> Iterator[bytes]:
        for raw in self._file:
            yield raw.rstrip(b"\r\n")

    def _line(self) -> bytes:
        """The next line (a SASL response), b"" once the client hung up."""
        return self._file.readline().rstrip(b"\r\n")

    # ------------------------------------------------------------------ commands
    def do_capa(self, args: list[str]) -> None:
        caps = [b"+OK", b"USER", b"UIDL", b"TOP"]
        if self.server.pipelining:
            caps.append(b"PIPELINING")
        if self.server.token is not None:
            caps.append(b"SASL XOAUTH2 OAUTHBEARER")
        self.send(*caps, b".")

    def do_auth(self, args: list[str]) -> None:
        """AUTH XOAUTH2 / OAUTHBEARER (RFC 5034), initial response on the line or after ``+``."""
        server = self.server
        line = " ".join(["AUTH", *args]).encode()
        server.auth_lines.append(line)
        if server.max_command_line is not None and len(line) + 2 > server.max_command_line:
            self.send(b"-ERR line too long")
            return
        if server.token is None or not args or args[0].upper() not in ("XOAUTH2", "OAUTHBEARER"):
            self.send(b"-ERR unsupported mechanism")
            return
        if len(args) > 1:
            response = args[1].encode()
        else:
            self.send(b"+ ")
            response = self._line() or b"*"
            server.auth_lines.append(response)
        if response == b"*":
            self.send(b"-ERR cancelled")
            return
        if self._token_fits(args[0].upper(), response):
            with server._lock:
                self.snapshot = list(server.mailbox)
            self.logged_in = True
            self.send(b"+OK logged in")
            return
        self.send(b"+ " + base64.b64encode(server.error_status))
        server.auth_lines.append(self._line())
        self.send(
            b"+OK fooled you" if server.ok_after_error else b"-ERR [AUTH] Authentication failed."
        )

    def _token_fits(self, mechanism: str, response: bytes) -> bool:
        try:
            fields = base64.b64decode(response, validate=True).decode().split("\x01")
        except ValueError:
            return False
        bearer = f"auth=Bearer {self.server.token}"
        if mechanism == "XOAUTH2":
            return fields == [f"user={self.server.user}", bearer, "", ""]
        return fields == [
            f"n,a={self.server.user},",
            "host=127.0.0.1",
            f"port={self.server.port}",
            bearer,
            "",
            "",
        ]

    def do_user(self, args: list[str]) -> None:
        self.user_ok = args == [self.server.user]
        self.send(b"+OK" if self.user_ok else b"-ERR no such user")

    def do_pass(self, args: list[str]) -> None:
        if not self.user_ok or args != [self.server.password]:
            self.send(b"-ERR [AUTH] invalid login")
            return
        with self.server._lock:
            self.snapshot = list(self.server.mailbox)
        self.logged_in = True
        self.send(b"+OK logged in")

    def _message(self, args: list[str]) -> tuple[int, ScriptedMessage] | None:
        if len(args) < 1 or not args[0].isdigit():
            self.send(b"-ERR message number needed")
            return None
        number = int(args[0])
        if not 1 <= number <= len(self.snapshot) or number in self.deleted:
            self.send(b"-ERR no such message")
            return None
        return number, self.snapshot[number - 1]

    def _listing(self, args: list[str], value: str) -> None:
        if args:
            found = self._message(args)
            if found:
                number, message = found
                self.send(f"+OK {number} {getattr(message, value)}".encode())
            return
        lines = [
            f"{n} {getattr(m, value)}".encode()
            for n, m in enumerate(self.snapshot, 1)
            if n not in self.deleted
        ]
        self.send(b"+OK", *lines, b".")

    def do_stat(self, args: list[str]) -> None:
        live = [m for n, m in enumerate(self.snapshot, 1) if n not in self.deleted]
        self.send(f"+OK {len(live)} {sum(m.listed for m in live)}".encode())

    def do_list(self, args: list[str]) -> None:
        self._listing(args, "listed")

    def do_uidl(self, args: list[str]) -> None:
        self._listing(args, "uid")

    def do_noop(self, args: list[str]) -> None:
        self.send(b"+OK")

    def do_rset(self, args: list[str]) -> None:
        self.deleted.clear()
        self.send(b"+OK")

    def do_dele(self, args: list[str]) -> None:
        found = self._message(args)
        if found:
            self.deleted.add(found[0])
            self.send(b"+OK marked")

    def do_retr(self, args: list[str]) -> bool:
        found = self._message(args)
        if not found:
            return True
        _, message = found
        with self.server._lock:
            self.server.retrieved.append(message.uid)
        if message.endless:
            self._stream()
            return False
        self.conn.sendall(b"+OK message follows\r\n" + _stuffed(message.body) + b".\r\n")
        return True

    def do_top(self, args: list[str]) -> None:
        found = self._message(args)
        if found:
            head = found[1].body.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            self.conn.sendall(b"+OK\r\n" + _stuffed(head) + b".\r\n")

    def _stream(self) -> None:
        """An answer that never ends: header lines until the client hangs up or the cap."""
        block = b"+OK here it comes\r\n" + _FILLER * 1000
        sent = 0
        try:
            while sent < self.server.stream_cap:
                self.conn.sendall(block)
                sent += len(block)
                block = _FILLER * 1000
        finally:
            with self.server._lock:
                self.server.streamed += sent


def add_channel(app: App, server: ScriptedPop3, name: str = "scripted") -> int:
    """An enabled channel of ``app`` on ``server`` (polled every minute, 10 s timeout)."""
    with app.storage.writing() as uow:
        channel = uow.channels.add(
            now=utcnow(),
            name=name,
            url=server.url,
            password_enc=app.secrets.seal(Secret(server.password)),
            mechanism="auto",
            interval_s=60,
            max_failures=3,
            timeout_s=10,
            enabled=True,
        )
    return channel.id


def _stuffed(body: bytes) -> bytes:
    """RFC 1939 §3 byte-stuffing: a line that begins with "." gets one more."""
    stuffed = body.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed
