"""An SMTP client connection (RFC 5321) reused for a batch: one transaction per message.

Where the server offers PIPELINING (RFC 2920) a message's RSET (from the second message
on), MAIL FROM, RCPT TOs and DATA go out together and their replies are read after, so a
message costs two round trips (that group, then the content and its dot) instead of four.

One `SmtpConnection` sends many messages: each is one transaction (MAIL,
RCPT per recipient, DATA) and the connection is reset with RSET before the
next one (RFC 5321 §4.1.1.5), so a transaction that ended half-way never
leaks into the next.  How it was opened (TLS, AUTH) is `postroom.outbound.opening`.

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

import logging
import smtplib
from types import TracebackType
from typing import Self

from postroom import failpoints
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.outbound.envelope import plan
from postroom.outbound.opening import close_quietly, open_client, translate, where
from postroom.outbound.wire import dot_stuffed, reply_text
from postroom.ports.sending import (
    BeforeEnd,
    Delivery,
    RecipientOutcome,
    RecipientResult,
    SmtpServer,
    outcome_of,
)

log = logging.getLogger(__name__)

_OK = 250
_SERVICE_CLOSING = 421
"""RFC 5321 §3.8: the server is closing the channel; the connection is gone."""
_START_MAIL_INPUT = 354


class _HookFailed(Exception):
    """``before_end`` raised: carried past the handler of library errors, then re-raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class SmtplibConnector:
    """The `postroom.ports.sending.SmtpConnector` of this adapter."""

    def connect(self, server: SmtpServer) -> SmtpConnection:
        return SmtpConnection.open(server)


