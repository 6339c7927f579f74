"""What an outbound message may carry: the one place that decides its addresses and ids.

Both writers, `compose` (agents' replies, through the email package) and
`compose_automated` (acknowledgements, written directly), ask here, so a reply
is addressed and threaded the same way whichever wrote it:

1. An address is written only when `address_problem` accepts it: never as an
   encoded word, never an unqualified name a relay would complete.  Whatever
   it accepts is written as it is (a non-ASCII address, once accepted, makes
   the message an SMTPUTF8 one, RFC 6531/6532).  A recipient that cannot be
   written is left out of the headers and the envelope, with its reason
   (`Composed.left_out`); a sender that cannot be written is an error.
2. Threading headers are written as ids, never as RFC 2047 words (RFC 2047 §5
   forbids them in a msg-id; clients then fail to thread) and folded only
   between ids.  An id that cannot be written so — longer than a line
   (RFC 5322 §2.1.1: 998 octets), with white space, control or non-ASCII
   characters, or looking like an encoded word (``=?``) — is not copied;
   References keeps the newest 20 ids that can.
"""

from __future__ import annotations

import functools
import os
import string
from collections.abc import Sequence
from dataclasses import dataclass

from postroom.domain.automatic import address_problem
from postroom.domain.ports import OWN_MESSAGE_ID_PREFIX


@dataclass(frozen=True, slots=True)
class Composed:
    """An outbound message as bytes, with what the outbox records about it."""

    raw: bytes
    message_id: str
    subject: str
    recipients: tuple[str, ...] = ()
    """The envelope: every To and Cc address written, each once."""
    left_out: tuple[tuple[str, str], ...] = ()
    """(address, why) for each recipient that could not be written."""

    def why_left_out(self) -> str:
        """``'address': why`` for each recipient left out (remote text: bounded and quoted)."""
        return "; ".join(f"{address[:80]!r}: {problem}" for address, problem in self.left_out)


class UnwritableSender(ValueError):
    """The From address cannot be written correctly (see `address_problem`)."""

    def __init__(self, address: str, problem: str) -> None:
        super().__init__(f"cannot send from {address[:80]!r}: {problem}")
        self.address = address
        self.problem = problem


# ---------------------------------------------------------------------- addresses
@dataclass(frozen=True, slots=True)
class Addressing:
    """The addresses a message is written with (rule 1)."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    recipients: tuple[str, ...]
    """To and Cc written, each once (case-insensitively), in order: the envelope."""
    left_out: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=64)
def sender_problem(sender: str) -> str | None:
    """Why ``sender`` cannot be a message's From, or None: it is configuration or the
    address a customer wrote to, so it only has to be writable (`address_problem`'s
    ``qualified=False``). Kept for the few senders of an installation: an acknowledging
    intake asks about the same one several times a reply, thousands of times a poll."""
    return address_problem(sender, qualified=False)


def addressing(sender: str, to: Sequence[str], cc: Sequence[str] = ()) -> Addressing:
    """The writable addresses of a message; raises `UnwritableSender` for its From."""
    problem = sender_problem(sender)
    if problem is not None:
        raise UnwritableSender(sender, problem)
    written: dict[str, str] = {}
    left_out: dict[str, str] = {}
    to_list = _writable(to, written, left_out)
    cc_list = _writable(cc, written, left_out)
    return Addressing(sender, to_list, cc_list, tuple(written.values()), tuple(left_out.items()))


def _writable(
    addresses: Sequence[str], written: dict[str, str], left_out: dict[str, str]
) -> tuple[str, ...]:
    """The addresses that can be written, in order; the others go to ``left_out``."""
    kept: list[str] = []
    for address in addresses:
        bare = address.strip()
        problem = address_problem(bare)
        if problem is not None:
            left_out.setdefault(address, problem)
            continue
        kept.append(bare)
        written.setdefault(bare.lower(), bare)
    return tuple(kept)


# ---------------------------------------------------------------------- threading ids
_MAX_ID = 997
"""An id alone on a folded line (`` <id>``) still fits in 998 octets (RFC 5322 §2.1.1)."""
_ID_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.@[]")
"""RFC 5322 §3.6.4 id-left and id-right: atext, dots, ``@`` and a no-fold-literal's brackets."""
_MAX_REFERENCES = 20


def writable_id(value: str) -> bool:
    """Whether ``<id>`` can be written as is in a threading header (rule 2)."""
    return (
        2 < len(value) <= _MAX_ID
        and value[0] == "<"
        and value[-1] == ">"
        and _ID_CHARS.issuperset(value[1:-1])
        and "=?" not in value
    )


def thread_ids(in_reply_to: str | None, references: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """(In-Reply-To, References) of a reply: the parent ('' when it cannot be written) and
    the newest ids of the chain that can, ending with the parent."""
    parent = in_reply_to.strip() if in_reply_to else ""
    if not writable_id(parent):
        parent = ""
    chain = [r for r in references if r != parent and writable_id(r)]
    if parent:
        chain.append(parent)
    return parent, tuple(chain[-_MAX_REFERENCES:])


def new_message_id(sender: str) -> str:
    """A Message-ID Postroom recognises as its own (rule D2), in the sender's domain:
    its A-labels when it is internationalised, so that the id can be written (rule 2)."""
    # 128 random bits as 32 hex digits, as uuid4().hex gave without building a UUID.
    unique = os.urandom(16).hex()
    return f"{OWN_MESSAGE_ID_PREFIX}{unique}@{_id_domain(sender.rpartition('@')[2])}>"


@functools.lru_cache(maxsize=64)
def _id_domain(domain: str) -> str:
    """The right side of our Message-IDs in ``domain`` (kept, as `sender_problem`)."""
    if address_problem(f"x@{domain}", qualified=False) is not None:
        return "localhost"
    if not domain.isascii():
        return domain.encode("idna").decode("ascii")
    return domain
