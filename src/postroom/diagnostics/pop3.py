"""POP3 for the check (RFC 1939, STLS: RFC 2595, CAPA: RFC 2449, AUTH: RFC 5034).

The check speaks through the mailbox adapter's own client (`postroom.mailboxes.pop3_channel`),
so a channel's check and its poll send the same bytes and read answers the same way. The
check reports in its own words, though: a refusal is quoted as the server said it, and a
transport error reaches `failure.explain` as the error it was, not as the poll's summary.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from postroom.diagnostics.failure import ServerSaid, StepFailure
from postroom.mailboxes.pop3_auth import TOKEN_MECHANISMS, Capabilities, pop3_credentials
from postroom.mailboxes.pop3_channel import Pop3Channel, ServerError, UnexpectedResponse
from postroom.mailboxes.pop3_wire import ServerClosed
from postroom.net.connection import ConnectionFailure
from postroom.net.sasl import AuthMechanism


class Pop3Session:
    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        tls_up = isinstance(sock, ssl.SSLSocket)
        self._channel = Pop3Channel(sock, where=host, host=host, tls_up=tls_up)
        with _reported():
            self.greeting = f"+OK {self._channel.greeting()}".rstrip()
        self._caps = Capabilities.none()

    def capabilities(self) -> list[str]:
        with _reported():
            self._caps = self._channel.capabilities()
        if not self._caps.known:
            raise ServerSaid("-ERR CAPA not supported by server")
        return list(self._caps.lines)

    def offers_starttls(self) -> bool:
        return self._caps.offers("STLS")

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        with _reported():
            self._channel.command(b"STLS", shown="STLS")
        return self._channel.secure(context)

    def authenticate(
        self,
        user: str,
        password: str,
        authzid: str | None,
        mechanism: AuthMechanism = AuthMechanism.AUTO,
    ) -> dict[str, Any]:
        if mechanism in TOKEN_MECHANISMS:
            return self._oauth(user, password, mechanism)
        if authzid or "PLAIN" in self._caps.sasl:
            if "PLAIN" not in self._caps.sasl:
                raise StepFailure(
                    "the server does not offer SASL PLAIN, which an authorization identity needs",
                    "drop --authzid, or ask the server's administrator to enable AUTH PLAIN",
                )
            mechanism, shown = AuthMechanism.PLAIN, "PLAIN"
        else:
            mechanism, shown = AuthMechanism.USER, "USER/PASS"
        with _reported():
            self._channel.log_in(mechanism, pop3_credentials(user, password, authzid))
        return {
            "mechanism": shown,
            "authzid": authzid if mechanism is AuthMechanism.PLAIN else None,
        }

    def _oauth(self, user: str, token: str, mechanism: AuthMechanism) -> dict[str, Any]:
        """An OAuth2 access token (``--password-env`` names the variable that holds it)."""
        name = mechanism.sasl_name
        if self._caps.known and name not in self._caps.sasl:
            raise StepFailure(
                f"the server does not offer SASL {name}",
                "use the mechanism the server lists under capabilities, or a password login",
            )
        try:
            with _reported():
                self._channel.log_in(mechanism, pop3_credentials(user, token))
        except ServerSaid as exc:
            raise StepFailure(
                f"the server refused the access token: {str(exc)[:300]}",
                "the token may have expired, been revoked, or lack the mail scope "
                "(Microsoft: POP.AccessAsUser.All; Google: https://mail.google.com/): "
                "get a new one; the user in the URL must be the token's",
            ) from None
        return {"mechanism": f"AUTH {name}", "authzid": None}

    def mailbox(self) -> dict[str, Any]:
        """STAT (RFC 1939 §5): ``+OK count octets``."""
        with _reported():
            text = self._channel.command(b"STAT", shown="STAT")
        count, size = text.split()[:2]
        return {"messages": int(count), "bytes": int(size)}

    def close(self) -> None:
        try:
            self._channel.command(b"QUIT", shown="QUIT")
        except (ServerError, ConnectionFailure):
            pass
        finally:
            self._channel.abandon()


@contextmanager
def _reported() -> Iterator[None]:
    """The client's exceptions as the check explains them: ``-ERR`` and other answers as
    the server said them, a transport failure as the error under it."""
    try:
        yield
    except ServerError as exc:
        raise ServerSaid(f"-ERR {exc.text}".rstrip()) from None
    except ConnectionFailure as exc:
        cause = exc.__cause__
        if isinstance(cause, UnexpectedResponse):
            raise ServerSaid(cause.line) from None
        if isinstance(cause, ServerClosed):
            raise EOFError(str(cause)) from None
        if isinstance(cause, OSError | EOFError | ValueError):
            raise cause from None
        raise
