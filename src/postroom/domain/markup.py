"""HTML as a stream of tokens, read in time linear in its length.

Mail HTML is remote text and is often broken. The stdlib ``html.parser`` of
the Pythons we run takes quadratic time on unterminated constructs
(CVE-2025-6069: ``<a`` × 300,000 runs for minutes), and html5ever (nh3)
is quadratic in nesting depth and in character references (measured for
issue 10: 200,000 nested ``<div>`` 5.7 s, 800,000 ``&#`` 3.3 s). This
tokenizer follows the WHATWG HTML tokenization rules (§13.2.5) as far as
reading text needs them, and never reads a character more than a constant
number of times:

1. Text runs to the next ``<`` that starts markup; a ``<`` that starts
   nothing (``a < b``) is text. Character references are decoded (§13.5);
   a decimal reference of eight or more significant digits is out of range
   and becomes U+FFFD without being converted to a number, and leading zeros
   are dropped before one is (``int()`` refuses 4,300 digits, zeros included).
2. ``<!--`` starts a comment that ends at the next ``-->``; ``<!`` (DOCTYPE,
   CDATA) and ``<?`` start a bogus comment that ends at the next ``>``;
   ``</`` not followed by a letter likewise. Comments are dropped.
3. ``<`` + ASCII letter starts a start tag, ``</`` + letter an end tag.
   A tag ends at the first ``>`` that is not inside a quoted attribute
   value (quotes count only right after ``=``). Names are lowercased; of
   repeated attributes the first counts (§13.2.5.33).
4. The content of raw text elements (``script``, ``style`` …) runs to
   their end tag and is handed over undecoded as ``RAW``; that of
   ``title`` and ``textarea`` (RCDATA) is decoded text.
5. A comment, tag or raw text element that is still open at the end of the
   input swallows the rest, as in a browser: nothing after it is text.
6. Only the first ``MAX_MARKUP`` characters are read (the caller records
   that the rest was dropped).

Every step either advances with ``str.find`` / a compiled search, or
matches an anchored pattern whose quantifiers cannot match the same
characters one after another, so a failed step never rescans.
"""

from __future__ import annotations

import html
import re
from collections.abc import Generator, Iterator

MAX_MARKUP = 2_000_000
"""Characters of one HTML body that are read at all (about 2 MB of ASCII)."""

TEXT, START, END, RAW = range(4)

RAW_TEXT = frozenset(("script", "style", "xmp", "iframe", "noembed", "noframes", "noscript"))
RCDATA = frozenset(("title", "textarea"))


Token = tuple[int, str, dict[str, str]]
"""(kind, value, attributes): kind is TEXT, START, END or RAW; value the decoded
text (TEXT), the raw content (RAW) or the lowercased tag name; attributes
(START only) map lowercased names to decoded values. Plain tuples: a
document may have hundreds of thousands of tokens."""


_NO_ATTRS: dict[str, str] = {}
_WS = "\t\n\f\r "  # HTML's ASCII whitespace (§13.2.5): no other space separates
_TAG_NAME = re.compile(rf"[A-Za-z][^{_WS}/>]*")
# The common case in one step: a start or end tag without attributes.
_PLAIN_TAG = re.compile(rf"<(/?)([A-Za-z][^{_WS}/>]*)[{_WS}/]*>")
# Before an attribute: whitespace and stray slashes, then a name whose first
# character may be anything but those and ">" (even "=" or a quote).
_ATTR_NAME = re.compile(rf"[{_WS}/]*([^{_WS}/>][^{_WS}/>=]*)?")
# A whole attribute in one step when its value is complete; the quote
# alternatives are tried first, so a value that opens a quote but does not
# close it leaves the match at the "=" and the slow path takes over.
_ATTRIBUTE = re.compile(
    rf"[{_WS}/]*([^{_WS}/>][^{_WS}/>=]*)"
    rf"(?:[{_WS}]*=[{_WS}]*(?:\"([^\"]*)\"|'([^']*)'|([^{_WS}>\"'][^{_WS}>]*)))?"
)
_EQUALS = re.compile(rf"[{_WS}]*=[{_WS}]*")
_UNQUOTED = re.compile(rf"[^{_WS}>]*")
# A decimal reference html.unescape must not be given as it is: one with
# leading zeros or of eight or more digits.
_LONG_DECIMAL = re.compile(r"&#(?=0|[0-9]{8})0*([0-9]*)(;?)")
_END_TAGS: dict[str, re.Pattern[str]] = {}


def tokens(markup: str) -> Iterator[Token]:
    """The tokens of ``markup`` (its first ``MAX_MARKUP`` characters), in order."""
    if len(markup) > MAX_MARKUP:
        markup = markup[:MAX_MARKUP]
    size = len(markup)
    pos = 0
    while pos < size:
        lt = markup.find("<", pos)
        if lt < 0:
            yield (TEXT, unescape(markup[pos:]), _NO_ATTRS)
            return
        if lt > pos:
            yield (TEXT, unescape(markup[pos:lt]), _NO_ATTRS)
        plain = _PLAIN_TAG.match(markup, lt)
        if plain is None:
            pos = yield from _markup(markup, lt)
        else:
            name = plain.group(2).lower()
            pos = plain.end()
            if plain.group(1):
                yield (END, name, _NO_ATTRS)
            else:
                yield (START, name, _NO_ATTRS)
                if name in RAW_TEXT or name in RCDATA:
                    pos = yield from _raw_content(markup, name, pos)
        if pos < 0:
            return  # rule 5: the input ended inside a construct


