"""HTML mail as readable text (for display and matching) and as safe HTML (for display).

``read_html`` is what the parser uses when a message has no text/plain
part. It gives two texts from one pass over the markup:

* ``display``: the text for agents, with paragraphs and line breaks
  roughly where a browser puts them, list items as ``- `` lines, links as
  ``text <url>`` and images by their ``alt`` text. It becomes
  ``ParsedMail.body_text``.
* ``visible``: only the words a person sees (no link targets, no ``alt``
  text), which the body reference search reads (docs/handler.md §1, rule 4;
  ``ParsedMail.visible_text``).

Both leave out comments, scripts, styles and hidden elements: which
elements are seen is decided in one place, ``postroom.domain.visibility``,
on the linear tokenizer ``postroom.domain.markup``: its ``visible_text`` reads the
markup once, and the display layout here is made from the same events. Neither ``html.parser``
(quadratic on unterminated markup before CPython 3.13.5, CVE-2025-6069)
nor nh3 (quadratic in nesting depth) ever sees remote HTML for text, and
only the first ``MAX_MARKUP`` characters are read; ``truncated`` says so.

``sanitize_html`` is for showing mail to agents: nh3 (ammonia) drops
scripts, styles, event handlers, forms and frames; images load only from
``cid:`` and ``data:`` so that remote tracking pixels do not fire; links
stay links but open with ``rel="noopener noreferrer nofollow"``. html5ever
(under nh3) takes time that grows with the square of the number of open
elements and of character references in one text (measured for issue 10:
51,000 unclosed ``<div>`` 12.9 s, 512,000 ``&`` 3.0 s), so HTML longer than
``MAX_SANITIZED`` characters or with more than ``MAX_SANITIZED_DEPTH``
elements left open is shown as its display text instead, escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

import nh3

from postroom.domain.markup import END, MAX_MARKUP, START, TEXT, tokens
from postroom.domain.visibility import VOID, Event, visible_text

MAX_SANITIZED = 300_000
"""Characters of HTML handed to nh3 at most (300,000 "&" take about 1 s)."""
MAX_SANITIZED_DEPTH = 1_000
"""Elements left open at once in HTML handed to nh3 at most."""
# Elements whose end tag a browser implies: they do not nest by repetition.
_OPTIONAL_END = frozenset(
    (
        *("p", "li", "td", "th", "tr", "dt", "dd", "option", "optgroup", "tbody", "thead"),
        *("tfoot", "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body"),
    )
)

_BLOCK = frozenset(
    (
        *("address", "article", "aside", "blockquote", "center", "dd", "details", "div"),
        *("dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "main", "nav", "ol", "p", "pre", "section"),
        *("summary", "table", "tbody", "thead", "tfoot", "ul", "caption"),
    )
)
_PARAGRAPH = frozenset(("p", "h1", "h2", "h3", "table", "blockquote"))
_SPACES = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
# The look-behind lets a match start only where a run of blanks starts:
# without it a long run not followed by a line break is rescanned from each
# of its characters.
_TRAILING = re.compile(r"(?<![ \t])[ \t]+\n")
_LINK_TEXT_PIECES = 64
"""Pieces of a link's text compared with its target (a bound, not a rule)."""


@dataclass(frozen=True, slots=True)
class HtmlText:
    display: str
    visible: str
    truncated: bool
    """The markup was longer than ``MAX_MARKUP`` and its end was not read."""


class _Display:
    """Lays out the visible events as plain text for a person."""

    __slots__ = ("links", "out")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.links: list[tuple[str | None, int]] = []

    def add(self, event: Event) -> None:
        kind, tag, attrs, pre = event
        out = self.out
        if kind == TEXT:
            out.append(tag.replace("\n", "\x00") if pre else _SPACES.sub(" ", tag))
        elif kind == START:
            if tag == "br":
                out.append("\n")
            elif tag == "li":
                out.append("\n- ")
            elif tag in ("td", "th"):
                out.append(" ")
            elif tag == "tr":
                out.append("\n")
            elif tag == "a":
                self.links.append((attrs.get("href"), len(out)))
            elif tag == "img":
                alt = attrs.get("alt")
                if alt:
                    out.append(f" {alt} ")
            elif tag in _BLOCK:
                out.append("\n\n" if tag in _PARAGRAPH else "\n")
        elif tag == "a":
            if self.links:
                href, begin = self.links.pop()
                text = "".join(out[begin : begin + _LINK_TEXT_PIECES]).strip()
                if href and _worth_showing(href, text):
                    out.append(f" <{href.strip()}>")
        elif tag in _BLOCK:
            out.append("\n\n" if tag in _PARAGRAPH else "\n")

    def text(self) -> str:
        text = "".join(self.out)
        lines = [line.strip(" ") for line in text.split("\n")]
        text = "\n".join(lines).replace("\x00", "\n")
        text = _TRAILING.sub("\n", text)
        text = _BLANK_LINES.sub("\n\n", text)
        return text.strip("\n ")


def _worth_showing(href: str, text: str) -> bool:
    """Show a link's target unless it adds nothing (same as the text, or a fragment/cid/mailto)."""
    target = href.strip()
    if not target or target.startswith(("#", "cid:", "javascript:")):
        return False
    if target.startswith("mailto:"):
        return target[7:].split("?")[0] not in text
    return target.rstrip("/") not in text


def read_html(html: str) -> HtmlText:
    """The display text and the visible words of an HTML document, in one pass."""
    display = _Display()
    visible = visible_text(html, display.add)
    return HtmlText(display.text(), visible, len(html) > MAX_MARKUP)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML document: blocks and ``<br>`` become line
    breaks, list items ``- `` lines, links ``text <url>``; scripts, styles and
    hidden elements vanish."""
    return read_html(html).display


_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"title", "lang", "dir"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        lowered = value.strip().lower()
        # Remote images would tell the sender the mail was opened (tracking).
        return value if lowered.startswith(("cid:", "data:image/")) else None
    if attribute in ("href", "cite") and value.strip().lower().startswith("data:"):
        return None
    return value


def sanitize_html(html: str) -> str:
    """HTML safe to embed in the agent UI: no script, style, handlers, frames or remote images."""
    if len(html) > MAX_SANITIZED or _deepest(html) > MAX_SANITIZED_DEPTH:
        return f"<pre>{escape(html_to_text(html))}</pre>"
    return str(
        nh3.clean(
            html,
            attributes=_ALLOWED_ATTRIBUTES,
            attribute_filter=_attribute_filter,
            clean_content_tags={"script", "style", "title", "template", "noscript"},
            url_schemes=_URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )


def _deepest(html: str) -> int:
    """How many elements are open at once at most, counting only end tags that
    close an open element of their name (a stray one closes nothing)."""
    open_count: dict[str, int] = {}
    depth = deepest = 0
    for kind, name, _attrs in tokens(html):
        if kind == START and name not in VOID and name not in _OPTIONAL_END:
            open_count[name] = open_count.get(name, 0) + 1
            depth += 1
            deepest = max(deepest, depth)
        elif kind == END and open_count.get(name):
            open_count[name] -= 1
            depth -= 1
    return deepest
