"""Column types for remote text: what SQLite stores, PostgreSQL stores.

Every byte of a message or of a server's answer is someone else's choice, and the two
engines do not refuse the same things. The rules, in the order they apply:

1. NUL (U+0000) becomes U+FFFD: PostgreSQL's ``text`` cannot hold it, nor can its JSON
   (``\\u0000``); SQLite would keep it.
2. A lone surrogate (U+D800..U+DFFF), what ``bytes.decode(..., "surrogateescape")`` and
   ``os.fsdecode`` leave for bytes that are not UTF-8, becomes U+FFFD: no UTF-8 encoder
   takes one, so both drivers refuse them. U+FFFD is what a decoder writes for what it
   could not read; nothing else in the text changes.
3. Rules 1 and 2 apply inside JSON values too, to keys and strings at any depth.
4. No length limit: remote text goes in ``text`` columns. RFC 5322 §2.1.1 bounds a line
   (998 octets), not a header, whose folded lines can go on; servers break even the 70
   characters of a UIDL (RFC 1939 §7). The indexes over such columns are hash indexes or
   indexes on an MD5 of the value on PostgreSQL, whose btree entries stop at ~2.7 KB
   (migration 0004); SQLite's have no such limit.

`RemoteText` and `RemoteJSON` apply `storable` to every value bound to their columns:
inserts, updates and comparisons alike (a lookup by the hostile value finds its row), one
edge whichever repository function writes. Raw SQL strings do not go through it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import JSON, Dialect, Text
from sqlalchemy.types import TypeDecorator

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""One character class, no quantifier: linear in the text."""


def storable(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (rules 1 and 2)."""
    if text.isascii():  # the common case: only NUL can be there
        return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_json(value: Any) -> Any:
    """A JSON-able value with `storable` applied to every string in it, keys included.

    Most values hold nothing to replace, and a walk over them in Python costs twice what
    the JSON encoder (C) takes to write them: they are written first, and walked only
    when the text shows a NUL (written ``\\u0000`` whatever the options) or a lone
    surrogate (the one thing UTF-8 cannot encode, kept as it is with ``ensure_ascii``
    off). A ``\\u0000`` written as text in a string is walked too, and left as it is.
    """
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON as it is: the walk keeps what it does not know
        return _storable_walk(value)
    if "\\u0000" not in text:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return value
    return _storable_walk(value)


def _storable_walk(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {
            storable(k) if isinstance(k, str) else k: _storable_walk(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_storable_walk(v) for v in value]
    return value


class RemoteText(TypeDecorator[str]):
    """Unbounded text from a message or a server, made `storable` on its way in."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return storable(value) if isinstance(value, str) else value


class RemoteJSON(TypeDecorator[Any]):
    """JSON holding remote text, made `storable` on its way in (rule 3)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return storable_json(value)
