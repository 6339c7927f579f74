"""Structured header fields: address lists, dates and message identifiers.

Each function takes the raw (unfolded, not RFC 2047 decoded) field value,
returns plain values and appends readable defects instead of raising.

Every value here is remote text, so the cost of reading it stays linear:

1. Our own patterns have no two quantifiers that can match the same text
   one after the other (each ``+`` stops at a character the next element
   needs), so a failed match never retries a run of characters more than
   a constant number of times.
2. ``email.utils.getaddresses`` (the full RFC 5322 §3.4 parser, for fields
   with quotes, comments, groups or routes) is linear but slow, about 2 µs
   a character, and recurses once per group, so it sees at most
   ``MAX_PARSED_ADDRESSES`` characters of a field (cut at an entry
   boundary, with a defect) and a failure of it is a defect, not a crash.
3. ``parsedate_to_datetime`` sees at most ``MAX_DATE`` characters: a real
   Date (§3.3) is some 40.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from postroom.domain.mail import Address
from postroom.mime.headers import decode_words

_WS = re.compile(r"\s+")

MAX_PARSED_ADDRESSES = 64_000
"""Characters of one kind of address field (all its To fields, say) the full parser reads."""
MAX_DATE = 1_000


def addresses(
    values: list[str], defects: list[str] | None = None, what: str = "address", single: bool = False
) -> tuple[Address, ...]:
    """Every mailbox in the given address-list fields (RFC 5322 §3.4).

    Groups contribute their members (an empty group such as
    ``undisclosed-recipients:;`` contributes nothing); comments are dropped
    unless they are the only display name (``bob@example.com (Bob)``);
    entries without an address (garbage, lone words with no ``@`` that
    are not a bare local name) are skipped with a defect.

    Encoded-words are decoded after the field is split, so one that holds a
    comma or another special (``=?iso-8859-1?Q?M=FCller,=20Hans?=``, which
    a mailer should have quoted) is set aside as a placeholder while the
    field is split and put back in the name. A name in single quotes
    (``'Mike Smith' <m@example.com>``, Outlook) loses them.
    """
    if not values:
        return ()
    if single and len(values) == 1:
        unquoted = _unquoted_comma_name(values[0], defects, what)
        if unquoted is not None:
            return (unquoted,)
    words: list[str] = []
    if any("=?" in value for value in values):
        values = [_ENCODED_SPECIAL.sub(lambda m: _hold(m, words), value) for value in values]
    found: list[Address] = []
    pairs = _fast_pairs(values)
    if pairs is None:
        pairs = _full_pairs(values, defects, what)
    entries: set[str] | None = None
    for raw_name, raw_address in pairs:
        name = _put_back(raw_name, words) if words else raw_name
        address = raw_address.strip().strip("<>").strip()
        if address and "@" not in address:
            if entries is None:
                entries = {e.strip().strip("<>").strip() for v in values for e in v.split(",")}
            if address not in entries:
                # "John Smith" read as the local part "John": no address at all.
                if defects is not None:
                    defects.append(f"{what}: no address in {address[:60]!r}")
                continue
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
        display = _display_name(name, defects, what) if name else ""
        found.append(Address(address=address, name=display))
    return tuple(found)


def _unquoted_comma_name(value: str, defects: list[str] | None, what: str) -> Address | None:
    """``Last, First <a@b>`` as one mailbox, or None when the field is not of that form."""
    open_at = value.find("<")
    if (
        open_at < 0
        or value.count("@") != 1
        or value.count("<") != 1
        or "," not in value[:open_at]
        or not _SPECIALS.isdisjoint(value)
    ):
        return None
    close_at = value.find(">", open_at)
    if close_at < 0:
        close_at = len(value)
    address = value[open_at + 1 : close_at].strip()
    if "@" not in address or value[close_at + 1 :].strip(" ,;"):
        return None
    if defects is not None:
        defects.append(f"{what}: comma in an unquoted display name read as part of the name")
    return Address(address=address, name=_display_name(value[:open_at], defects, what))


# An encoded-word (the shape of headers._ENCODED_WORD: linear); it is held
# back when it holds a character that splits address lists (RFC 5322 specials).
_ENCODED_SPECIAL = re.compile(r"=\?[^?\s*]+(?:\*[^?\s]*)?\?[bBqQ]\?[^?]*\?=")
_LIST_SPECIALS = frozenset(',;:<>@"()[]\\')
_HELD = re.compile("\ue000([0-9]{1,6})\ue001")


def _hold(match: re.Match[str], words: list[str]) -> str:
    word = match.group(0)
    if _LIST_SPECIALS.isdisjoint(word[2:-2]) or len(words) >= 100_000:
        return word
    words.append(word)
    return f"\ue000{len(words) - 1}\ue001"


def _put_back(text: str, words: list[str]) -> str:
    if "\ue000" not in text:
        return text
    return _HELD.sub(lambda m: words[int(m.group(1))] if int(m.group(1)) < len(words) else "", text)


def _display_name(name: str, defects: list[str] | None, what: str) -> str:
    """A display name as shown: encoded-words decoded, comments only when nothing else."""
    if "(" in name:
        bare = _COMMENT.sub(" ", name).strip()
        name = bare or name.replace("(", " ").replace(")", " ")
    display = _WS.sub(" ", decode_words(name, defects, what)).strip()
    if len(display) > 1 and display[0] == display[-1] and display[0] in "'\"":
        display = display[1:-1].strip()
    return display


_UNSAFE = re.compile(r'[\s<>"]')
# An addr-spec inside junk. The look-behind lets a match start only where a
# token starts, so a long token without "@" is scanned once, not once per
# character; any match inside a token also matches from its start, so the
# leftmost match is the same as without it.
_ADDR_SPEC = re.compile(r'(?<![^\s<>"(),;:])[^\s<>"(),;:]+@[^\s<>"(),;:]+')
# ``Name <local@domain>`` and ``local@domain``, applied to a stripped entry.
# Each run stops at the one character the next element needs ("<", "@",
# ">"), so a failed match costs one pass over the entry (issue 10: a local
# part that could also eat "@" made ``a@a@…a<`` quadratic).
_NAMED_ENTRY = re.compile(r"([^<>@]*)<([^<>\s@]+@[^<>\s]+)>")
_BARE_ENTRY = re.compile(r"[^<>\s@]+@[^<>\s]+")
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
        for raw_entry in value.split(","):
            entry = raw_entry.strip()
            if not entry:
                continue
            if _BARE_ENTRY.fullmatch(entry):
                pairs.append(("", entry))
                continue
            match = _NAMED_ENTRY.fullmatch(entry)
            if match is None:
                return None
            pairs.append((match.group(1).strip(), match.group(2)))
    return pairs


def _full_pairs(values: list[str], defects: list[str] | None, what: str) -> list[tuple[str, str]]:
    """(name, address) pairs from ``getaddresses``, its input bounded (rule 2)."""
    bounded: list[str] = []
    room = MAX_PARSED_ADDRESSES
    for value in values:
        if len(value) > room:
            cut = value.rfind(",", 0, room)
            bounded.append(value[: max(cut, 0)])
            if defects is not None:
                defects.append(f"{what}: address field too long, read the first {room} characters")
            break
        bounded.append(value)
        room -= len(value)
    try:
        return getaddresses(bounded)
    except (RecursionError, ValueError, IndexError, TypeError) as exc:
        if defects is not None:
            defects.append(f"{what}: unreadable address field ({type(exc).__name__})")
        return [("", spec) for value in bounded for spec in _ADDR_SPEC.findall(value)]


def date(value: str | None, defects: list[str] | None = None) -> datetime | None:
    """The Date field as an aware datetime (RFC 5322 §3.3), None if absent or unreadable.

    ``-0000`` ("local time unknown", §3.3) and missing zones are read as UTC.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value[:MAX_DATE].strip())
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
