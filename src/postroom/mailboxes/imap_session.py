"""One IMAP session on one folder, as `postroom.ports.mailbox.MailboxSession`.

A message's ``number`` is its UID and its ``uid`` (the ledger's key) names the folder, the
UIDVALIDITY and the UID, in the form of an IMAP URL's path (RFC 5092 §6): a UID is stable
only while the folder's UIDVALIDITY is (RFC 9051 §2.3.1.1), so a new UIDVALIDITY gives every
message a new key and the folder is read again (rule D1 files nothing twice).

Nothing changes on the server before `commit`: messages are fetched with ``BODY.PEEK[]``
(no \\Seen), deletions and moves are only noted, and `commit` sends them after the caller
has stored the messages: ``UID MOVE`` where the server offers MOVE (RFC 6851), else
``UID COPY`` and then, as for a deletion, ``UID STORE +FLAGS.SILENT (\\Deleted)`` and
``UID EXPUNGE`` where the server offers UIDPLUS (RFC 4315; plain ``EXPUNGE`` otherwise);
a message left flagged by an interrupted move is expunged, not copied again
(`ImapSession._copy_then_flag`).
`close` drops the connection with nothing sent. \\Seen is never read nor relied on: mail
another client has read is taken like any other.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Self

from postroom import failpoints
from postroom.mailboxes.imap_wire import BoundedImap, LiteralTooLarge, WireTooLong
from postroom.net.connection import ConnectionFailure, FailureClass, classify
from postroom.ports.mailbox import After, AfterKind, FolderMark, MessageInfo, MessageTooLarge

log = logging.getLogger(__name__)

_UID = re.compile(rb"\bUID (\d{1,10})\b")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d{1,20})\b")
_BODY = re.compile(rb"\bBODY\[\] ")
LINE_OCTETS = 200
"""Octets of one FETCH (UID RFC822.SIZE) answer line, as budgeted (generous)."""
WINDOW_MESSAGES = 50
WINDOW_BYTES = 4 * 1024 * 1024
"""One UID FETCH asks for this many messages, or octets by RFC822.SIZE, at most."""
SET_CHUNK = 400
"""UID ranges per command: keeps a command line well under servers' limits."""


def source_uid(folder: str, validity: int, uid: int) -> str:
    """The ledger's key of one message (an IMAP URL's path, RFC 5092)."""
    return f"{folder};UIDVALIDITY={validity}/;UID={uid}"


