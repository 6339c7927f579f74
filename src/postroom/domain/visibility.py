"""What a person sees of an HTML body: the rule behind matching references in HTML mail.

A reference counts only in text a reader can see (issue 10: a Ticket number
in a ``display:none`` block, an image's ``alt`` text or a link target must
not move a message onto that Ticket, since a sender could hide one there on
purpose). ``visible_events`` reads the tokens of ``postroom.domain.markup``
with a small open-element stack and passes on only what is shown:

1. Comments, ``script``, ``style``, ``title``, ``noscript``, ``template``,
   ``object``, ``xml``, ``iframe`` and ``head`` content are never shown.
2. An element with the ``hidden`` attribute or a ``style`` that declares
   ``display:none``, ``visibility:hidden`` or ``collapse``, ``opacity:0``,
   ``font-size:0``, ``mso-hide:all`` (Outlook), or a zero height or width
   together with ``overflow:hidden``, hides everything inside it.
   Style sheets are not evaluated: a class that hides is not seen as hiding.
3. Attribute values (``alt``, ``title``, ``href``) are not text: the
   display text may show them (``postroom.mime.html``), the visible text
   never has them.
4. End tags a browser implies are implied here too, so a hidden element
   ends where the browser ends it: a ``<p>`` at the next block, an
   ``<li>`` at the next item, a cell at the next cell or row, ``head`` at
   the first element that belongs to the body. An end tag closes the
   innermost open element of its name and everything opened inside it;
   one that closes nothing is ignored.

The stack records, per tag name, where its open elements are, so every
step costs constant time however deep the nesting (a stray end tag is not
searched for down the stack).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from postroom.domain.markup import END, RAW, START, TEXT, tokens

VOID = frozenset(
    (
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link"),
        *("meta", "param", "source", "track", "wbr"),
    )
)
_UNSEEN = frozenset(("head", "template", "object", "xml", "title", "datalist"))
_PREFORMATTED = frozenset(("pre", "listing", "textarea", "xmp"))
_SEEN_RAW = frozenset(("xmp",))
_HEAD_CONTENT = frozenset(
    ("base", "link", "meta", "noscript", "script", "style", "template", "title", "object")
)
_CLOSES_P = frozenset(
    (
        *("address", "article", "aside", "blockquote", "center", "details", "dialog", "dir"),
        *("div", "dl", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2"),
        *("h3", "h4", "h5", "h6", "header", "hgroup", "hr", "main", "menu", "nav", "ol", "p"),
        *("pre", "listing", "section", "summary", "table", "ul", "li", "dd", "dt", "xmp"),
    )
)
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_SCOPE = ("table", "td", "th", "caption", "button", "object", "template", "marquee", "html")
_CELL_SCOPE = ("table", "tr")
_ROW_SCOPE = ("table",)
_LIST_SCOPE = (*_SCOPE, "ul", "ol")
_DEFINITION_SCOPE = (*_SCOPE, "dl")

_HIDING = re.compile(
    r"(?<![\w-])(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|mso-hide\s*:\s*all"
    r"|(?:opacity|font-size)\s*:\s*(?:0+(?:\.0*)?|\.0+)[a-z%]*\s*(?:[;!]|$))"
)
_ZERO_SIZE = re.compile(
    r"(?<![\w-])(?:max-)?(?:height|width)\s*:\s*(?:0+(?:\.0*)?|\.0+)[a-z%]*\s*(?:[;!]|$)"
)
_CLIPPED = re.compile(r"(?<![\w-])overflow(?:-[xy])?\s*:\s*hidden")


Event = tuple[int, str, dict[str, str], bool]
"""Something a person sees: (kind, value, attributes, preformatted). Kind is
TEXT (value: the text; preformatted: inside ``pre``, white space is kept),
START or END (value: the tag name; attributes: START only). Plain tuples:
a document may have hundreds of thousands of them."""

_NO_ATTRS: dict[str, str] = {}


@dataclass(slots=True)
class _Stack:
    names: list[str] = field(default_factory=list)
    hidden: list[bool] = field(default_factory=list)
    where: dict[str, list[int]] = field(default_factory=dict)
    """Tag name -> stack positions of its open elements, innermost last."""
    preformatted: int = 0

    def push(self, name: str, hidden: bool) -> None:
        found = self.where.get(name)
        if found is None:
            self.where[name] = [len(self.names)]
        else:
            found.append(len(self.names))
        self.names.append(name)
        self.hidden.append(hidden)
        if name in _PREFORMATTED:
            self.preformatted += 1

    def innermost(self, name: str) -> int:
        found = self.where.get(name)
        return found[-1] if found else -1

    def in_scope(self, name: str, boundaries: tuple[str, ...]) -> int:
        """The innermost open ``name`` with no boundary element opened inside it, or -1."""
        where = self.where
        found = where.get(name)
        if not found:
            return -1
        at = found[-1]
        for boundary in boundaries:
            inside = where.get(boundary)
            if inside and inside[-1] > at:
                return -1
        return at

    def pop_to(self, at: int, words: list[str] | None) -> Iterator[Event]:
        """Close the element at ``at`` and everything inside it (see ``visible_events``)."""
        names, hidden, where = self.names, self.hidden, self.where
        while len(names) > at:
            name = names.pop()
            where[name].pop()
            if name in _PREFORMATTED:
                self.preformatted -= 1
            if not hidden.pop():
                if words is not None and name not in _INLINE:
                    words.append(" ")
                yield (END, name, _NO_ATTRS, False)


def visible_events(markup: str, words: list[str] | None = None) -> Iterator[Event]:
    """The text and elements of ``markup`` a person sees, in document order.

    With ``words``, the pieces of the visible text (``VisibleWords``) are
    appended to it on the way, which saves a second pass.
    """
    stack = _Stack()
    names, hidden = stack.names, stack.hidden
    for kind, value, attrs in tokens(markup):
        if kind == TEXT:
            if names and names[-1] == "head" and not value.isspace():
                yield from stack.pop_to(len(names) - 1, words)
            if not hidden or not hidden[-1]:
                if words is not None:
                    words.append(value)
                yield (TEXT, value, _NO_ATTRS, stack.preformatted > 0)
        elif kind == START:
            if names and (value in _IMPLIES or names[-1] == "head"):
                at = _implied_end(stack, value)
                if at >= 0:
                    yield from stack.pop_to(at, words)
            unseen = (hidden and hidden[-1]) or value in _UNSEEN or _hides(attrs)
            if value not in VOID:
                stack.push(value, unseen)
            if not unseen:
                if words is not None and value not in _INLINE:
                    words.append(" ")
                yield (START, value, attrs, False)
        elif kind == END:
            if value == "br":  # "</br>" is read as "<br>" (§13.2.6.4.7)
                if not hidden or not hidden[-1]:
                    if words is not None:
                        words.append(" ")
                    yield (START, "br", _NO_ATTRS, False)
                continue
            at = stack.innermost(value)
            if at >= 0:
                yield from stack.pop_to(at, words)
        elif kind == RAW and names and names[-1] in _SEEN_RAW and not hidden[-1]:
            if words is not None:
                words.append(value)
            yield (TEXT, value, _NO_ATTRS, True)
    yield from stack.pop_to(0, words)


def _implied_end(stack: _Stack, name: str) -> int:
    """Where to close before opening ``name`` (rule 4), or -1.

    Every implied end closes the innermost element of some name and what is
    inside it, so several of them together close down to the outermost one.
    """
    at = -1
    if stack.names[-1] == "head" and name not in _HEAD_CONTENT:
        at = len(stack.names) - 1
    if name in _CLOSES_P:
        p = stack.in_scope("p", _SCOPE)
        if p >= 0:
            at = p if at < 0 else min(at, p)
    closes = _CLOSES.get(name)
    if closes is not None:
        for closed, boundaries in closes:
            found = stack.in_scope(closed, boundaries)
            if found >= 0:
                at = found if at < 0 else min(at, found)
    if name in _HEADINGS and stack.names[-1] in _HEADINGS:
        top = len(stack.names) - 1
        at = top if at < 0 else min(at, top)
    return at


_TABLE_PARTS = ("td", "th", "tr", "tbody", "thead", "tfoot")
_CLOSES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "li": (("li", _LIST_SCOPE),),
    "dd": (("dd", _DEFINITION_SCOPE), ("dt", _DEFINITION_SCOPE)),
    "dt": (("dd", _DEFINITION_SCOPE), ("dt", _DEFINITION_SCOPE)),
    "td": (("td", _CELL_SCOPE), ("th", _CELL_SCOPE)),
    "th": (("td", _CELL_SCOPE), ("th", _CELL_SCOPE)),
    "tr": tuple((part, _ROW_SCOPE) for part in ("td", "th", "tr")),
    "tbody": tuple((part, _ROW_SCOPE) for part in _TABLE_PARTS),
    "thead": tuple((part, _ROW_SCOPE) for part in _TABLE_PARTS),
    "tfoot": tuple((part, _ROW_SCOPE) for part in _TABLE_PARTS),
    "a": (("a", _SCOPE),),
    "option": (("option", ()),),
    "optgroup": (("option", ()), ("optgroup", ())),
    "body": (("head", ()),),
}
_IMPLIES = _CLOSES_P | _HEADINGS | frozenset(_CLOSES)


def _hides(attrs: dict[str, str]) -> bool:
    """Rule 2: does this element hide its content?"""
    if "hidden" in attrs:
        return True
    style = attrs.get("style")
    if not style:
        return False
    css = _without_comments(style).lower()
    return bool(_HIDING.search(css)) or bool(_ZERO_SIZE.search(css) and _CLIPPED.search(css))


def _without_comments(css: str) -> str:
    """CSS without ``/* … */`` comments (which may split a declaration), in one pass."""
    if "/*" not in css:
        return css
    kept: list[str] = []
    pos = 0
    while True:
        start = css.find("/*", pos)
        if start < 0:
            kept.append(css[pos:])
            break
        kept.append(css[pos:start])
        end = css.find("*/", start + 2)
        if end < 0:
            break
        pos = end + 2
    return "".join(kept)


def visible_text(markup: str, on_event: Callable[[Event], None] | None = None) -> str:
    """The words of an HTML body a person sees, in order, for matching references: the one
    reading of HTML as text, for the handler and for the MIME layer.

    Elements other than inline ones separate their words by a space, so
    that text in adjacent cells or paragraphs does not run together into
    one token (which would hide a reference from the word rule, or make
    one). Runs of white space become one space: the body rule counts
    characters of what is read, not of the source's indentation.

    ``on_event`` is given every visible event on the way, so a layout for display
    (`postroom.mime.html`) is made in the same pass over the markup.
    """
    words: list[str] = []
    for event in visible_events(markup, words):
        if on_event is not None:
            on_event(event)
    return _SPACES.sub(" ", "".join(words)).strip()


_SPACES = re.compile(r"\s+")
_INLINE = frozenset(
    (
        *("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i"),
        *("kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time"),
        *("u", "var", "strike", "big", "tt", "nobr", "label", "html", "body"),
    )
)