class SmtpConnection:
    """An open, secured and authenticated session; use it as a context manager.

    Implements `postroom.ports.sending.SmtpSession`."""

    def __init__(self, server: SmtpServer, client: smtplib.SMTP) -> None:
        self.server = server
        self._client = client
        self._used = False
        self.broken = False

    @classmethod
    def open(cls, server: SmtpServer) -> SmtpConnection:
        return cls(server, open_client(server))

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
            raise ConnectionFailure(FailureClass.CONNECTION, "the SMTP connection was lost")
        try:
            if self._used and not self._client.has_extn("pipelining"):
                self._reset()  # with PIPELINING it goes with the next envelope (`_envelope`)
                self._used = False
            return self._transaction(sender, recipients, raw, before_end)
        except _HookFailed as failed:
            raise failed.error from None
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            self.broken = True
            failure = translate(exc, where(self.server))
            log.info("SMTP connection lost during a transaction: %s", failure)
            return Delivery.everyone(
                recipients, RecipientOutcome.DEFERRED, None, str(failure), connection_lost=True
            )

    def _transaction(
        self, sender: str, recipients: list[str], raw: bytes, before_end: BeforeEnd | None
    ) -> Delivery:
        client = self._client
        envelope = plan(
            sender,
            recipients,
            raw,
            smtputf8=client.has_extn("smtputf8"),
            eightbitmime=client.has_extn("8bitmime"),
        )
        if envelope.problem is not None:
            return Delivery.everyone(recipients, RecipientOutcome.REFUSED, None, envelope.problem)
        if not envelope.recipients:
            return Delivery(tuple(envelope.refused[a] for a in _once(recipients)))
        # smtplib encodes commands with this; RSET puts it back to ASCII.
        client.command_encoding = "utf-8" if envelope.utf8 else "ascii"
        reset, self._used = self._used, True
        parameters = "".join(f" {p}" for p in envelope.parameters)
        # Written here rather than by smtplib's mail()/rcpt(): their quoteaddr() reparses
        # an address, and an address goes out exactly as it was given or not at all.
        commands = [f"MAIL FROM:<{sender}>{parameters}"]
        commands += [f"RCPT TO:<{address}>" for address in envelope.recipients]
        replies, data = self._envelope(commands, reset)
        code, reply = replies[0]
        if code >= 300:
            self._no_content(data)
            return self._whole(recipients, envelope.refused, code, reply, "MAIL FROM")
        results = dict(envelope.refused)
        for address, (rcode, rreply) in zip(envelope.recipients, replies[1:], strict=False):
            if rcode == _SERVICE_CLOSING:
                return self._whole(recipients, envelope.refused, rcode, rreply, "RCPT TO")
            results[address] = RecipientResult(
                address, outcome_of(rcode), rcode, reply_text(rreply)
            )
        taken = [a for a in _once(recipients) if results[a].outcome is RecipientOutcome.ACCEPTED]
        if not taken:
            self._no_content(data)
            return Delivery(tuple(results[a] for a in _once(recipients)), self.broken)
        failpoints.hit("smtp-envelope-accepted")
        answer = self._data(raw, taken, before_end, data)
        if answer is None:
            return Delivery.everyone(
                recipients,
                RecipientOutcome.DEFERRED,
                None,
                "not sent: stopped before the end of DATA",
                connection_lost=True,
            )
        dcode, dreply = answer
        if dcode == _SERVICE_CLOSING:
            self.broken = True
        final = RecipientResult("", outcome_of(dcode), dcode, reply_text(dreply))
        for address in taken:
            results[address] = RecipientResult(address, final.outcome, final.code, final.reply)
        return Delivery(tuple(results[a] for a in _once(recipients)), self.broken)

    def _envelope(
        self, commands: list[str], reset: bool
    ) -> tuple[list[tuple[int, bytes]], tuple[int, bytes] | None]:
        """MAIL FROM and the RCPT TOs, each with the server's reply, in order; and the
        reply to DATA when it went with them.

        Where the server offers PIPELINING (RFC 2920 §3.1) they go out in one write,
        after the RSET that ends the previous transaction (``reset``) and before DATA,
        the one command that must end a group, and the replies are read after: one round
        trip instead of one per command. A server refuses DATA when no recipient was
        accepted (RFC 2920 §3.1), so no content follows a refused envelope (`_no_content`).
        Otherwise one command, one reply, and DATA is sent once a recipient is known to
        be accepted. A 421 ends the reading: the server closes the connection and answers
        nothing more. A refused RSET is a connection that cannot be used (raised).
        """
        client = self._client
        if not client.has_extn("pipelining"):
            replies = []
            for command in commands:
                client.putcmd(command)
                replies.append(client.getreply())
                if replies[-1][0] == _SERVICE_CLOSING:
                    break
            return replies, None
        group = ["RSET", *commands, "DATA"] if reset else [*commands, "DATA"]
        client.send("".join(f"{command}\r\n" for command in group))
        if reset:
            code, reply = client.getreply()
            if code != _OK:
                raise smtplib.SMTPResponseException(code, reply)
        replies = []
        for _ in commands:
            replies.append(client.getreply())
            if replies[-1][0] == _SERVICE_CLOSING:
                self.broken = True
                return replies, None
        return replies, client.getreply()

    def _no_content(self, data: tuple[int, bytes] | None) -> None:
        """No message follows this envelope: a server that answered the pipelined DATA with
        354 all the same (RFC 2920 §3.1 says it must refuse) waits for content, and only
        a dropped connection ends DATA without it."""
        if data is not None and data[0] == _START_MAIL_INPUT:
            self._drop()

    def _data(
        self,
        raw: bytes,
        taken: list[str],
        before_end: BeforeEnd | None,
        data: tuple[int, bytes] | None,
    ) -> tuple[int, bytes] | None:
        """DATA (unless it was pipelined: ``data`` is its reply), the content,
        ``before_end``, the final dot (RFC 5321 §4.1.1.4, §4.5.2).

        None when ``before_end`` said no: the connection is dropped without the
        dot, which is the only way to abandon DATA.
        """
        client = self._client
        if data is None:
            client.putcmd("data")
            data = client.getreply()
        code, reply = data
        if code != _START_MAIL_INPUT:  # the DATA command itself was refused
            return code, reply
        client.send(dot_stuffed(raw))
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
        close_quietly(self._client, quit_first=False)

    def _whole(
        self,
        recipients: list[str],
        refused: dict[str, RecipientResult],
        code: int,
        reply: bytes,
        command: str,
    ) -> Delivery:
        """The same reply for every recipient, except those refused before asking, which
        keep their own reason."""
        if code == _SERVICE_CLOSING:
            self.broken = True
        text = f"{command}: {reply_text(reply)}"
        answer = RecipientResult("", outcome_of(code), code, text)
        results = tuple(
            refused.get(a) or RecipientResult(a, answer.outcome, code, text)
            for a in _once(recipients)
        )
        return Delivery(results, connection_lost=self.broken)

    def _reset(self) -> None:
        code, reply = self._client.rset()
        if code != _OK:
            raise smtplib.SMTPResponseException(code, reply)

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """QUIT politely when the connection still works; never raises."""
        close_quietly(self._client, quit_first=not self.broken)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _once(recipients: list[str]) -> list[str]:
    """Each recipient once, in order: a `Delivery` has one result per address."""
    return list(dict.fromkeys(recipients))
