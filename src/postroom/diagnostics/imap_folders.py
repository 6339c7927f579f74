"""The folders an IMAP server lists, as a check's hint shows them: LIST answers parsed
(RFC 9051 §7.3.1), names decoded from modified UTF-7 (RFC 3501 §5.1.3), and bounded (at
most `SHOWN` names of at most `NAME_CHARS` characters): a server's folder names are its own
text, not ours. A person reads them escaped by the project's one escape for remote text
(`postroom.domain.display.for_terminal`, `shown_folders`); the JSON carries them exact
(`listed`: decoded, cut, never escaped)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

from postroom.domain.display import for_terminal

SHOWN = 50
NAME_CHARS = 100
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.){0,1000})"\s*$')
_ATOM = re.compile(rb"(\S{1,1000})\s*$")
_SHIFT = re.compile(r"&([A-Za-z0-9+,]{0,800})-")


def folder_names(data: Iterable[object]) -> list[str]:
    """The names in a LIST answer (``(\\HasNoChildren) "." "Done"``, or the name as a
    literal), in the server's order."""
    names: list[str] = []
    for item in data:
        raw: bytes | None = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            raw = item[1]
        elif isinstance(item, bytes):
            quoted = _QUOTED.search(item)
            if quoted is not None:
                raw = re.sub(rb"\\(.)", rb"\1", quoted.group(1))
            else:
                atom = _ATOM.search(item)
                raw = atom.group(1) if atom is not None else None
        if raw is not None:
            names.append(decode_utf7(raw.decode("utf-8", "replace")))
    return names


def decode_utf7(name: str) -> str:
    """Modified UTF-7 to text; a run that does not decode is left as it came."""

    def run(m: re.Match[str]) -> str:
        body = m.group(1)
        if not body:
            return "&"
        data = body.replace(",", "/")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError):
            return m.group(0)

    return _SHIFT.sub(run, name)


def shown_name(name: str) -> str:
    """``name`` for a person: cut at `NAME_CHARS` (``…`` when cut), control characters
    escaped by `for_terminal`."""
    return for_terminal(name[:NAME_CHARS]) + ("…" if len(name) > NAME_CHARS else "")


def _ordered(names: list[str]) -> list[str]:
    """INBOX first, then by name; at most `SHOWN`."""
    return sorted(names, key=lambda n: (n.upper() != "INBOX", n.casefold(), n))[:SHOWN]


def listed(names: list[str]) -> list[str]:
    """The names `shown_folders` shows, in its order, for the JSON (``detail.folders``):
    exact as decoded, each cut at `NAME_CHARS` characters, never escaped."""
    return [name[:NAME_CHARS] for name in _ordered(names)]


def shown_folders(names: list[str]) -> str:
    """At most `SHOWN` names (`shown_name`), comma separated (INBOX first, then by name);
    how many more there are."""
    if not names:
        return "no folders"
    shown = ", ".join(shown_name(n) for n in _ordered(names))
    more = len(names) - SHOWN
    return shown + (f" … and {more} more" if more > 0 else "")
