"""What the ledger knows of a channel's mailbox, read and kept up to date by a poll.

The decision per message is pure (`services.triage`); this module feeds it: the stored
UIDLs of this round, the messages remembered as too large, whether the channel's server
was seen reusing a UIDL; and writes down what a poll learns (a reuse, a message left on
the server for its size).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from postroom.ports.mailbox import FolderMark, MessageInfo
from postroom.records.config import ChannelRecord
from postroom.services.poll_report import ChannelReport
from postroom.services.triage import Ledger, TooLarge, too_large_reason
from postroom.storage.unit import Storage

log = logging.getLogger("postroom.services.poll")


def _uid_prefix(folder: str, validity: int) -> str:
    """The start of the ledger keys of an IMAP folder's messages under one UIDVALIDITY:
    ``FOLDER;UIDVALIDITY=V/;UID=`` (RFC 5092 §6, as `mailboxes.imap_session.source_uid`
    writes them; services do not import adapters)."""
    return f"{folder};UIDVALIDITY={validity}/;UID="


class PollLedger:
    def __init__(
        self, storage: Storage, clock: Callable[[], datetime], max_message_bytes: int
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.max_message_bytes = max_message_bytes

    def read(
        self,
        channel_id: int,
        listing: list[MessageInfo],
        this_round: list[MessageInfo],
        *,
        stable: bool = False,
        keep: bool = False,
    ) -> Ledger:
        """What the ledger knows of this round's UIDLs (only those: a channel's history
        grows without bound); remembered too-large messages no longer listed are forgotten.
        ``stable``: the uids are IMAP's (never another message's); ``keep``: the mail stays
        on the server, so a UIDL a server once reused is no reason to download every stored
        message again on every poll."""
        with self.storage.reading() as uow:
            rows = uow.messages.stored_under(channel_id, [i.uid for i in this_round])
            remembered = uow.messages.too_large(channel_id)
            reuse_seen = bool(uow.channels.by_id(channel_id).uidl_reuse_seen)
        # Gone from the server, or (IMAP: a UID is never another message's) taken since, a
        # limit raised while the mail is kept. Keeping IMAP mail, the listing holds the
        # remembered ones too (`mark`'s revisit).
        gone = set(remembered) - {info.uid for info in listing}
        if stable:
            gone |= set(remembered) & set(rows)
        if gone:
            with self.storage.writing() as uow:
                uow.messages.forget_too_large(channel_id, gone)
        too_large = {
            uid: TooLarge(size, limit, reason)
            for uid, (size, limit, reason) in remembered.items()
            if uid not in gone
        }
        return Ledger.of(
            rows,
            too_large,
            reuse_seen=reuse_seen and not keep,
            limit=self.max_message_bytes,
            stable=stable,
        )

    def mark(self, channel_id: int, folder: str) -> FolderMark | None:
        """How far the polls that keep their mail read this folder (IMAP), with the UIDs
        under it that were left on the server for their size: listed again by every poll,
        so the reason stays on the channel and a raised limit takes them (one UID FETCH of
        their sizes; they are few, and none once taken or gone)."""
        with self.storage.reading() as uow:
            mark = uow.polls.folder_mark(channel_id, folder)
            if mark is None:
                return None
            remembered = uow.messages.too_large(channel_id)
        prefix = _uid_prefix(folder, mark.validity)
        revisit = sorted(
            int(number)
            for uid in remembered
            if uid.startswith(prefix)
            and (number := uid[len(prefix) :]).isdigit()
            and len(number) <= 10
            and 0 < int(number) <= mark.last_uid
        )
        return replace(mark, revisit=tuple(revisit))

    def advance(self, channel_id: int, mark: FolderMark) -> None:
        """Every UID up to ``mark.last_uid`` of the folder is settled (stored, known or
        left for its size), committed before this is written. Never backwards under the
        same UIDVALIDITY: a round that settled only messages listed again (`mark`) says
        nothing of the UIDs after them."""
        with self.storage.writing() as uow:
            before = uow.polls.folder_mark(channel_id, mark.folder)
            same = before is not None and before.validity == mark.validity
            if same and before is not None and before.last_uid >= mark.last_uid:
                return
            uow.polls.set_folder_mark(channel_id, mark, self.clock())

    def known(self, channel: ChannelRecord, ledger: Ledger, info: MessageInfo, raw: bytes) -> bool:
        """A stored UIDL retrieved to be sure (rule 4 of `services.triage`): True when its
        content is stored already; otherwise the server reused the UIDL for new mail, and
        the channel remembers it (from then on every stored UIDL is verified)."""
        if ledger.holds(info, hashlib.sha256(raw).hexdigest()):
            return True
        if not ledger.reuse_seen:
            with self.storage.writing() as uow:
                first = uow.polls.mark_uidl_reuse(channel.id)
            if first:
                log.warning(
                    "channel %s: the server reused UIDL %r, stored before, for new mail "
                    "(RFC 1939 §7 allows it once a message is gone): it is kept, and every "
                    "stored UIDL of this channel is verified by RETR from now on",
                    channel.name,
                    info.uid[:80],
                )
        return False

    def leave(
        self, channel: ChannelRecord, info: MessageInfo, report: ChannelReport, *, streamed: bool
    ) -> None:
        """A message over the limit stays on the server (no RETR, no DELE) and is
        remembered, so later polls leave it alone too; its reason goes on the channel."""
        imap = channel.url.startswith(("imap://", "imaps://"))
        reason = too_large_reason(info, self.max_message_bytes, streamed=streamed, imap=imap)
        with self.storage.writing() as uow:
            uow.messages.remember_too_large(
                channel.id,
                info.uid,
                size=info.size,
                limit=self.max_message_bytes,
                reason=reason,
                now=self.clock(),
            )
        log.warning("channel %s: %s", channel.name, reason)
        report.left_too_large.append(reason)