def _markup(markup: str, lt: int) -> Generator[Token, None, int]:
    """The construct that starts with the ``<`` at ``lt``: its tokens, then the
    position after it, or -1 when the input ends inside it."""
    nxt = markup[lt + 1 : lt + 2]
    if nxt.isascii() and nxt.isalpha():
        parsed = _tag(markup, lt + 1)
        if parsed is None:
            return -1
        name, attrs, pos = parsed
        yield (START, name, attrs)
        if name in RAW_TEXT or name in RCDATA:
            pos = yield from _raw_content(markup, name, pos)
        return pos
    if nxt == "/":
        after = markup[lt + 2 : lt + 3]
        if not (after.isascii() and after.isalpha()):
            return _past(markup, ">", lt + 2)  # "</>" or a bogus comment
        parsed = _tag(markup, lt + 2)
        if parsed is None:
            return -1
        yield (END, parsed[0], _NO_ATTRS)
        return parsed[2]
    if nxt == "!":
        if markup.startswith("<!--", lt):
            return _comment_end(markup, lt + 4)
        return _past(markup, ">", lt + 2)
    if nxt == "?":
        return _past(markup, ">", lt + 2)
    yield (TEXT, "<", _NO_ATTRS)
    return lt + 1


def unescape(text: str) -> str:
    """Text with its character references decoded (rule 1)."""
    if "&" not in text:
        return text
    if "&#" in text:
        text = _LONG_DECIMAL.sub(_short_decimal, text)
    return html.unescape(text)


def _short_decimal(match: re.Match[str]) -> str:
    """A decimal reference without leading zeros, or U+FFFD when it is out of range."""
    digits, semicolon = match.groups()
    return "\ufffd" if len(digits) > 7 else f"&#{digits or '0'}{semicolon}"


def _raw_content(markup: str, name: str, pos: int) -> Generator[Token, None, int]:
    """Rule 4: the content of a raw text or RCDATA element and its end tag;
    returns the position after the end tag, or -1 when the input ended first."""
    close = _end_tag(name).search(markup, pos)
    content = markup[pos : len(markup) if close is None else close.start()]
    if content:
        raw = name in RAW_TEXT
        yield (RAW, content, _NO_ATTRS) if raw else (TEXT, unescape(content), _NO_ATTRS)
    if close is None:
        return -1
    yield (END, name, _NO_ATTRS)
    rest = _attributes(markup, close.end())
    return -1 if rest is None else rest[1]


def _tag(markup: str, start: int) -> tuple[str, dict[str, str], int] | None:
    """Name, attributes and the position after the ``>`` of the tag whose name is at ``start``."""
    match = _TAG_NAME.match(markup, start)
    if match is None:  # pragma: no cover - callers checked for a letter
        return None
    found = _attributes(markup, match.end())
    if found is None:
        return None
    attrs, end = found
    return match.group().lower(), attrs, end


def _attributes(markup: str, pos: int) -> tuple[dict[str, str], int] | None:
    """The attributes from ``pos`` to the tag's ``>``, and the position after it."""
    attrs: dict[str, str] = {}
    size = len(markup)
    while True:
        attr = _ATTRIBUTE.match(markup, pos)
        if attr is None:  # only separators, then ">" or the end
            pos = _ATTR_NAME.match(markup, pos).end()  # type: ignore[union-attr]
            return (attrs, pos + 1) if pos < size else None
        attr_name, double, single, bare = attr.groups()
        pos = attr.end()
        if double is not None or single is not None or bare is not None:
            value = double if double is not None else single if single is not None else bare
        else:
            equals = _EQUALS.match(markup, pos)
            value = ""
            if equals is not None:  # "=" then an unclosed quote, or the end
                pos = equals.end()
                if pos >= size:
                    return None
                close = markup.find(markup[pos], pos + 1)
                if close < 0:
                    return None  # rule 5: the value runs to the end of the input
                value = markup[pos + 1 : close]
                pos = close + 1
        key = attr_name.lower()
        if key not in attrs:
            attrs[key] = unescape(value) if "&" in value else value


def _end_tag(name: str) -> re.Pattern[str]:
    pattern = _END_TAGS.get(name)
    if pattern is None:
        pattern = _END_TAGS[name] = re.compile(rf"</{name}(?=[{_WS}/>])", re.IGNORECASE)
    return pattern


def _past(markup: str, needle: str, pos: int) -> int:
    found = markup.find(needle, pos)
    return -1 if found < 0 else found + len(needle)


def _comment_end(markup: str, body: int) -> int:
    """After ``<!--``: the end of the comment (``<!-->`` and ``<!--->`` are empty ones)."""
    if markup.startswith(">", body):
        return body + 1
    if markup.startswith("->", body):
        return body + 2
    return _past(markup, "-->", body)
