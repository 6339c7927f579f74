"""IMAP for the check (RFC 9051 / 3501; STARTTLS and LOGINDISABLED: RFC 3501 §6.2), through
the mailbox adapter's bounded client: every answer bounded in length and time."""

from __future__ import annotations

import imaplib
import socket
import ssl
from typing import Any

from postroom.diagnostics.failure import StepFailure
from postroom.mailboxes.imap import MAX_LINE
from postroom.mailboxes.imap_wire import BoundedImap, WireTooLong
from postroom.net import sasl


def _client(sock: socket.socket, host: str, timeout: float) -> BoundedImap:
    """The mailbox adapter's bounded imaplib on a socket the check connected itself;
    connecting reads the greeting and asks for CAPABILITY."""
    return BoundedImap(sock, host, timeout=timeout, max_line=MAX_LINE, max_literal=MAX_LINE)


class ImapSession:
    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._timeout = timeout
        self._client = _client(sock, host, timeout)
        self.greeting = self._client.welcome.decode(errors="replace")

    def capabilities(self) -> list[str]:
        return list(self._client.capabilities)

    def offers_starttls(self) -> bool:
        return "STARTTLS" in self._client.capabilities

    def _budget(self) -> None:
        self._client.budget(self._timeout, MAX_LINE)

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        self._budget()
        self._client.starttls(context)
        sock = self._client.sock
        assert isinstance(sock, ssl.SSLSocket)
        return sock

    def authenticate(self, user: str, password: str, authzid: str | None) -> dict[str, Any]:
        self._budget()
        caps = self._client.capabilities
        if authzid or "AUTH=PLAIN" in caps:
            if "AUTH=PLAIN" not in caps:
                raise StepFailure(
                    "the server does not offer AUTH=PLAIN, which an authorization identity needs",
                    "drop --authzid, or ask the server's administrator to enable AUTH=PLAIN",
                )
            message = sasl.plain_message(user, password, authzid).encode()
            self._client.authenticate("PLAIN", lambda _challenge: message)
            return {"mechanism": "AUTHENTICATE PLAIN", "authzid": authzid}
        if "LOGINDISABLED" in caps:
            raise StepFailure(
                "the server refuses LOGIN on this connection (LOGINDISABLED)",
                "use imaps:// or imap:// with STARTTLS (drop ?tls=none)",
            )
        self._client.login(user, password)
        return {"mechanism": "LOGIN", "authzid": None}

    def mailbox(self) -> dict[str, Any]:
        self._budget()
        status, data = self._client.select("INBOX", readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(data[-1] if data else "EXAMINE INBOX failed")
        first = data[0]
        count = int(first) if isinstance(first, bytes) and first.isdigit() else None
        return {"folder": "INBOX", "messages": count}

    def close(self) -> None:
        self._budget()
        try:
            self._client.logout()
        except (OSError, imaplib.IMAP4.error, EOFError, WireTooLong):
            self._client.shutdown()
