"""Structured header fields: address lists, dates and message identifiers.

Each function takes the raw (unfolded, not RFC 2047 decoded) field value,
returns plain values and appends readable defects instead of raising.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from postroom.domain.mail import Address
from postroom.mime.headers import decode_words

_WS = re.compile(r"\s+")


def addresses(
    values: list[str], defects: list[str] | None = None, what: str = "address"
) -> tuple[Address, ...]:
    """Every mailbox in the given address-list fields (RFC 5322 §3.4).

    Groups contribute their members (an empty group such as
    ``undisclosed-recipients:;`` contributes nothing); comments are dropped
    unless they are the only display name (``bob@example.com (Bob)``);
    entries without an address (garbage, lone words with no ``@`` that
    are not a bare local name) are skipped with a defect.
    """
    if not values:
        return ()
    found: list[Address] = []
    for raw_name, raw_address in _fast_pairs(values) or getaddresses(values):
        name = raw_name
        address = raw_address.strip().strip("<>").strip()
        if _UNSAFE.search(address):
            salvaged = _ADDR_SPEC.search(address)
            if defects is not None:
                defects.append(f"{what}: malformed address {address[:60]!r}")
            if salvaged is None:
                continue
            name = name or address[: salvaged.start()].strip(' "<')
            address = salvaged.group(0)
        if not address:
            if name.strip() and defects is not None:
                defects.append(f"{what}: no address in {name.strip()[:60]!r}")
            continue
        display = _WS.sub(" ", decode_words(name, defects, what)).strip() if name else ""
        found.append(Address(address=address, name=display))
    return tuple(found)


_UNSAFE = re.compile(r'[\s<>"]')
_ADDR_SPEC = re.compile(r'[^\s<>"(),;:]+@[^\s<>"(),;:]+')
_SIMPLE_ENTRY = re.compile(r"\s*(?:([^<>@]*?)\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*")
_SPECIALS = frozenset('"()\\:;[]')


def _fast_pairs(values: list[str]) -> list[tuple[str, str]] | None:
    """(name, address) pairs for the common simple forms, or None to use the full parser.

    ``getaddresses`` is a careful RFC 5322 §3.4 parser and the slowest step
    of parsing a message; most fields are just ``Name <a@b>, c@d``, which a
    regex reads exactly when no quotes, comments, groups or routes occur.
    """
    pairs: list[tuple[str, str]] = []
    for value in values:
        if not _SPECIALS.isdisjoint(value):
            return None
        for entry in value.split(","):
            if not entry.strip():
                continue
            match = _SIMPLE_ENTRY.fullmatch(entry)
            if match is None:
                return None
            name, angle, bare = match.groups()
            pairs.append((name or "", angle or bare))
    return pairs


def date(value: str | None, defects: list[str] | None = None) -> datetime | None:
    """The Date field as an aware datetime (RFC 5322 §3.3), None if absent or unreadable.

    ``-0000`` ("local time unknown", §3.3) and missing zones are read as UTC.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        if defects is not None:
            defects.append(f"date: unreadable Date {value[:60]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


_MSG_ID = re.compile(r"<([^<>\s]*)>")
_COMMENT = re.compile(r"\([^()]*\)")


def message_ids(value: str | None) -> list[str]:
    """All msg-ids in a field, in order, each as ``<id>`` (RFC 5322 §3.6.4).

    Tolerates the common breakage: ids without angle brackets, separated by
    commas or whitespace, and comments between them. Bare tokens count only
    when they look like an id (contain ``@``) or are the only token.
    """
    if not value:
        return []
    bracketed = [f"<{found}>" for found in _MSG_ID.findall(value) if found]
    if bracketed:
        return bracketed
    words = _COMMENT.sub(" ", value).replace(",", " ").split()
    tokens = [token for token in (word.strip("<>\"',;") for word in words) if token]
    if len(tokens) == 1:
        return [f"<{tokens[0]}>"]
    return [f"<{token}>" for token in tokens if "@" in token]


def first_message_id(value: str | None) -> str | None:
    """The first msg-id of a field (Message-ID, In-Reply-To), or None."""
    found = message_ids(value)
    return found[0] if found else None
