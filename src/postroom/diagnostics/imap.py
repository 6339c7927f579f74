"""IMAP for the check (RFC 9051 / 3501; STARTTLS and LOGINDISABLED: RFC 3501 §6.2)."""

from __future__ import annotations

import imaplib
import socket
import ssl
from typing import Any

from postroom.diagnostics.failure import StepFailure
from postroom.net import sasl


class _Client(imaplib.IMAP4):
    """imaplib on a socket we connected ourselves (imaplib's socket factory hook).
    Connecting reads the greeting and asks for CAPABILITY."""

    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._given = sock
        super().__init__(host, 0, timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._given


class ImapSession:
    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._client = _Client(sock, host, timeout)
        self.greeting = self._client.welcome.decode(errors="replace")

    def capabilities(self) -> list[str]:
        return list(self._client.capabilities)

    def offers_starttls(self) -> bool:
        return "STARTTLS" in self._client.capabilities

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        self._client.starttls(context)
        sock = self._client.sock
        assert isinstance(sock, ssl.SSLSocket)
        return sock

    def authenticate(self, user: str, password: str, authzid: str | None) -> dict[str, Any]:
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
        status, data = self._client.select("INBOX", readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(data[-1] if data else "EXAMINE INBOX failed")
        first = data[0]
        count = int(first) if isinstance(first, bytes) and first.isdigit() else None
        return {"folder": "INBOX", "messages": count}

    def close(self) -> None:
        try:
            self._client.logout()
        except (OSError, imaplib.IMAP4.error, EOFError):
            self._client.shutdown()
