"""The port the poll service drives to take mail out of a mailbox.

The poll service never sees a protocol: it opens a `MailboxSession`, lists
what is there, retrieves one message at a time, stores it, and only then
marks it deleted.  Deletions are *pending* until `MailboxSession.commit`;
`MailboxSession.close` abandons the session and the server keeps every
message (POP3 enters the UPDATE state only on QUIT, RFC 1939 §6).  That
split is what makes "store, then delete" safe: whatever fails before the
commit, the worst outcome is a re-download that the ledger recognises by
its ``uid``.

Every failure below this port is a `postroom.net.connection.ConnectionFailure`
with a `FailureClass`; no ``socket`` or ``ssl`` exception crosses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from postroom.errors import UserError
from postroom.net.connection import ConnectionFailure, FailureClass

MAX_MESSAGE_BYTES = 50 * 1024 * 1024
"""The largest message taken from a mailbox unless configured otherwise (the default of
``POSTROOM_MAX_MESSAGE_BYTES``): a longer one raises `MessageTooLarge` and stays on the server."""


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """One message as the server lists it.

    ``number`` is valid for this session only (RFC 1939 §7: message numbers
    are per session); ``uid`` is stable across sessions (the UIDL of RFC 1939
    §7, the UID of IMAP) and is what the ledger keys on; ``size`` is the
    server's octet count, which may differ slightly from the bytes received.
    """

    number: int
    uid: str
    size: int


class MessageTooLarge(ConnectionFailure):
    """Retrieving message ``number`` ran past the session's size limit.

    The reading stopped at the limit and the session was dropped without committing: the
    rest of the answer was still coming, so the stream cannot be used again, and no
    deletion of that session takes effect (RFC 1939 §6). The message stays on the server.
    """

    def __init__(self, where: str, number: int, limit: int) -> None:
        super().__init__(
            FailureClass.PROTOCOL,
            f"{where}: RETR {number}: message over the limit of {limit} bytes; "
            "session dropped, nothing of it deleted",
        )
        self.number = number
        self.limit = limit


class MailboxSession(Protocol):
    """An open, authenticated mailbox; use it as a context manager.

    Leaving the ``with`` block without `commit` abandons the session, so an
    exception in the caller never turns pending deletions into real ones.
    """

    def list(self) -> list[MessageInfo]:
        """Every message in the mailbox, in server order."""
        ...

    def retrieve(self, number: int) -> bytes:
        """The raw message exactly as stored: CRLF line endings, no transport framing;
        `MessageTooLarge` (and the session closed) past the source's size limit."""
        ...

    def retrieve_many(self, messages: Sequence[MessageInfo]) -> Iterator[tuple[MessageInfo, bytes]]:
        """`retrieve` each in order, asking ahead for the next ones where the protocol
        allows; the caller may stop early (what it did not take stays on the server)."""
        ...

    def delete(self, number: int) -> None:
        """Mark a message deleted; it disappears only at `commit`."""
        ...

    def commit(self) -> None:
        """End the session and make the deletions take effect."""
        ...

    def close(self) -> None:
        """End the session without committing; safe to call more than once."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class MailboxSource(Protocol):
    """A configured mailbox (server, credentials, TLS) that can be opened many times."""

    def open(self) -> MailboxSession:
        """Connect, secure and authenticate; raises ConnectionFailure."""
        ...


class AfterKind(StrEnum):
    DELETE = "delete"
    KEEP = "keep"
    MOVE = "move"


MAX_FOLDER = 300
"""Characters of a folder name at most (the ``channels.folder`` column)."""


@dataclass(frozen=True, slots=True)
class After:
    """What a poll does with a message once it is stored (``--after``): delete it from the
    server (the default), keep it there (never taking it twice), or move it to a folder
    (IMAP only)."""

    kind: AfterKind = AfterKind.DELETE
    folder: str | None = None
    """The target of ``move``."""

    @classmethod
    def parse(cls, text: str | None) -> After:
        """``delete``, ``keep`` or ``move:FOLDER``; `UserError` for anything else."""
        value = (text or "delete").strip()
        kind, colon, folder = value.partition(":")
        if kind.lower() == "move" and colon:
            return cls(AfterKind.MOVE, check_folder(folder, "move:FOLDER"))
        if kind.lower() in ("delete", "keep") and not colon:
            return cls(AfterKind(kind.lower()))
        raise UserError(f"--after {value!r}: use delete, keep or move:FOLDER")

    def __str__(self) -> str:
        return f"move:{self.folder}" if self.kind is AfterKind.MOVE else self.kind.value

    @property
    def keeps(self) -> bool:
        return self.kind is AfterKind.KEEP


def check_folder(folder: str, what: str = "--folder") -> str:
    """A folder name a command line may carry: not empty, printable, at most `MAX_FOLDER`."""
    if not folder or len(folder) > MAX_FOLDER:
        raise UserError(f"{what}: a folder name of 1 to {MAX_FOLDER} characters")
    if any(not c.isprintable() for c in folder):
        raise UserError(f"{what}: the folder name holds a control character")
    return folder


@dataclass(frozen=True, slots=True)
class FolderMark:
    """How far a folder was read: every UID up to ``last_uid`` under ``validity`` is
    settled. An IMAP UID means nothing under another UIDVALIDITY (RFC 9051 §2.3.1.1)."""

    folder: str
    validity: int
    last_uid: int
    revisit: tuple[int, ...] = ()
    """UIDs up to ``last_uid`` to list again all the same: messages left on the server for
    their size, so each poll still says why and takes them once the limit allows."""


@runtime_checkable
class FolderSession(Protocol):
    """A session on a folder with stable UIDs (IMAP): a listed UID is never given to other
    mail while its UIDVALIDITY lasts, so a stored one needs no download to be known."""

    @property
    def mark(self) -> FolderMark:
        """The selected folder and its UIDVALIDITY; ``last_uid`` the highest UID listed."""
        ...


@runtime_checkable
class IdleSource(Protocol):
    """A mailbox that can say when new mail arrives (IMAP IDLE, RFC 2177)."""

    def idle(self, stop: threading.Event, changed: Callable[[], None], seconds: float) -> bool:
        """Wait for new mail until ``stop`` or ``seconds``, calling ``changed`` on arrival;
        False at once when the server cannot (the poll interval is then all there is);
        `ConnectionFailure` when the connection fails."""
        ...
