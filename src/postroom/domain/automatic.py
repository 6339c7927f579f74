"""Recognising automatic mail, which must never receive an automated reply (docs/handler.md §5).

Two autoresponders answering each other fill both mailboxes in minutes; a
reply to a bounce or a mailing list reaches nobody who asked for it.  So
before any acknowledgement or "address not configured" reply, the handler
asks this module whether the message was written by a machine, and records
the answer as a readable reason.

Signals, checked in this order (the first one found is the reason):

1. ``Auto-Submitted`` with any value other than ``no`` (RFC 3834 §5).
2. ``X-Autoreply`` or ``X-Autorespond`` present (common vacation responders).
3. ``Precedence: bulk``, ``junk`` or ``list`` (RFC 3834 §2 advises against
   answering these).
4. ``List-Id`` present (RFC 2919: the message came through a list).
5. A ``multipart/report`` body or a parsed delivery report (RFC 3462/3464).
6. An empty Return-Path: ``Return-Path: <>`` present (RFC 5321 §4.5.5, the
   null reverse-path of bounces).  A missing Return-Path says nothing.
7. A From or Reply-To that is a system mailbox (MAILER-DAEMON, postmaster,
   no-reply and its spellings) or one of this installation's own addresses.

Mail that passes still gets an automated reply only at a fully qualified
address (`address_problem`, `reply_address`): Reply-To, else From, never an
address a relay would complete with its own domain.
"""

from __future__ import annotations

import functools
import string
import unicodedata
from dataclasses import dataclass
from encodings import idna

from postroom.domain.mail import Address, ParsedMail
from postroom.domain.references import base_address

_LIST_PRECEDENCE = frozenset({"bulk", "junk", "list"})

_SYSTEM_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "no-reply",
        "noreply",
        "no_reply",
        "do-not-reply",
        "donotreply",
        "do_not_reply",
    }
)