def uid_sets(uids: Sequence[int]) -> list[str]:
    """Sorted UIDs as IMAP sequence sets (``1:4,7,9:12``), `SET_CHUNK` ranges each."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        ranges.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return [",".join(ranges[k : k + SET_CHUNK]) for k in range(0, len(ranges), SET_CHUNK)]


class ImapSession:
    """Implements `MailboxSession` (and `FolderSession`) over one selected folder."""

    def __init__(
        self,
        client: BoundedImap,
        *,
        where: str,
        folder: str,
        quoted_folder: str,
        validity: int,
        exists: int,
        after: After,
        move_to: str | None,
        resume: FolderMark | None,
        timeout: float,
    ) -> None:
        self._client = client
        self.where = where
        self.folder = folder
        self._quoted = quoted_folder
        self.validity = validity
        self.exists = exists
        self.after = after
        self._move_to = move_to
        self._resume = resume
        self._timeout = timeout
        self._pending: list[int] = []
        self._retrieved: set[int] = set()
        """UIDs whose bodies this session fetched (never copied by an earlier poll)."""
        self._last_listed = 0
        self._open = True
        caps = client.capabilities
        self.uidplus = "UIDPLUS" in caps
        self.move = "MOVE" in caps

    def __repr__(self) -> str:
        return f"<ImapSession {self.where} {self.folder} {'open' if self._open else 'closed'}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def mark(self) -> FolderMark:
        return FolderMark(self.folder, self.validity, self._last_listed)

    # -- commands ------------------------------------------------------------------------

    def _run(self, what: str, octets: int, call: Any, *args: Any) -> tuple[str, list[Any]]:
        """One command under a time and byte budget; every failure a `ConnectionFailure`
        (and the connection dropped unless the server just said NO/BAD)."""
        self._client.budget(self._timeout, octets)
        try:
            typ, data = call(*args)
        except LiteralTooLarge:
            self.close()
            raise
        except imaplib.IMAP4.abort as exc:
            self.close()
            raise ConnectionFailure(
                FailureClass.CONNECTION, f"{self.where}: {what}: connection lost: {exc}"
            ) from None
        except imaplib.IMAP4.error as exc:
            raise ConnectionFailure(
                FailureClass.PROTOCOL, f"{self.where}: {what} refused: {_text(exc)}"
            ) from None
        except WireTooLong as exc:
            self.close()
            raise ConnectionFailure(FailureClass.PROTOCOL, f"{self.where}: {what}: {exc}") from None
        except TimeoutError:
            self.close()
            raise ConnectionFailure(
                FailureClass.TIMEOUT, f"{self.where}: {what}: no complete answer in time"
            ) from None
        except OSError as exc:
            self.close()
            raise classify(exc, f"{self.where}: {what}") from None
        if typ != "OK":
            raise ConnectionFailure(
                FailureClass.PROTOCOL, f"{self.where}: {what} refused: {_joined(data)}"
            )
        return typ, data

    def list(self) -> list[MessageInfo]:
        """The folder's messages by UID, with their RFC822.SIZE. Keeping mail, under the
        UIDVALIDITY of the last poll: only the UIDs after the last settled one (one UID
        SEARCH; a FETCH of sizes only when there are new ones), and those the mark says to
        list again (left for their size: `FolderMark.revisit`)."""
        if self.exists == 0:
            return []
        resume = self._resume
        if self.after.keeps and resume is not None and resume.validity == self.validity:
            _, data = self._run(
                "UID SEARCH",
                self._client.max_line,
                self._client.uid,
                "SEARCH",
                f"UID {resume.last_uid + 1}:*",
            )
            newer = [u for u in _numbers(data) if u > resume.last_uid]
            again = [u for u in resume.revisit if 0 < u <= resume.last_uid]
            self._last_listed = resume.last_uid
            if not newer and not again:
                return []
            sets = uid_sets(again + newer)
            count = len(again) + len(newer)
        else:
            sets = ["1:*"]
            count = self.exists
        found: dict[int, int] = {}
        for uidset in sets:
            _, data = self._run(
                "UID FETCH (RFC822.SIZE)",
                LINE_OCTETS * (count + 10) + self._client.max_line,
                self._client.uid,
                "FETCH",
                uidset,
                "(UID RFC822.SIZE)",
            )
            for item in data:
                line = item[0] if isinstance(item, tuple) else item
                if not isinstance(line, bytes):
                    continue
                uid, size = _UID.search(line), _SIZE.search(line)
                if uid is not None and size is not None:
                    found[int(uid.group(1))] = int(size.group(1))
        listing = [
            MessageInfo(uid, source_uid(self.folder, self.validity, uid), size)
            for uid, size in sorted(found.items())
        ]
        if listing:
            self._last_listed = max(self._last_listed, listing[-1].number)
        return listing

    def retrieve(self, number: int) -> bytes:
        for _, raw in self.retrieve_many([MessageInfo(number, "", 0)]):
            return raw
        raise ConnectionFailure(
            FailureClass.PROTOCOL, f"{self.where}: UID {number} is not in {self.folder} any more"
        )

    def retrieve_many(self, messages: Sequence[MessageInfo]) -> Iterator[tuple[MessageInfo, bytes]]:
        """``UID FETCH (UID BODY.PEEK[])`` over windows of `WINDOW_MESSAGES` messages or
        `WINDOW_BYTES` by size; a message gone meanwhile (expunged by another client) is
        skipped. A literal over the limit raises `MessageTooLarge` (session dropped)."""
        waiting = list(messages)
        start = 0
        while start < len(waiting):
            end, octets = start, 0
            while end < len(waiting) and (
                end == start
                or (end - start < WINDOW_MESSAGES and octets + waiting[end].size <= WINDOW_BYTES)
            ):
                octets += waiting[end].size
                end += 1
            window = waiting[start:end]
            bodies = self._fetch(window, octets)
            for info in window:
                raw = bodies.pop(info.number, None)
                if raw is not None:
                    yield info, raw
            start = end

    def _fetch(self, window: Sequence[MessageInfo], octets: int) -> dict[int, bytes]:
        budget = octets + self._client.max_literal + LINE_OCTETS * len(window) + 65536
        try:
            (uidset,) = uid_sets([i.number for i in window])
            _, data = self._run(
                "UID FETCH (BODY.PEEK[])",
                budget,
                self._client.uid,
                "FETCH",
                uidset,
                "(UID BODY.PEEK[])",
            )
        except LiteralTooLarge as exc:
            number = exc.uid if exc.uid is not None else window[0].number
            raise MessageTooLarge(self.where, number, exc.limit) from None
        bodies: dict[int, bytes] = {}
        for k, item in enumerate(data):
            if not isinstance(item, tuple) or len(item) != 2:
                continue
            head, body = item
            if not isinstance(head, bytes) or not _BODY.search(head):
                continue
            uid = _UID.search(head)
            if uid is None and k + 1 < len(data) and isinstance(data[k + 1], bytes):
                uid = _UID.search(data[k + 1])  # UID after the literal: ``BODY[] {n} UID 7)``
            if uid is not None and isinstance(body, bytes):
                bodies[int(uid.group(1))] = body
                self._retrieved.add(int(uid.group(1)))
        return bodies

    def delete(self, number: int) -> None:
        """Note a stored message for `commit` (deleted, moved, or with ``keep`` left)."""
        if not self.after.keeps:
            self._pending.append(number)

    def commit(self) -> None:
        """Move or delete what was noted, then LOGOUT. Whatever happens midway, every
        noted message is stored already: the next poll finds it by its UID."""
        try:
            if self._pending:
                if self.after.kind is AfterKind.MOVE and self.move:
                    for uidset in uid_sets(self._pending):
                        self._uid("MOVE", uidset, self._move_to or "")
                    failpoints.hit("after-move")
                elif self.after.kind is AfterKind.MOVE:
                    self._copy_then_flag()
                    failpoints.hit("after-move")
                    failpoints.hit("after-flag")
                    self._expunge()
                    failpoints.hit("after-expunge")
                else:
                    for uidset in uid_sets(self._pending):
                        self._uid("STORE", uidset, "+FLAGS.SILENT", "(\\Deleted)")
                    failpoints.hit("after-flag")
                    self._expunge()
                    failpoints.hit("after-expunge")
            self._pending = []
            self._client.budget(self._timeout, self._client.max_line)
            with contextlib.suppress(imaplib.IMAP4.error, WireTooLong, OSError):
                self._client.logout()  # answered with BYE: nothing more to check
        finally:
            self.close()

    def _copy_then_flag(self) -> None:
        """A move without MOVE: ``UID COPY`` to the target, then ``\\Deleted`` on the source.

        The \\Deleted flag is the note that the copy was made: it is set only once the
        COPY was answered OK, and it lives on the server, beside the copy, until the
        EXPUNGE removes both flag and message. A poll killed (or cut off) before the
        EXPUNGE leaves the message in the source folder, stored; the next poll finds it
        in the ledger and, seeing it flagged, only expunges it: no second copy. A note in
        the database instead would sit on the other side of a crash from the server it
        describes (a restored database, a second Postroom), and would need a column the
        ledger does not have. A message retrieved in this session was never copied (it
        was not stored before), so only messages stored by an earlier poll are asked
        about, with one ``UID SEARCH`` (none in the usual poll). A message another client
        flagged \\Deleted is expunged without a copy: that client asked for it to go.
        What stays open: a death in the one round trip between the COPY's OK and the
        STORE's leaves a copy not yet noted, and the next poll copies it again.
        """
        earlier = [uid for uid in self._pending if uid not in self._retrieved]
        copied: set[int] = set()
        for uidset in uid_sets(earlier):
            _, data = self._run(
                "UID SEARCH DELETED",
                self._client.max_line,
                self._client.uid,
                "SEARCH",
                f"UID {uidset} DELETED",
            )
            copied.update(_numbers(data))
        for uidset in uid_sets([uid for uid in self._pending if uid not in copied]):
            self._uid("COPY", uidset, self._move_to or "")
            self._uid("STORE", uidset, "+FLAGS.SILENT", "(\\Deleted)")

    def _uid(self, command: str, *args: str) -> None:
        self._run(f"UID {command}", self._client.max_line, self._client.uid, command, *args)

    def _expunge(self) -> None:
        if self.uidplus:
            for uidset in uid_sets(self._pending):
                self._uid("EXPUNGE", uidset)
        else:
            self._run("EXPUNGE", self._client.max_line, self._client.expunge)

    def close(self) -> None:
        """Drop the connection; nothing noted is sent."""
        if self._pending:
            log.debug("%s: dropping %d noted messages", self.where, len(self._pending))
        self._pending = []
        if self._open:
            self._open = False
            self._client.shutdown()


def _numbers(data: list[Any]) -> list[int]:
    out: list[int] = []
    for item in data:
        if isinstance(item, bytes):
            out.extend(int(w) for w in item.split() if w.isdigit() and len(w) <= 10)
    return out


def _joined(data: list[Any]) -> str:
    parts = [d.decode("utf-8", "replace") for d in data if isinstance(d, bytes)]
    return " ".join(parts)[:300] or "-"


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return text[:300]
