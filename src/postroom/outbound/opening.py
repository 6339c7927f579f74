"""Opening an SMTP session: TCP, TLS (implicit or STARTTLS), EHLO and AUTH.

``smtps://`` is TLS from the first byte (RFC 8314); ``submission://`` and
``smtp://`` upgrade with STARTTLS (RFC 3207) and refuse to go on in
cleartext unless the URL says ``?tls=none``.  TLS always verifies the
chain and the host name (`postroom.net.connection.tls_context`).  AUTH follows
`postroom.outbound.auth`.  Every library error leaves this module as a
`ConnectionFailure`, classified by its exception type and reply code.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket

from postroom.net.connection import (
    ConnectionFailure,
    FailureClass,
    Security,
    TlsProblem,
    classify,
    tls_context,
)
from postroom.outbound.auth import authenticate
from postroom.outbound.bounded import BoundedSMTP, BoundedSMTPS
from postroom.outbound.wire import reply_text
from postroom.ports.sending import SmtpServer

_READY = 220
"""RFC 3207 §4: ready to start TLS."""


def open_client(server: SmtpServer) -> smtplib.SMTP:
    """A client that greeted, secured and logged in as `server` says; `ConnectionFailure`
    (and nothing left open) otherwise."""
    url = server.url
    client: smtplib.SMTP | None = None
    try:
        if url.security is Security.IMPLICIT:
            client = BoundedSMTPS(
                url.host,
                url.port,
                local_hostname=server.local_hostname,
                timeout=server.timeout,
                context=tls_context(server.ca_file),
            )
        else:
            client = BoundedSMTP(
                url.host, url.port, local_hostname=server.local_hostname, timeout=server.timeout
            )
        send_at_once(client)
        expect_ok(client.ehlo(), "EHLO")
        if url.security is Security.STARTTLS:
            _starttls(client, server)
        if server.login is not None:
            authenticate(client, server.login, url.host, url.port)
    except ConnectionFailure:
        if client is not None:
            close_quietly(client)
        raise
    except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
        if client is not None:
            close_quietly(client)
        raise translate(exc, where(server)) from exc
    return client


def send_at_once(client: smtplib.SMTP) -> None:
    """Turn Nagle's algorithm off (``TCP_NODELAY``) for this connection.

    A message's content and DATA's final dot are two writes, the hook between them
    (`postroom.outbound.connection`); under Nagle the dot, a small write behind one not yet
    acknowledged, waits for the server's delayed ACK (Linux's default is some 40 ms) on
    every message.  Every write here is a whole command or a whole content, so nothing is gained
    by holding one back.  The option stays on the socket through STARTTLS.
    """
    if client.sock is not None:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def where(server: SmtpServer) -> str:
    """``host:port``, the prefix of this server's messages."""
    return f"{server.url.host}:{server.url.port}"


def _starttls(client: smtplib.SMTP, server: SmtpServer) -> None:
    if not client.has_extn("starttls"):
        raise ConnectionFailure(
            FailureClass.TLS,
            f"{where(server)} does not offer STARTTLS; refusing to send "
            "in cleartext (add ?tls=none to the URL to allow it)",
            TlsProblem.NOT_OFFERED,
        )
    code, reply = client.starttls(context=tls_context(server.ca_file))
    if code != _READY:
        raise ConnectionFailure(
            FailureClass.TLS,
            f"STARTTLS refused: {code} {reply_text(reply)}",
            TlsProblem.NOT_OFFERED,
        )
    expect_ok(client.ehlo(), "EHLO after STARTTLS")


def expect_ok(answer: tuple[int, bytes], command: str) -> None:
    code, reply = answer
    if not 200 <= code < 300:
        raise ConnectionFailure(
            FailureClass.PROTOCOL, f"{command} refused: {code} {reply_text(reply)}"
        )


def translate(exc: Exception, where: str) -> ConnectionFailure:
    """An ``smtplib`` or OS error as a `ConnectionFailure`."""
    if isinstance(exc, ConnectionFailure):
        return exc
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ConnectionFailure(FailureClass.CONNECTION, f"{where}: server closed the connection")
    if isinstance(exc, smtplib.SMTPResponseException):
        return ConnectionFailure(
            FailureClass.PROTOCOL, f"{where}: {exc.smtp_code} {reply_text(exc.smtp_error)}"
        )
    if isinstance(exc, smtplib.SMTPException):
        return ConnectionFailure(FailureClass.PROTOCOL, f"{where}: {exc}")
    return classify(exc, where)


def close_quietly(client: smtplib.SMTP, *, quit_first: bool = True) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError, ValueError):
        if quit_first:
            client.quit()
    with contextlib.suppress(OSError):
        client.close()