def automatic_reason(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    """Why ``mail`` counts as automatic mail, or None when a person may have written it.

    ``own_addresses`` are lowercased; plus tags on the sender are ignored when
    comparing, since our own outbound mail may be sent from a plus address.
    """
    auto_submitted = mail.header("Auto-Submitted")
    if auto_submitted is not None:
        # The keyword may carry parameters: "auto-replied; owner-email=...".
        keyword = auto_submitted.split(";", 1)[0].strip().lower()
        if keyword != "no":
            return f"Auto-Submitted: {auto_submitted.strip() or '(empty)'}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = mail.header(name)
        if value is not None:
            return f"{name}: {value.strip()}".rstrip()
    precedence = mail.header("Precedence")
    if precedence is not None and precedence.strip().lower() in _LIST_PRECEDENCE:
        return f"Precedence: {precedence.strip().lower()}"
    list_id = mail.header("List-Id")
    if list_id is not None:
        return f"List-Id: {list_id.strip()}".rstrip()
    if mail.content_type.strip().lower().startswith("multipart/report"):
        return "Content-Type: multipart/report (a delivery or disposition report)"
    if mail.report is not None:
        return "a delivery status report"
    return_path = mail.header("Return-Path")
    if return_path is not None and _is_null_path(return_path):
        return "Return-Path: <> (the null sender of bounces)"
    return _sender_reason(mail, own_addresses)


def _is_null_path(value: str) -> bool:
    return "".join(value.split()) in ("", "<>")


def _sender_reason(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    senders: list[tuple[str, Address]] = []
    if mail.from_ is not None:
        senders.append(("From", mail.from_))
    senders.extend(("Reply-To", a) for a in mail.reply_to)
    for label, sender in senders:
        address = sender.normalized
        local = base_address(address).partition("@")[0]
        if local in _SYSTEM_LOCAL_PARTS:
            return f"{label}: {sender.address} is a system mailbox"
        if address in own_addresses or base_address(address) in own_addresses:
            return f"{label}: {sender.address} is one of our own addresses"
    return None


# ---------------------------------------------------------------------- who may get mail
_LDH = frozenset(string.ascii_letters + string.digits + "-")
_ATEXT = _LDH | frozenset("!#$%&'*+/=?^_`{|}~")
"""RFC 5322 §3.2.3 atext (ASCII); RFC 6531 §3.3 adds every non-ASCII character."""
_DOTS = frozenset("\u3002\uff0e\uff61")
"""The label separators of RFC 3490 §3.1 other than the full stop: a label holding one is
read as two by the relay, which then sees a domain rules 5 and 6 never judged."""
_PRIVATE_TLDS = frozenset({"localhost", "localdomain", "local", "internal"})
_MAX_LOCAL = 64
_MAX_DOMAIN = 253
_MAX_LABEL = 63
_MAX_ADDRESS = 254


def address_problem(address: str, *, qualified: bool = True) -> str | None:
    """Why Postroom must not write mail to ``address``, or None when it may.

    A relay qualifies a bare ``all-staff`` with its own domain, so an outsider
    who puts it in Reply-To would make Postroom write to an internal list.  Only
    a fully qualified address, written exactly as it will travel, gets mail:

    1. No control character, white space or invisible format character of any
       kind (C0, DEL, C1, U+2028, U+00A0, the bidi overrides and zero-width
       characters of Unicode's Cf), and no lone surrogate.
    2. Non-ASCII is allowed where RFC 6531/6532 allows it, and then travels as
       it is, in UTF-8 (an SMTPUTF8 message; never an encoded word, which RFC
       2047 §5 forbids in an address): in the local part (rule 4), and in a
       domain label that is an IDNA U-label (rule 5).  Lengths are counted in
       UTF-8 octets.
    3. ``local@domain`` with exactly one ``@``; no quoted local part, no
       comments, no angle brackets.
    4. The local part is a dot-atom (RFC 5322 §3.2.3, with RFC 6531 §3.3's
       non-ASCII atext): atext runs joined by single dots, at most 64 octets
       (RFC 5321 §4.5.3.1.1); the whole address at most 254 (the 256-octet path
       of §4.5.3.1.3, brackets included).
    5. The domain has at least two labels (a dot: single-label names such as
       ``localhost`` or ``intranet`` are completed by whoever relays the mail),
       253 octets in all, each label not starting or ending with a hyphen
       (RFC 1035 §2.3.1, RFC 1123 §2.1) and either 1–63 letters, digits or
       hyphens, or a U-label: non-ASCII that IDNA turns into an A-label
       (``xn--…``) of at most 63 letters, digits or hyphens and back into the
       same label, not starting with a combining mark (RFC 5891 §4.2.3.2).  A
       label that IDNA 2003 would map to another one (``ß`` to ``ss``, ``ς`` to
       ``σ``) is refused: mail must not depend on which IDNA the relay speaks;
       so is one holding a dot other than ``.`` (``。``, RFC 3490 §3.1).
       The last label is not all digits (no IP addresses) and domain literals
       (``[192.0.2.1]``) are refused.
    6. The top-level label is not one that only exists inside a network:
       ``localhost`` (RFC 6761 §6.3), ``local`` (RFC 6762), ``localdomain``,
       ``internal``.

    ``qualified=False`` drops rule 5's dot and rule 6: for our own sender address,
    which is configuration, not remote text, and only has to be writable.

    An address is judged several times on its way (the reply's gate, the Ticket's
    requester, the writer, the envelope): the verdicts of the last `_REMEMBERED`
    addresses of up to `_MAX_ADDRESS` characters are kept (a longer one is refused by its
    length at once).
    """
    if len(address) > _MAX_ADDRESS:
        return _judged(address, qualified)
    return _remembered(address, qualified)


def _judged(address: str, qualified: bool) -> str | None:
    problem = _character_problem(address)
    if problem is not None:
        return problem
    if address.count("@") > 1:
        return "more than one @ (local@domain has exactly one; a quoted local part is not written)"
    if address.count("@") != 1:
        return "not of the form local@domain (no @domain: not a fully qualified address)"
    local, _, domain = address.partition("@")
    if not local:
        return "empty local part"
    if not domain:
        return "no domain: not a fully qualified address"
    if _octets(address) > _MAX_ADDRESS:
        return f"longer than {_MAX_ADDRESS} octets"
    if '"' in local:
        return "a quoted local part is not written"
    return _local_problem(local) or _domain_problem(domain, qualified)


_REMEMBERED = 4096
_remembered = functools.lru_cache(maxsize=_REMEMBERED)(_judged)


def _character_problem(address: str) -> str | None:
    """Rule 1: ``isprintable`` is false for every category refused (Cc, Cf, Cs, Co, Cn, Z*)
    except the ASCII space, so the reason is told apart only when one is found."""
    if address.isprintable() and " " not in address:
        return None
    for char in address:
        if char == " " or not char.isprintable():
            category = unicodedata.category(char)
            if category == "Cf":
                return f"contains an invisible format character (U+{ord(char):04X})"
            if category == "Cs":
                return "contains a lone surrogate: not Unicode text"
            break
    return "contains a control character or white space"


def _octets(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _local_problem(local: str) -> str | None:
    if _octets(local) > _MAX_LOCAL:
        return f"local part longer than {_MAX_LOCAL} octets"
    for atom in local.split("."):
        if not atom or not all(c in _ATEXT or not c.isascii() for c in atom):
            return "local part is not a dot-atom (RFC 5322 §3.2.3)"
    return None


def _domain_problem(domain: str, qualified: bool) -> str | None:
    if domain.startswith("["):
        return "a domain literal is not written"
    if _octets(domain) > _MAX_DOMAIN:
        return f"domain longer than {_MAX_DOMAIN} octets"
    labels = domain.split(".")
    if qualified and len(labels) < 2:
        return f"single-label domain {domain!r}: not a fully qualified address"
    a_labels = 0
    for label in labels:
        problem = _label_problem(label)
        if problem is not None:
            return problem
        a_labels += len(label) if label.isascii() else len(_a_label(label))
    if a_labels + len(labels) - 1 > _MAX_DOMAIN:
        return f"domain longer than {_MAX_DOMAIN} octets once written for DNS (IDNA)"
    if labels[-1].isdigit():
        return "an IP address is not a fully qualified domain"
    if qualified and labels[-1].lower() in _PRIVATE_TLDS:
        return f".{labels[-1].lower()} names exist only inside a network: not fully qualified"
    return None


def _label_problem(label: str) -> str | None:
    shown = label[: _MAX_LABEL + 1]
    if not label:
        return "empty domain label"
    if label.startswith("-") or label.endswith("-"):
        return f"domain label {shown!r} starts or ends with a hyphen"
    if label.isascii():
        if len(label) > _MAX_LABEL or not _LDH.issuperset(label):
            return f"invalid domain label {shown!r}"
        return None
    if not _DOTS.isdisjoint(label):
        # IDNA 2003 and UTS 46 read these as dots: a relay would see one more label.
        return f"domain label {shown!r} holds a dot other than '.' (RFC 3490 §3.1)"
    if unicodedata.category(label[0]).startswith("M"):
        return f"domain label {shown!r} starts with a combining mark (RFC 5891 §4.2.3.2)"
    a_label = _a_label(label)
    if not a_label or len(a_label) > _MAX_LABEL or not _LDH.issuperset(a_label):
        return f"domain label {shown!r} is not an IDNA U-label (RFC 5891)"
    return None


@functools.lru_cache(maxsize=256)  # `_domain_problem` asks twice for each label
def _a_label(label: str) -> str:
    """The ``xn--`` form of a non-ASCII label; '' when IDNA refuses it or maps it to
    something else (rule 5)."""
    try:
        a_label = idna.ToASCII(label).decode("ascii")
        back = idna.ToUnicode(a_label)
    except UnicodeError:
        return ""
    return a_label if back == label.lower() else ""


_MAX_SKIPPED = 10
"""Addresses passed over that are described one by one: a Reply-To of 600 KB holds
100,000 of them, and each description goes into the trace."""
_MAX_EXAMINED = 100
"""Reply-To addresses judged at most: one with IDNA labels costs up to 2 ms, and a Reply-To
of 600 KB holds 3,000 such (6 s of CPU); past these, the rest are passed over unread."""


@dataclass(frozen=True, slots=True)
class ReplyAddress:
    """The address an automated reply goes to, and why any candidate before it was passed over."""

    address: Address | None
    skipped: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        """Why nobody gets the reply (empty when someone does)."""
        if self.address is not None:
            return ""
        return "no fully qualified address to reply to: " + "; ".join(self.skipped)


def reply_address(mail: ParsedMail) -> ReplyAddress:
    """Reply-To, else From (docs/handler.md §5), but only a fully qualified address.

    The first Reply-To address that `address_problem` accepts wins; failing
    that, From; failing that, nobody.  Each address passed over is recorded
    with its reason (escaped: it is remote text), the first ``_MAX_SKIPPED``
    of them; then how many more there were.  Past ``_MAX_EXAMINED`` Reply-To
    addresses, the rest are passed over without being judged.
    """
    skipped: list[str] = []
    passed_over = 0
    candidates = [("Reply-To", a) for a in mail.reply_to[:_MAX_EXAMINED]]
    unread = len(mail.reply_to) - len(candidates)
    if mail.from_ is not None:
        candidates.append(("From", mail.from_))
    chosen = None
    for label, candidate in candidates:
        problem = address_problem(candidate.address.strip())
        if problem is None:
            chosen = candidate
            break
        passed_over += 1
        if passed_over <= _MAX_SKIPPED:
            skipped.append(f"{label} {candidate.address[:80]!r}: {problem}")
    if chosen is None or label == "From":  # every Reply-To address was passed over
        passed_over += unread
    if passed_over > _MAX_SKIPPED:
        skipped.append(f"{passed_over - _MAX_SKIPPED} more addresses passed over")
    if chosen is None and mail.from_ is None:
        skipped.append("no From")
    return ReplyAddress(chosen, tuple(skipped))
