"""What a poll does with each listed message, given what the ledger knows: a pure decision.

RFC 1939 §7 promises only that a UIDL is unique *while its message exists*: once a
message is deleted (DELE, then QUIT), a server may give its UIDL to new mail, and some
do (ids counted per folder, or a hash of too little of the message). The ledger is keyed
by (channel, UIDL, SHA-256), so a listed UIDL the ledger knows is either mail stored by
an interrupted earlier poll (delete it, do not download it again) or new mail under an
old UIDL (download and keep it). Only the content tells them apart for certain.

The rules, in order, for one listed message:

1. ``DELETE``: the ledger holds this UIDL at exactly the LIST size and the channel has
   never seen a UIDL reused (or the UIDs are stable, IMAP's under one UIDVALIDITY, whatever
   the size a server reports): DELE without RETR. A reuse would have to keep the octet
   count too, on a server not known to reuse; that small risk buys not downloading a
   mailbox twice after an interrupted poll.
2. ``LEAVE``: remembered as too large, at this same LIST size, under a limit at least as
   high as today's: neither RETR nor DELE (the mail stays on the server).
3. ``TOO_LARGE``: the LIST size is over the limit: remember it, neither RETR nor DELE.
   A LIST size under the limit is a hint only, never trusted: the mailbox adapter bounds
   the RETR itself (`MessageTooLarge`), and a RETR stopped there is remembered the same way.
4. ``VERIFY``: the ledger holds this UIDL but rule 1 does not apply (another size, or the
   channel has seen reuse): RETR, then the SHA-256 decides (`is_reused`): a stored
   content is deleted, another one is new mail.
5. ``FETCH``: an unknown UIDL: RETR, store, then DELE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from postroom.domain.display import for_terminal
from postroom.ports.mailbox import MessageInfo

LIMIT_SETTING = "POSTROOM_MAX_MESSAGE_BYTES"


class Action(StrEnum):
    DELETE = "delete"
    LEAVE = "leave"
    TOO_LARGE = "too-large"
    VERIFY = "verify"
    FETCH = "fetch"


@dataclass(frozen=True, slots=True)
class Stored:
    """What the ledger holds for one UIDL of a channel: every size and SHA-256 stored under it."""

    sizes: frozenset[int]
    shas: frozenset[str]


@dataclass(frozen=True, slots=True)
class TooLarge:
    """A message of a channel remembered as too large: its LIST size, the limit then, why."""

    size: int
    limit: int
    reason: str = ""


def triage(
    info: MessageInfo,
    stored: Stored | None,
    too_large: TooLarge | None,
    *,
    reuse_seen: bool,
    limit: int,
    stable: bool = False,
) -> Action:
    """The action for one listed message (rules 1-5 of the module docstring)."""
    if stored is not None and (stable or (not reuse_seen and info.size in stored.sizes)):
        return Action.DELETE
    if too_large is not None and too_large.size == info.size and limit <= too_large.limit:
        return Action.LEAVE
    if info.size > limit:
        return Action.TOO_LARGE
    if stored is not None:
        return Action.VERIFY
    return Action.FETCH


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the ledger knows of the UIDLs of one listing, and the channel's history."""

    stored: Mapping[str, Stored]
    too_large: Mapping[str, TooLarge]
    reuse_seen: bool
    limit: int
    stable: bool = False
    """A listed uid is never another message's (IMAP UIDs under one UIDVALIDITY)."""

    @classmethod
    def of(
        cls,
        rows: Mapping[str, Sequence[tuple[int, str]]],
        too_large: Mapping[str, TooLarge],
        *,
        reuse_seen: bool,
        limit: int,
        stable: bool = False,
    ) -> Ledger:
        """From ledger rows per UIDL, ``[(size, sha256), ...]``."""
        stored = {
            uid: Stored(frozenset(size for size, _ in found), frozenset(sha for _, sha in found))
            for uid, found in rows.items()
        }
        return cls(stored, too_large, reuse_seen, limit, stable)

    def action(self, info: MessageInfo) -> Action:
        return triage(
            info,
            self.stored.get(info.uid),
            self.too_large.get(info.uid),
            reuse_seen=self.reuse_seen,
            limit=self.limit,
            stable=self.stable,
        )

    def holds(self, info: MessageInfo, sha256: str) -> bool:
        """This content is stored under this UIDL already (a VERIFY that found it known)."""
        stored = self.stored.get(info.uid)
        return stored is not None and not is_reused(stored, sha256)


def is_reused(stored: Stored, sha256: str) -> bool:
    """A RETR under a stored UIDL brought content the ledger does not hold under it."""
    return sha256 not in stored.shas


def too_large_reason(info: MessageInfo, limit: int, *, streamed: bool, imap: bool = False) -> str:
    """The sentence an operator reads on the channel (`channels.last_error`), in the words
    of the channel's protocol (POP3: UIDL, RETR, LIST; IMAP: UID, FETCH, RFC822.SIZE)."""
    uid, fetch, size = ("UID", "FETCH", "RFC822.SIZE") if imap else ("UIDL", "RETR", "LIST size")
    how = f"its {fetch} ran past" if streamed else f"its {size} of {_octets(info.size)} is over"
    return (
        f"message {info.number} ({uid} {_shown(info.uid)}): {how} the {_octets(limit)} limit "
        f"({LIMIT_SETTING}): left on the server"
    )


def _octets(n: int) -> str:
    mib = n / (1024 * 1024)
    return f"{mib:.3g} MB" if mib >= 1 else f"{n} bytes"


def _shown(uid: str) -> str:
    """A UIDL for a person, cut at 80 characters and escaped by `for_terminal` (RFC 1939 §7
    allows 0x21-0x7E only; a server may send more)."""
    return for_terminal(uid[:80]) + ("..." if len(uid) > 80 else "")
