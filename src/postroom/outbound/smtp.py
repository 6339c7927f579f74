"""An SMTP client connection (RFC 5321) with a security mode, reused for a batch.

``smtps://`` is TLS from the first byte (RFC 8314); ``submission://`` and
``smtp://`` upgrade with STARTTLS (RFC 3207) and refuse to go on in
cleartext unless the URL says ``?tls=none``.  TLS always verifies the
chain and the host name.  AUTH follows `postroom.outbound.auth`.

One `SmtpConnection` sends many messages: each is one transaction (MAIL,
RCPT per recipient, DATA) and the connection is reset with RSET before the
next one (RFC 5321 §4.1.1.5), so a transaction that ended half-way never
leaks into the next.

The server takes responsibility for a message only when it answers the
final ``.`` of DATA (RFC 5321 §4.1.1.4, §6.1).  The caller's ``before_end``
hook runs just before that dot, once the envelope was accepted and the
content sent: the outbox marks the message ``delivering`` there, so a
process stopped anywhere earlier leaves a message that was certainly not
taken.  A hook that says no (or raises) drops the connection without the
dot: the server then discards the transaction.  A reply the server gave is a `Delivery`; a server
that cannot be used raises `ConnectionFailure`.  No ``smtplib``, ``ssl`` or
``socket`` exception leaves this module.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from postroom import failpoints
from postroom.errors import UserError
from postroom.net.connection import (
    ConnectionFailure,
    FailureKind,
    MailUrl,
    Security,
    TlsProblem,
    classify,
    tls_context,
)
from postroom.outbound import auth
from postroom.outbound.auth import Login
from postroom.outbound.results import Delivery, Outcome, RecipientResult, outcome_of

log = logging.getLogger(__name__)

_SERVICE_CLOSING = 421
"""RFC 5321 §3.8: the server is closing the channel; the connection is gone."""
_START_MAIL_INPUT = 354
_LINE_START_DOT = re.compile(rb"^\.", re.MULTILINE)

BeforeEnd = Callable[[list[str]], bool]
"""Called with the accepted recipients just before DATA's final dot; False: do not send."""


class _HookFailed(Exception):
    """``before_end`` raised: carried past the handler of library errors, then re-raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where an SMTP server is and how to log in (no login: an open relay for our network)."""

    url: MailUrl
    login: Login | None = None
    ca_file: Path | str | None = None
    timeout: float = 30.0
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if self.url.protocol != "smtp":
            raise UserError(f"{self.url} is not an SMTP URL: use smtps://, submission://, smtp://")

    def connect(self) -> SmtpConnection:
        return SmtpConnection.open(self)


class SmtpConnection:
    """An open, secured and authenticated session; use it as a context manager."""

    def __init__(self, server: SmtpServer, client: smtplib.SMTP) -> None:
        self.server = server
        self._client = client
        self._used = False
        self.broken = False

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, server: SmtpServer) -> SmtpConnection:
        url = server.url
        where = f"{url.host}:{url.port}"
        client: smtplib.SMTP | None = None
        try:
            if url.security is Security.IMPLICIT:
                client = smtplib.SMTP_SSL(
                    url.host,
                    url.port,
                    local_hostname=server.local_hostname,
                    timeout=server.timeout,
                    context=tls_context(server.ca_file),
                )
            else:
                client = smtplib.SMTP(
                    url.host, url.port, local_hostname=server.local_hostname, timeout=server.timeout
                )
            _expect_ok(client.ehlo(), "EHLO")
            if url.security is Security.STARTTLS:
                _starttls(client, server)
            if server.login is not None:
                _authenticate(client, server.login)
        except ConnectionFailure:
            if client is not None:
                _close_quietly(client)
            raise
        except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
            if client is not None:
                _close_quietly(client)
            raise _translate(exc, where) from exc
        return cls(server, client)

    # ------------------------------------------------------------------ sending
    def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        before_end: BeforeEnd | None = None,
    ) -> Delivery:
        """One transaction: MAIL FROM, RCPT TO for each recipient, DATA.

        Returns what the server said for each recipient; raises nothing for
        replies.  After a lost connection `broken` is set and the connection
        must not be used again.  ``before_end(accepted)`` is called with the
        recipients RCPT accepted, just before the final dot; when it returns
        False the message is not sent (every recipient deferred, connection
        dropped), and what it raises is raised after the connection is dropped.
        """
        if self.broken:
            raise ConnectionFailure(FailureKind.CONNECTION, "the SMTP connection was lost")
        try:
            if self._used:
                self._reset()
            self._used = True
            return self._transaction(sender, recipients, raw, before_end)
        except _HookFailed as failed:
            raise failed.error from None
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            self.broken = True
            failure = _translate(exc, f"{self.server.url.host}:{self.server.url.port}")
            log.info("SMTP connection lost during a transaction: %s", failure)
            return Delivery.everyone(
                recipients, Outcome.DEFERRED, None, str(failure), connection_lost=True
            )

    def _transaction(
        self, sender: str, recipients: list[str], raw: bytes, before_end: BeforeEnd | None
    ) -> Delivery:
        client = self._client
        options = ["BODY=8BITMIME"] if _is_8bit(raw) and client.has_extn("8bitmime") else []
        code, reply = client.mail(sender, options)
        if code >= 300:
            return self._whole(recipients, code, reply, "MAIL FROM")
        results: dict[str, RecipientResult] = {}
        for address in recipients:
            rcode, rreply = client.rcpt(address)
            if rcode == _SERVICE_CLOSING:
                return self._whole(recipients, rcode, rreply, "RCPT TO")
            results[address] = RecipientResult(address, outcome_of(rcode), rcode, _text(rreply))
        taken = [a for a, r in results.items() if r.outcome is Outcome.ACCEPTED]
        if not taken:
            return Delivery(tuple(results.values()))
        failpoints.hit("smtp-envelope-accepted")
        answer = self._data(raw, taken, before_end)
        if answer is None:
            return Delivery.everyone(
                recipients,
                Outcome.DEFERRED,
                None,
                "not sent: stopped before the end of DATA",
                connection_lost=True,
            )
        dcode, dreply = answer
        if dcode == _SERVICE_CLOSING:
            self.broken = True
        final = RecipientResult("", outcome_of(dcode), dcode, _text(dreply))
        for address in taken:
            results[address] = RecipientResult(address, final.outcome, final.code, final.reply)
        return Delivery(tuple(results.values()), self.broken)

    def _data(
        self, raw: bytes, taken: list[str], before_end: BeforeEnd | None
    ) -> tuple[int, bytes] | None:
        """DATA, the content, ``before_end``, the final dot (RFC 5321 §4.1.1.4, §4.5.2).

        None when ``before_end`` said no: the connection is dropped without the
        dot, which is the only way to abandon DATA.
        """
        client = self._client
        client.putcmd("data")
        code, reply = client.getreply()
        if code != _START_MAIL_INPUT:  # the DATA command itself was refused
            return code, reply
        client.send(_dot_stuffed(raw))
        if before_end is not None:
            try:
                go_on = before_end(taken)
            except Exception as exc:
                self._drop()
                raise _HookFailed(exc) from exc
            if not go_on:
                self._drop()
                return None
        failpoints.hit("smtp-before-final-dot")
        client.send(b".\r\n")
        return client.getreply()

    def _drop(self) -> None:
        self.broken = True
        _close_quietly(self._client, quit_first=False)

    def _whole(self, recipients: list[str], code: int, reply: bytes, command: str) -> Delivery:
        if code == _SERVICE_CLOSING:
            self.broken = True
        text = f"{command}: {_text(reply)}"
        return Delivery.everyone(
            recipients, outcome_of(code), code, text, connection_lost=self.broken
        )

    def _reset(self) -> None:
        code, reply = self._client.rset()
        if code != 250:
            raise smtplib.SMTPResponseException(code, reply)

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """QUIT politely when the connection still works; never raises."""
        if self.broken:
            _close_quietly(self._client, quit_first=False)
        else:
            _close_quietly(self._client)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------- helpers
