"""An authenticated POP3 session in the TRANSACTION state (RFC 1939 §5).

DELE only marks a message; the server removes marked messages when it
enters the UPDATE state, which happens on QUIT and on nothing else
(RFC 1939 §6).  `Pop3Session.commit` sends QUIT; `Pop3Session.close` just
drops the connection, so the server keeps everything.

When the server advertises PIPELINING (RFC 2449 §6.6) a DELE is not sent on
its own: it travels in the same write as the next command (usually the next
RETR, or the QUIT), which saves one network round trip per message — the
round trip, not bandwidth, is what bounds POP3 throughput.  Deletions are
pending until QUIT either way, so holding one back a moment changes nothing
a caller can observe; a refused DELE is reported by the call that carried it.
With PIPELINING, `Pop3Session.retrieve_many` also keeps several RETRs in flight:
the server sends the next messages while the caller stores this one, so a
mailbox is no longer fetched at one message per round trip.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from postroom.mailboxes.pop3_channel import Pop3Channel, ServerError
from postroom.mailboxes.pop3_wire import MAX_BODY, TooLong, WireError, parse_listing
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.ports.mailbox import MessageInfo, MessageTooLarge

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Sent:
    """A command whose response has not been read yet."""

    seq: int
    shown: str
    body: bool
    number: int | None = None
    """The message a RETR asks for."""


class Pop3Session:
    """Implements `postroom.ports.mailbox.MailboxSession` over one `Pop3Channel`."""

    WINDOW = 16
    """RETRs in flight at most (`retrieve_many`)."""
    WINDOW_BYTES = 2 * 1024 * 1024
    """Octets (by LIST) in flight at most; the next message is always asked for."""

    def __init__(
        self, channel: Pop3Channel, *, pipelining: bool = False, max_message_bytes: int = MAX_BODY
    ) -> None:
        self._channel = channel
        self._pipelining = pipelining
        self.max_message_bytes = max_message_bytes
        """Octets of one RETR answer (as sent) at most; past it, `MessageTooLarge`."""
        self._pending: list[tuple[bytes, str]] = []
        self._sent: deque[_Sent] = deque()
        self._seq = 0

    def __repr__(self) -> str:
        state = "open" if self._channel.open else "closed"
        return f"<Pop3Session {self._channel.where} {state}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _protocol(self, error: ServerError) -> ConnectionFailure:
        return ConnectionFailure(
            FailureClass.PROTOCOL, f"{self._channel.where}: {error.shown} refused: {error.text}"
        )

    def _send(
        self, commands: Sequence[tuple[bytes, str, bool]], numbers: Sequence[int | None] = ()
    ) -> list[int]:
        """Send the held-back DELEs and ``commands`` (line, shown, has a body) in one write;
        return the sequence numbers of ``commands``, for `_read_through`. ``numbers`` names
        the message of each RETR among ``commands``."""
        ahead, self._pending = self._pending, []
        lines = [(line, shown, False) for line, shown in ahead] + list(commands)
        self._channel.send([(line, shown) for line, shown, _ in lines])
        named: list[int | None] = [None] * len(ahead)
        named += numbers or [None] * len(commands)
        seqs = []
        for (_, shown, body), number in zip(lines, named, strict=True):
            self._seq += 1
            self._sent.append(_Sent(self._seq, shown, body, number))
            seqs.append(self._seq)
        return seqs[len(ahead) :]

    def _read_through(self, seq: int) -> tuple[str, bytes]:
        """Read responses in order up to the one of command ``seq`` and return it. Earlier
        ones are checked (a refused DELE is raised here); the bodies before it belong to
        RETRs nobody waits for any more: dropped, refused or not, the messages stay on the
        server."""
        while True:
            sent = self._sent.popleft()
            try:
                limit = MAX_BODY if sent.number is None else self.max_message_bytes
                text, data = self._channel.read(sent.shown, body=sent.body, limit=limit)
            except ServerError as exc:
                if sent.seq == seq or not sent.body:
                    raise self._protocol(exc) from None
                continue
            except TooLong as exc:
                # The channel is closed already: this answer (and any behind it) is lost.
                self._sent.clear()
                self._pending = []
                if sent.number is None:
                    raise ConnectionFailure(
                        FailureClass.PROTOCOL, f"{self._channel.where}: {sent.shown}: {exc}"
                    ) from exc
                raise MessageTooLarge(self._channel.where, sent.number, exc.limit) from exc
            if sent.seq == seq:
                return text, data

    def _call(
        self, line: bytes, shown: str, *, body: bool = False, number: int | None = None
    ) -> tuple[str, bytes]:
        """One command, carrying any held-back DELEs ahead of it."""
        (seq,) = self._send([(line, shown, body)], [number])
        return self._read_through(seq)

    def list(self) -> list[MessageInfo]:
        """UIDL and LIST (RFC 1939 §7, §5): number, unique id and size of each message."""
        try:
            _, uidl = self._call(b"UIDL", "UIDL", body=True)
            _, sizes = self._call(b"LIST", "LIST", body=True)
            uids = parse_listing(uidl)
            octets = parse_listing(sizes)
            messages = [
                MessageInfo(number, uids[number].decode("ascii"), int(octets[number]))
                for number in sorted(octets)
            ]
        except (WireError, KeyError, ValueError, UnicodeDecodeError) as exc:
            self._channel.abandon()
            raise ConnectionFailure(
                FailureClass.PROTOCOL, f"{self._channel.where}: unusable UIDL/LIST answer: {exc}"
            ) from exc
        return messages

    def retrieve(self, number: int) -> bytes:
        """RETR (RFC 1939 §5): the message, dot-unstuffed, with CRLF line endings;
        `MessageTooLarge` (and the session closed) past the channel's limit."""
        _, data = self._call(b"RETR %d" % number, f"RETR {number}", body=True, number=number)
        return data

    def retrieve_many(self, messages: Sequence[MessageInfo]) -> Iterator[tuple[MessageInfo, bytes]]:
        """RETR each of ``messages`` in order, keeping up to `WINDOW` requests (and
        `WINDOW_BYTES` by LIST size) in flight when the server pipelines. The caller may
        stop early and go on with `delete` and `commit`: what was asked for and not taken
        is read and dropped, and stays on the server. A message over the limit, taken or
        not, raises `MessageTooLarge` from the call that read it (and closes the session)."""
        if not self._pipelining:
            for info in messages:
                yield info, self.retrieve(info.number)
            return
        waiting: deque[MessageInfo] = deque(messages)
        flying: deque[tuple[int, MessageInfo]] = deque()
        octets = 0
        while waiting or flying:
            asked: list[MessageInfo] = []
            while waiting and (
                (not flying and not asked)
                or (
                    len(flying) + len(asked) < self.WINDOW
                    and octets + waiting[0].size <= self.WINDOW_BYTES
                )
            ):
                info = waiting.popleft()
                asked.append(info)
                octets += info.size
            if asked:
                commands = [(b"RETR %d" % i.number, f"RETR {i.number}", True) for i in asked]
                seqs = self._send(commands, [i.number for i in asked])
                flying.extend(zip(seqs, asked, strict=True))
            seq, info = flying.popleft()
            _, data = self._read_through(seq)
            octets -= info.size
            yield info, data

    def delete(self, number: int) -> None:
        """DELE (RFC 1939 §5): marked now, removed at `commit`."""
        command = (b"DELE %d" % number, f"DELE {number}")
        if self._pipelining:
            self._pending.append(command)
        else:
            self._call(*command)

    def commit(self) -> None:
        """QUIT (RFC 1939 §6): the server enters UPDATE and removes the marked messages.

        If the connection breaks before the ``+OK`` arrives, whether the
        deletions happened is unknown: the failure is raised and the caller
        must rely on UIDs, never on the messages being gone.
        """
        try:
            self._call(b"QUIT", "QUIT")
        finally:
            self._channel.abandon()

    def close(self) -> None:
        """Drop the connection without QUIT; every DELE of this session is undone."""
        if self._pending:
            log.debug("%s: dropping %d held DELE", self._channel.where, len(self._pending))
        self._pending = []
        self._sent.clear()
        self._channel.abandon()
