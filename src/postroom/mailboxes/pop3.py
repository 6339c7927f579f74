"""POP3 and POP3S mailboxes (RFC 1939), secured with STLS (RFC 2595) or implicit TLS.

A small client of our own rather than ``poplib``: ``poplib`` reads messages
line by line with a 2048-byte line limit, has no SASL, and raises its own
exceptions from deep inside.  Here every byte goes through
`pop3_wire.ResponseReader`, and every failure leaves this module as a
`ConnectionFailure` whose `FailureClass` an operator can act on.

Logins: USER/PASS, SASL PLAIN (with an authorization identity) or LOGIN, and an OAuth2
access token by SASL XOAUTH2 or OAUTHBEARER (``mechanism``; ``password`` is then the token).

Security: a ``pop3://`` URL requires STLS and refuses to log in if the
server does not offer it; only ``?tls=none`` allows cleartext.  TLS always
verifies the chain and host name (`connection.tls_context`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from postroom.errors import UserError
from postroom.mailboxes.pop3_auth import (
    TOKEN_MECHANISMS,
    Capabilities,
    choose_mechanism,
    pop3_credentials,
)
from postroom.mailboxes.pop3_channel import Pop3Channel, ServerError
from postroom.mailboxes.pop3_session import Pop3Session
from postroom.net.connection import (
    ConnectionFailure,
    FailureClass,
    MailUrl,
    Security,
    TlsProblem,
    tls_context,
)
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

# RFC 2449 §8 / RFC 3206 response codes that say the login itself was fine
# but the mailbox cannot be used right now: not an authentication failure.
_NOT_CREDENTIALS = frozenset({"SYS/TEMP", "SYS/PERM", "IN-USE", "LOGIN-DELAY"})


class Pop3MailboxSource:
    """A POP3/POP3S mailbox: where it is, how to log in, how long to wait."""

    def __init__(
        self,
        url: MailUrl,
        password: str,
        *,
        authzid: str | None = None,
        mechanism: AuthMechanism = AuthMechanism.AUTO,
        ca_file: Path | str | None = None,
        timeout: float = 30.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        if url.protocol != "pop3":
            raise UserError(f"{url} is not a POP3 URL: use pop3:// or pop3s://")
        if not url.user:
            raise UserError(f"{url} names no user: write pop3s://USER@HOST")
        self.url = url
        self.mechanism = mechanism
        self.ca_file = ca_file
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        """Octets of one message on the wire at most: a longer RETR raises MessageTooLarge."""
        self._credentials = pop3_credentials(url.user, password, authzid or None)
        if authzid and mechanism in (AuthMechanism.LOGIN, AuthMechanism.USER, *TOKEN_MECHANISMS):
            # Refuse a configuration that cannot work before any connection.
            raise UserError(f"an authorization identity needs SASL PLAIN, not {mechanism.value}")

    def __repr__(self) -> str:
        authzid = f" as {self._credentials.authzid}" if self._credentials.authzid else ""
        return f"<Pop3MailboxSource {self.url}{authzid} auth={self.mechanism.value}>"

    def open(self) -> Pop3Session:
        """Connect, secure, authenticate; the session is ready for `Pop3Session.list`."""
        channel = Pop3Channel.connect(
            self.url.host,
            self.url.port,
            where=str(self.url),
            timeout=self.timeout,
            tls=tls_context(self.ca_file) if self.url.security is not Security.NONE else None,
            implicit_tls=self.url.security is Security.IMPLICIT,
        )
        try:
            caps = self._start(channel)
        except BaseException:
            channel.abandon()
            raise
        return Pop3Session(
            channel,
            pipelining=caps.offers("PIPELINING"),
            max_message_bytes=self.max_message_bytes,
        )

    def _start(self, channel: Pop3Channel) -> Capabilities:
        """Greeting, CAPA, STLS, CAPA again, login; returns the capabilities that count."""
        channel.greeting()
        caps = channel.capabilities()
        if self.url.security is Security.STARTTLS:
            # RFC 2595 §4: STLS is advertised in CAPA; without it there is no
            # secure way in, and we never fall back to cleartext.
            if caps.known and not caps.offers("STLS"):
                raise ConnectionFailure(
                    FailureClass.TLS,
                    f"{self.url}: server does not offer STLS; cleartext is refused "
                    "(use pop3s://, or ?tls=none to allow cleartext)",
                    TlsProblem.NOT_OFFERED,
                )
            channel.starttls()
            # RFC 2595 §4: capabilities learned before TLS must be discarded.
            caps = channel.capabilities()
        mechanism = choose_mechanism(self.mechanism, caps, self._credentials)
        try:
            channel.log_in(mechanism, self._credentials)
        except ServerError as exc:
            raise self._login_refused(exc, mechanism) from None
        log.debug("%s: logged in with %s", self.url, mechanism.value)
        return caps

    def _login_refused(self, exc: ServerError, mechanism: AuthMechanism) -> ConnectionFailure:
        text = exc.text.replace(self._credentials.password.reveal(), "***")
        as_ = f" as {self._credentials.authzid}" if self._credentials.authzid else ""
        where = f"{self.url}{as_} ({mechanism.value})"
        if exc.response_code in _NOT_CREDENTIALS:
            return ConnectionFailure(FailureClass.PROTOCOL, f"{where}: {exc.shown}: {text}")
        fix = (
            "; get a new access token (it may have expired or been revoked, or be another user's)"
            if mechanism in TOKEN_MECHANISMS
            else ""
        )
        return ConnectionFailure(
            FailureClass.AUTHENTICATION, f"{where}: login refused: {text or '-ERR'}{fix}"
        )