def _starttls(client: smtplib.SMTP, server: SmtpServer) -> None:
    if not client.has_extn("starttls"):
        raise ConnectionFailure(
            FailureKind.TLS,
            f"{server.url.host}:{server.url.port} does not offer STARTTLS; refusing to send "
            "in cleartext (add ?tls=none to the URL to allow it)",
            TlsProblem.NOT_OFFERED,
        )
    code, reply = client.starttls(context=tls_context(server.ca_file))
    if code != 220:
        raise ConnectionFailure(
            FailureKind.TLS, f"STARTTLS refused: {code} {_text(reply)}", TlsProblem.NOT_OFFERED
        )
    _expect_ok(client.ehlo(), "EHLO after STARTTLS")


def _authenticate(client: smtplib.SMTP, login: Login) -> None:
    if not client.has_extn("auth"):
        raise ConnectionFailure(
            FailureKind.AUTHENTICATION,
            "the server offers no AUTH: remove the user from the URL to send without logging in",
        )
    mechanism = auth.choose(auth.offered(client.esmtp_features["auth"]), login)
    answer = auth.responder(mechanism, login)
    # RFC 4954 §4: the initial response goes with the AUTH command.
    code, reply = client.docmd("AUTH", f"{mechanism.value} {_b64(answer(None))}")
    rounds = 0
    while code == 334 and rounds < 3:
        rounds += 1
        code, reply = client.docmd(_b64(answer(base64.b64decode(reply))))
    if code != 235:
        kind = FailureKind.AUTHENTICATION if code in (535, 534, 530) else FailureKind.PROTOCOL
        who = f"{login.user} as {login.authzid}" if login.authzid else login.user
        raise ConnectionFailure(
            kind, f"AUTH {mechanism.value} for {who} refused: {code} {_text(reply)}"
        )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _expect_ok(answer: tuple[int, bytes], command: str) -> None:
    code, reply = answer
    if not 200 <= code < 300:
        raise ConnectionFailure(FailureKind.PROTOCOL, f"{command} refused: {code} {_text(reply)}")


def _translate(exc: Exception, where: str) -> ConnectionFailure:
    if isinstance(exc, ConnectionFailure):
        return exc
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ConnectionFailure(FailureKind.CONNECTION, f"{where}: server closed the connection")
    if isinstance(exc, smtplib.SMTPResponseException):
        return ConnectionFailure(
            FailureKind.PROTOCOL, f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}"
        )
    if isinstance(exc, smtplib.SMTPException):
        return ConnectionFailure(FailureKind.PROTOCOL, f"{where}: {exc}")
    return classify(exc, where)


def _close_quietly(client: smtplib.SMTP, *, quit_first: bool = True) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError, ValueError):
        if quit_first:
            client.quit()
    with contextlib.suppress(OSError):
        client.close()


def _raw(reply: bytes | str) -> bytes:
    return reply if isinstance(reply, bytes) else reply.encode("utf-8", "replace")


def _dot_stuffed(raw: bytes) -> bytes:
    """Lines starting with a dot get another (RFC 5321 §4.5.2); the content ends with CRLF."""
    stuffed = _LINE_START_DOT.sub(b"..", raw)
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def _is_8bit(raw: bytes) -> bool:
    return not raw.isascii()


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())
