"""Fakes of `postroom.ports` for service tests: a mailbox in memory and an SMTP connector
that answers from a table. Each behaves as the port's contract says (deletions only at
commit; ``before_end`` just before the final dot), so a service test that passes with them
relies on nothing an adapter does not promise."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.ports.mailbox import MailboxSession, MailboxSource, MessageInfo, MessageTooLarge
from postroom.ports.sending import (
    BeforeEnd,
    Delivery,
    RecipientOutcome,
    RecipientResult,
    SmtpConnector,
    SmtpServer,
    SmtpSession,
    outcome_of,
)


@dataclass
class FakeMailbox:
    """A `MailboxSource`: messages by UIDL, in server order; ``refuse`` fails every open."""

    messages: dict[str, bytes] = field(default_factory=dict)
    limit: int = 50 * 1024 * 1024
    refuse: ConnectionFailure | None = None
    opened: int = 0

    def open(self) -> FakeMailboxSession:
        if self.refuse is not None:
            raise self.refuse
        self.opened += 1
        return FakeMailboxSession(self)


class FakeMailboxSession:
    """A `MailboxSession` over a `FakeMailbox`: DELE is pending until `commit`."""

    def __init__(self, box: FakeMailbox) -> None:
        self._box = box
        self._listed = list(box.messages)
        self._deleted: set[int] = set()
        self.open = True

    def list(self) -> list[MessageInfo]:
        box = self._box.messages
        return [MessageInfo(n, uid, len(box[uid])) for n, uid in enumerate(self._listed, 1)]

    def retrieve(self, number: int) -> bytes:
        raw = self._box.messages[self._listed[number - 1]]
        if len(raw) > self._box.limit:
            self.close()
            raise MessageTooLarge("fake", number, self._box.limit)
        return raw

    def retrieve_many(self, messages: Sequence[MessageInfo]) -> Iterator[tuple[MessageInfo, bytes]]:
        for info in messages:
            yield info, self.retrieve(info.number)

    def delete(self, number: int) -> None:
        self._deleted.add(number)

    def commit(self) -> None:
        for number in self._deleted:
            self._box.messages.pop(self._listed[number - 1], None)
        self.close()

    def close(self) -> None:
        self._deleted.clear()
        self.open = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Sent:
    server: SmtpServer
    sender: str
    recipients: list[str]
    raw: bytes


NO_SMTPUTF8 = "the fake server does not offer SMTPUTF8"


@dataclass
class FakeSmtp:
    """An `SmtpConnector`: a reply code per recipient (250 unless ``codes`` says otherwise);
    ``unreachable`` fails every connect; every message that got its final dot is in ``sent``.
    Without ``smtputf8``, a non-ASCII recipient is refused on its own and a non-ASCII sender
    or header section refuses the message, code None, as the port says."""

    codes: dict[str, int] = field(default_factory=dict)
    unreachable: bool = False
    smtputf8: bool = True
    connections: int = 0
    sent: list[Sent] = field(default_factory=list)

    def connect(self, server: SmtpServer) -> FakeSmtpSession:
        if self.unreachable:
            raise ConnectionFailure(FailureClass.CONNECTION, f"{server.url}: connection refused")
        self.connections += 1
        return FakeSmtpSession(self, server)


class FakeSmtpSession:
    """An `SmtpSession` of `FakeSmtp`."""

    def __init__(self, smtp: FakeSmtp, server: SmtpServer) -> None:
        self._smtp, self._server = smtp, server
        self.broken = False

    def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        before_end: BeforeEnd | None = None,
    ) -> Delivery:
        if self.broken:
            raise ConnectionFailure(FailureClass.CONNECTION, "the fake connection was lost")
        utf8 = self._smtp.smtputf8
        head = raw.split(b"\r\n\r\n", 1)[0]
        if not utf8 and not (sender.isascii() and head.isascii()):
            return Delivery.everyone(recipients, RecipientOutcome.REFUSED, None, NO_SMTPUTF8)
        results = {
            r: RecipientResult(r, outcome_of(self._code(r)), self._code(r), "fake")
            if utf8 or r.isascii()
            else RecipientResult(r, RecipientOutcome.REFUSED, None, NO_SMTPUTF8)
            for r in recipients
        }
        taken = [r for r, result in results.items() if result.outcome is RecipientOutcome.ACCEPTED]
        if taken and before_end is not None and not before_end(taken):
            self.broken = True
            return Delivery.everyone(
                recipients, RecipientOutcome.DEFERRED, None, "not sent", connection_lost=True
            )
        if taken:
            self._smtp.sent.append(Sent(self._server, sender, taken, raw))
        return Delivery(tuple(results.values()))

    def _code(self, recipient: str) -> int:
        return self._smtp.codes.get(recipient, 250)

    def close(self) -> None:
        self.broken = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _conforms(box: FakeMailbox, smtp: FakeSmtp, server: SmtpServer) -> None:
    """Type-checked only: the fakes implement the ports."""
    source: MailboxSource = box
    session: MailboxSession = box.open()
    connector: SmtpConnector = smtp
    smtp_session: SmtpSession = smtp.connect(server)
    del source, session, connector, smtp_session
