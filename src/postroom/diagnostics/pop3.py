"""POP3 for the check (RFC 1939, STLS: RFC 2595, CAPA: RFC 2449, AUTH: RFC 5034)."""

from __future__ import annotations

import poplib
import socket
import ssl
from typing import Any

from postroom.diagnostics.failure import StepFailure
from postroom.net import sasl


class _Client(poplib.POP3):
    """poplib on a socket we connected ourselves (poplib's socket factory hook)."""

    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._given = sock
        super().__init__(host, 0, timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        return self._given


class Pop3Session:
    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._client = _Client(sock, host, timeout)
        self.greeting = self._client.getwelcome().decode(errors="replace")
        self._capa: dict[str, list[str]] | None = None

    def capabilities(self) -> list[str]:
        self._capa = self._client.capa()
        return [" ".join([name, *args]) for name, args in self._capa.items()]

    def offers_starttls(self) -> bool:
        return "STLS" in (self._capa if self._capa is not None else self._client.capa())

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        self._client.stls(context)
        sock = self._client.sock
        assert isinstance(sock, ssl.SSLSocket)
        return sock

    def authenticate(self, user: str, password: str, authzid: str | None) -> dict[str, Any]:
        mechanisms = (self._capa or {}).get("SASL", [])
        if authzid or "PLAIN" in mechanisms:
            if "PLAIN" not in mechanisms:
                raise StepFailure(
                    "the server does not offer SASL PLAIN, which an authorization identity needs",
                    "drop --authzid, or ask the server's administrator to enable AUTH PLAIN",
                )
            # RFC 5034 §4: AUTH with an initial response.
            # poplib has no AUTH; _shortcmd sends a line and raises error_proto on -ERR.
            command = f"AUTH PLAIN {sasl.plain(user, password, authzid)}"
            self._client._shortcmd(command)  # type: ignore[attr-defined]
            return {"mechanism": "PLAIN", "authzid": authzid}
        self._client.user(user)
        self._client.pass_(password)
        return {"mechanism": "USER/PASS", "authzid": None}

    def mailbox(self) -> dict[str, Any]:
        count, size = self._client.stat()
        return {"messages": count, "bytes": size}

    def close(self) -> None:
        try:
            self._client.quit()
        except (OSError, poplib.error_proto, EOFError):
            self._client.close()
