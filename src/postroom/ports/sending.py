"""The port the outbox sender drives: an SMTP server to connect to, and what it answered.

RFC 5321 §4.2.1: a reply code 2yz is success, 4yz a transient failure (try
again later, the same command may succeed), 5yz a permanent one (do not
repeat it unchanged).  The sender decides retries from these outcomes only.

A service describes the server (`SmtpServer`), asks an `SmtpConnector` for a session and
sends through it; the adapter (`postroom.outbound`) raises
`postroom.net.connection.ConnectionFailure` for a server that cannot be used and returns a
`Delivery` for every message the server answered. No ``smtplib``, ``ssl`` or ``socket``
exception crosses this port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from postroom.errors import UserError
from postroom.net.connection import MailUrl
from postroom.net.sasl import Credentials


class RecipientOutcome(StrEnum):
    """What the server said for one recipient (the values of `RecipientStatus` it can reach)."""

    ACCEPTED = "accepted"
    """The server took responsibility for this recipient (250 after DATA)."""
    DEFERRED = "deferred"
    """A 4xx reply, a lost connection or a timeout: worth trying again."""
    REFUSED = "refused"
    """A 5xx reply, or an address this server cannot be given (a non-ASCII one without
    SMTPUTF8): trying again unchanged will not help."""


def outcome_of(code: int) -> RecipientOutcome:
    """A reply code's outcome: only a 5yz refuses for good.

    A code that is not a reply to the command (unreadable, ``-1``, or 1yz/3yz where a
    completion was due) tells nothing certain: after the final dot the server may well have
    taken the message, so it is not marked failed; it is tried again, as after a connection
    lost at that point (services/send.py)."""
    if 200 <= code < 300:
        return RecipientOutcome.ACCEPTED
    if 500 <= code < 600:
        return RecipientOutcome.REFUSED
    return RecipientOutcome.DEFERRED


@dataclass(frozen=True, slots=True)
class RecipientResult:
    address: str
    outcome: RecipientOutcome
    code: int | None
    """The server's reply code, or None when no reply came: the connection was lost, or the
    address was refused before it was offered (``reply`` says why)."""
    reply: str

    def describe(self) -> str:
        code = f"{self.code} " if self.code is not None else ""
        return f"{self.address}: {code}{self.reply}".strip()


@dataclass(frozen=True, slots=True)
class Delivery:
    """The result of one transaction (MAIL, RCPT…, DATA) for one message."""

    recipients: tuple[RecipientResult, ...]
    connection_lost: bool = False
    """The connection cannot be used for the next message."""

    def by_outcome(self, outcome: RecipientOutcome) -> list[RecipientResult]:
        return [r for r in self.recipients if r.outcome is outcome]

    @property
    def accepted(self) -> list[RecipientResult]:
        return self.by_outcome(RecipientOutcome.ACCEPTED)

    @property
    def deferred(self) -> list[RecipientResult]:
        return self.by_outcome(RecipientOutcome.DEFERRED)

    @property
    def refused(self) -> list[RecipientResult]:
        return self.by_outcome(RecipientOutcome.REFUSED)

    @classmethod
    def everyone(
        cls,
        recipients: list[str],
        outcome: RecipientOutcome,
        code: int | None,
        reply: str,
        *,
        connection_lost: bool = False,
    ) -> Delivery:
        """The same answer for every recipient (a refused MAIL FROM or DATA, a lost link)."""
        results = tuple(RecipientResult(r, outcome, code, reply) for r in recipients)
        return cls(results, connection_lost)


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where an SMTP server is and how to log in (no login: an open relay for our network)."""

    url: MailUrl
    login: Credentials | None = None
    ca_file: Path | str | None = None
    timeout: float = 30.0
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if self.url.protocol != "smtp":
            raise UserError(f"{self.url} is not an SMTP URL: use smtps://, submission://, smtp://")


BeforeEnd = Callable[[list[str]], bool]
"""Called with the accepted recipients just before DATA's final dot; False: do not send."""


class SmtpSession(Protocol):
    """An open, secured and authenticated SMTP session; use it as a context manager."""

    broken: bool
    """The connection was lost: it must not be used for another message."""

    def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        before_end: BeforeEnd | None = None,
    ) -> Delivery:
        """One transaction (MAIL FROM, RCPT TO each, DATA). ``before_end(accepted)`` runs just
        before the final dot; False drops the connection without it (nothing is sent).

        A non-ASCII address or UTF-8 header fields go in an SMTPUTF8 transaction (RFC 6531)
        where the server offers it; where it does not, such a recipient is refused on its
        own, and such a sender or header fields refuse the message, with code None and the
        reason (never an encoded or respelled address). What concerns one message or one
        recipient is its result and leaves the session usable for the next message; only a
        lost connection (or a 421) sets `broken`."""
        ...

    def close(self) -> None:
        """QUIT when the connection still works; never raises."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SmtpConnector(Protocol):
    """Opens sessions to SMTP servers (built by `postroom.bootstrap`; a fake in tests)."""

    def connect(self, server: SmtpServer) -> SmtpSession:
        """Connect, secure and log in; raises `ConnectionFailure`."""
        ...
