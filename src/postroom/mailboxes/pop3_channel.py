"""One POP3 connection: commands out, responses in, failures translated.

This is the only place that touches ``socket`` and ``ssl`` for POP3, so it
is also where their exceptions become `ConnectionFailure`
(`postroom.net.connection.classify` decides dns / connection / timeout / tls).
A ``-ERR`` answer is not a transport failure; it is raised as `ServerError`
for the caller to judge (a refused login is ``authentication``, a refused
RETR is ``protocol``); a multi-line answer over the size limit is raised as
`pop3_wire.TooLong` for the caller to name (a RETR: `MessageTooLarge`).
After any transport failure, and after `TooLong`, the socket is closed: a
POP3 stream that lost sync cannot be trusted again.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from postroom.domain.display import for_terminal
from postroom.mailboxes.pop3_auth import (
    TOKEN_MECHANISMS,
    Capabilities,
    login_responses,
    plain_command,
    token_abort,
    token_command,
    token_status,
)
from postroom.mailboxes.pop3_wire import MAX_BODY, ResponseReader, ServerClosed, TooLong, WireError
from postroom.net.connection import ConnectionFailure, FailureClass, classify
from postroom.net.sasl import AuthMechanism, Credentials

log = logging.getLogger(__name__)

_CRLF = b"\r\n"


def _peer_port(sock: socket.socket) -> int:
    """The server's port, for OAUTHBEARER's ``port=`` (0 when the socket cannot say)."""
    try:
        return int(sock.getpeername()[1])
    except (OSError, IndexError, TypeError, ValueError):
        return 0


class ServerError(Exception):
    """The server answered ``-ERR`` (RFC 1939 §3) to the command described by ``shown``."""

    def __init__(self, shown: str, text: str) -> None:
        super().__init__(f"{shown}: -ERR {text}".rstrip())
        self.shown = shown
        self.text = text

    @property
    def response_code(self) -> str | None:
        """The extended response code (RFC 2449 §8) the text starts with: ``SYS/TEMP``,
        ``IN-USE`` (RFC 2449), ``AUTH`` (RFC 3206)…; None without one."""
        if not self.text.startswith("["):
            return None
        code, closed, _ = self.text[1:].partition("]")
        return code.upper() if closed else None


class UnexpectedResponse(WireError):
    """The server answered with neither ``+OK`` nor ``-ERR`` (RFC 1939 §3): ``line`` says what."""

    def __init__(self, line: str) -> None:
        super().__init__(f"unexpected response '{for_terminal(line[:120])}'")
        self.line = line


class Pop3Channel:
    """A connected, optionally TLS-wrapped POP3 stream with a response reader."""

    def __init__(self, sock: socket.socket, where: str, host: str, tls_up: bool) -> None:
        self._sock: socket.socket | None = sock
        self._reader = ResponseReader(sock.recv_into)
        self._host = host
        self._port = _peer_port(sock)
        self._tls_up = tls_up
        self._tls: ssl.SSLContext | None = None
        self.where = where

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        where: str,
        timeout: float,
        tls: ssl.SSLContext | None,
        implicit_tls: bool,
    ) -> Pop3Channel:
        """Open TCP (and TLS for POP3S); ``timeout`` bounds the connect and every read."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except (OSError, ValueError) as exc:
            raise classify(exc, f"{where}: connect") from exc
        channel = cls(sock, where, host, tls_up=False)
        channel._tls = tls
        if implicit_tls:
            assert tls is not None
            with channel._guard("TLS handshake"):
                channel._wrap(tls)
        return channel

    @property
    def open(self) -> bool:
        return self._sock is not None

    def _wrap(self, context: ssl.SSLContext) -> None:
        assert self._sock is not None
        self._sock = context.wrap_socket(self._sock, server_hostname=self._host)
        self._reader = ResponseReader(self._sock.recv_into)
        self._tls_up = True

    @contextmanager
    def _guard(self, shown: str) -> Iterator[None]:
        """Translate transport errors of one step; close the socket if one happens."""
        if self._sock is None:
            raise ConnectionFailure(
                FailureClass.CONNECTION, f"{self.where}: {shown}: the session is closed"
            )
        try:
            yield
        except ServerError:
            raise
        except (ConnectionFailure, TooLong):
            # TooLong: the rest of that answer is still coming, the stream is out of
            # sync; the caller knows which command it was and says so.
            self.abandon()
            raise
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ServerClosed) as exc:
            self.abandon()
            if isinstance(exc, ServerClosed) or self._tls_up:
                raise ConnectionFailure(
                    FailureClass.CONNECTION, f"{self.where}: {shown}: server closed the connection"
                ) from exc
            raise classify(exc, f"{self.where}: {shown}") from exc
        except WireError as exc:
            self.abandon()
            raise ConnectionFailure(FailureClass.PROTOCOL, f"{self.where}: {shown}: {exc}") from exc
        except (OSError, EOFError, ValueError) as exc:
            self.abandon()
            raise classify(exc, f"{self.where}: {shown}") from exc

    def _send(self, line: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(line + _CRLF)

    def _status(self, shown: str) -> str:
        line = self._reader.status_line()
        text = line.decode("utf-8", "replace")
        if line.startswith(b"+OK"):
            return text[3:].strip()
        if line.startswith(b"-ERR"):
            raise ServerError(shown, text[4:].strip())
        raise UnexpectedResponse(text)

    def greeting(self) -> str:
        """The server's ``+OK`` banner (RFC 1939 §4)."""
        with self._guard("greeting"):
            return self._status("greeting")

    def command(self, line: bytes, *, shown: str) -> str:
        """Send one command; return the text after ``+OK``, raise `ServerError` on ``-ERR``.

        ``shown`` names the command in messages and logs, so arguments such
        as passwords are never written anywhere but the socket.
        """
        text, _ = self.exchange(line, shown=shown)
        return text

    def exchange(self, line: bytes, *, shown: str, body: bool = False) -> tuple[str, bytes]:
        """Send a command and read its response (with ``body``, its multi-line body too):
        the ``+OK`` text and the body (empty without ``body``); `ServerError` on ``-ERR``."""
        self.send([(line, shown)])
        return self.read(shown, body=body)

    def send(self, commands: Sequence[tuple[bytes, str]]) -> None:
        """Send several commands in one write without reading (RFC 2449 §6.6 PIPELINING);
        `read` then takes their responses in the same order."""
        shown = ", ".join(s for _, s in commands)
        log.debug("%s: C: %s", self.where, shown)
        with self._guard(shown):
            assert self._sock is not None
            self._sock.sendall(b"".join(cmd + _CRLF for cmd, _ in commands))

    def read(self, shown: str, *, body: bool = False, limit: int = MAX_BODY) -> tuple[str, bytes]:
        """The response to the oldest command not yet read: its ``+OK`` text and, with
        ``body``, its multi-line body of at most ``limit`` octets (`pop3_wire.TooLong`
        past it); `ServerError` on ``-ERR`` (which has no body)."""
        with self._guard(shown):
            text = self._status(shown)
            return text, self._reader.multiline(limit) if body else b""

    def sasl_continue(self, line: bytes, *, shown: str) -> bytes:
        """Send a SASL step and expect a ``+`` challenge (RFC 5034 §4); return it decoded-raw."""
        log.debug("%s: C: %s", self.where, shown)
        with self._guard(shown):
            self._send(line)
            reply = self._reader.status_line()
            if reply.startswith(b"+ ") or reply == b"+":
                return reply[2:]
            if reply.startswith(b"-ERR"):
                raise ServerError(shown, reply[4:].decode("utf-8", "replace").strip())
            # A server that says +OK where a challenge belongs has left the
            # exchange; RFC 5034 §4 lets the client cancel with "*".
            self._send(b"*")
            got = for_terminal(reply[:60].decode("utf-8", "replace"))
            raise WireError(f"expected a SASL challenge, got '{got}'")

    def _sasl_step(self, line: bytes, *, shown: str) -> bytes | None:
        """Send a SASL response that may end the exchange: None on ``+OK``, the challenge
        after ``+`` (raw Base64), `ServerError` on ``-ERR``."""
        log.debug("%s: C: %s", self.where, shown)
        with self._guard(shown):
            self._send(line)
            reply = self._reader.status_line()
            if reply.startswith(b"+OK"):
                return None
            if reply.startswith(b"+ ") or reply == b"+":
                return reply[2:]
            if reply.startswith(b"-ERR"):
                raise ServerError(shown, reply[4:].decode("utf-8", "replace").strip())
            raise UnexpectedResponse(reply.decode("utf-8", "replace"))

    def capabilities(self) -> Capabilities:
        """CAPA (RFC 2449 §5); `Capabilities.none` if the server predates it."""
        try:
            _, body = self.exchange(b"CAPA", shown="CAPA", body=True)
            return Capabilities.parse(body)
        except ServerError:
            return Capabilities.none()
        except TooLong as exc:
            raise ConnectionFailure(FailureClass.PROTOCOL, f"{self.where}: CAPA: {exc}") from exc

    def log_in(self, mechanism: AuthMechanism, credentials: Credentials) -> None:
        """Authenticate with ``mechanism`` (chosen by `pop3_auth.choose_mechanism` or by the
        caller); `ServerError` when the server refuses, for the caller to judge."""
        if mechanism is AuthMechanism.PLAIN:
            line, deferred = plain_command(credentials)
            if deferred is None:
                self.command(line, shown="AUTH PLAIN")
            else:
                self.sasl_continue(b"AUTH PLAIN", shown="AUTH PLAIN")
                self.command(deferred, shown="AUTH PLAIN response")
        elif mechanism in TOKEN_MECHANISMS:
            self._log_in_with_token(mechanism, credentials)
        elif mechanism is AuthMechanism.LOGIN:
            # SASL LOGIN (draft-murchison-sasl-login): the server prompts for
            # the user name, then the password, each as a `+` continuation.
            user, password = login_responses(credentials)
            self.sasl_continue(b"AUTH LOGIN", shown="AUTH LOGIN")
            self.sasl_continue(user, shown="AUTH LOGIN user")
            self.command(password, shown="AUTH LOGIN password")
        else:
            # RFC 1939 §7: USER then PASS, both in the AUTHORIZATION state.
            secret = credentials.password.reveal()
            self.command(b"USER " + credentials.user.encode("utf-8"), shown="USER")
            self.command(b"PASS " + secret.encode("utf-8"), shown="PASS")

    def _log_in_with_token(self, mechanism: AuthMechanism, credentials: Credentials) -> None:
        """AUTH XOAUTH2 or OAUTHBEARER with the access token in ``credentials``. A ``+``
        after the token is the server's error report (RFC 7628 §3.2.2): answered as the
        mechanism says, the ``-ERR`` that follows is raised with the report decoded in it."""
        shown = f"AUTH {mechanism.sasl_name}"
        line, deferred = token_command(mechanism, credentials, self._host, self._port)
        if deferred is not None:
            self.sasl_continue(line, shown=shown)
            line, shown = deferred, f"{shown} response"
        challenge = self._sasl_step(line, shown=shown)
        if challenge is None:
            return
        status = token_status(challenge)
        try:
            said = self.command(token_abort(mechanism), shown=f"{shown} error report")
        except ServerError as exc:
            raise ServerError(shown, f"{exc.text} (the server said: {status})") from None
        self.abandon()
        raise ConnectionFailure(
            FailureClass.PROTOCOL,
            f"{self.where}: {shown}: +OK '{for_terminal(said[:60])}' after an error report "
            f"({status})",
        )

    def starttls(self) -> None:
        """STLS (RFC 2595 §4) and a verified handshake on the same connection."""
        try:
            self.command(b"STLS", shown="STLS")
        except ServerError as exc:
            self.abandon()
            raise ConnectionFailure(
                FailureClass.TLS,
                f"{self.where}: server refused STLS ({exc.text}); cleartext is refused",
            ) from None
        with self._guard("TLS handshake"):
            assert self._tls is not None
            self.secure(self._tls)

    def secure(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        """The TLS handshake after ``+OK`` to STLS; its errors are not translated (the
        connection check reads the certificate a verifying handshake refused)."""
        if self._reader.buffered:
            # Bytes sent before the handshake would be read as if they had
            # come over TLS: a known STARTTLS injection.  Refuse.
            raise WireError("server sent data after +OK to STLS")
        self._wrap(context)
        assert isinstance(self._sock, ssl.SSLSocket)
        return self._sock

    def abandon(self) -> None:
        """Close without QUIT: RFC 1939 §6, the server must not enter UPDATE, deletes are undone."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                log.debug("%s: error while closing", self.where, exc_info=True)
