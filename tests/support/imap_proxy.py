"""An IMAP proxy in front of the loopback Dovecot that makes it another server: without
capabilities it has (MOVE), or with OAuth2 logins it lacks (XOAUTH2 and OAUTHBEARER,
turned into a LOGIN upstream when the bearer token is one the test issued).

Everything else is Dovecot's own answer, byte for byte: the proxy reads lines, passes
literals through untouched, and rewrites only capability lists (``* CAPABILITY …`` and
``[CAPABILITY …]`` response codes) and, when asked, the RFC822.SIZE of FETCH answers. It
listens on 127.0.0.1 in cleartext (URLs with ``?tls=none``) and talks to Dovecot's
cleartext IMAP port. The commands clients sent are kept (``commands``: the command words
after the tag, ``UID COPY``, ``UID MOVE``, …).
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

_LITERAL = re.compile(rb"\{(\d{1,12})\+?\}\r\n$")
_CAPS = re.compile(rb"^(\* CAPABILITY |\S+ OK \[CAPABILITY |\* OK \[CAPABILITY )", re.I)
_OAUTH = ("XOAUTH2", "OAUTHBEARER")


def _lines(sock: socket.socket) -> Iterator[tuple[bytes, bytes]]:
    """(line, the literal that follows it or b"") until the peer closes."""
    buf = b""
    while True:
        while b"\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b"\r\n", 1)
        line += b"\r\n"
        literal = b""
        m = _LITERAL.search(line)
        if m:
            n = int(m.group(1))
            while len(buf) < n:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            literal, buf = buf[:n], buf[n:]
        yield line, literal


@dataclass
class ImapProxy:
    upstream_port: int
    drop: tuple[str, ...] = ()
    """Capabilities removed from every list Dovecot sends."""
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Bearer token -> (user, password): offered as AUTH=XOAUTH2 and AUTH=OAUTHBEARER."""
    sizes: int | None = None
    """Set: every RFC822.SIZE Dovecot gives is replaced by this (a server whose sizes lie)."""
    commands: list[str] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._down, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()

    def _caps(self, line: bytes) -> bytes:
        if self.sizes is not None and line.startswith(b"* ") and b" FETCH " in line:
            line = re.sub(rb"RFC822\.SIZE \d+", b"RFC822.SIZE %d" % self.sizes, line)
        if not _CAPS.match(line):
            return line
        for name in self.drop:
            line = re.sub(rb" " + name.encode() + rb"(?=[ \]\r])", b"", line, flags=re.I)
        if self.tokens:
            extra = b"".join(b" AUTH=" + m.encode() for m in _OAUTH)
            line = re.sub(rb"( AUTH=PLAIN)", rb"\1" + extra, line, count=1)
        return line

    def _down(self, upstream: socket.socket, client: socket.socket) -> None:
        """Dovecot to the client, capability lists rewritten."""
        try:
            for line, literal in _lines(upstream):
                client.sendall(self._caps(line) + literal)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        """The client to Dovecot; an OAuth2 AUTHENTICATE is answered here."""
        lines = _lines(client)
        try:
            for line, literal in lines:
                words = line.decode("latin-1").split()
                verb = words[1:3] if len(words) > 2 and words[1].upper() == "UID" else words[1:2]
                self.commands.append(" ".join(verb).upper())
                oauth = len(words) >= 3 and words[1].upper() == "AUTHENTICATE"
                if self.tokens and oauth and words[2].upper() in _OAUTH:
                    self._oauth(words[0], words[2].upper(), words[3:], client, upstream, lines)
                    continue
                upstream.sendall(line + literal)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def _oauth(
        self,
        tag: str,
        mechanism: str,
        initial: list[str],
        client: socket.socket,
        upstream: socket.socket,
        lines: Iterator[tuple[bytes, bytes]],
    ) -> None:
        if initial:
            answer = initial[0]
        else:
            client.sendall(b"+ \r\n")
            answer = next(lines)[0].decode("latin-1").strip()
        said = base64.b64decode(answer).decode("utf-8", "replace")
        fields = dict(
            part.split("=", 1) for part in said.split("\x01") if "=" in part and part[:2] != "n,"
        )
        token = fields.get("auth", "").removeprefix("Bearer ")
        user = fields.get("user") or re.sub(r"^n,a=([^,]*),.*", r"\1", said.split("\x01")[0])
        known = self.tokens.get(token)
        if known is None or known[0] != user:
            error = base64.b64encode(b'{"status":"401","schemes":"bearer"}')
            client.sendall(b"+ " + error + b"\r\n")
            next(lines, None)
            client.sendall(f"{tag} NO [AUTHENTICATIONFAILED] invalid token\r\n".encode())
            return
        login, password = known
        upstream.sendall(f'{tag} LOGIN "{login}" "{password}"\r\n'.encode())


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()


@pytest.fixture
def imap_proxy() -> Iterator[type[ImapProxy]]:
    """Make proxies (``imap_proxy(port, drop=("MOVE",))``); all closed after the test."""
    made: list[ImapProxy] = []

    class _Tracked(ImapProxy):
        def __post_init__(self) -> None:
            super().__post_init__()
            made.append(self)

    yield _Tracked
    for proxy in made:
        proxy.close()
