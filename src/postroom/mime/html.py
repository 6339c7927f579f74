"""HTML mail as readable text (for matching and display) and as safe HTML (for display).

``html_to_text`` is what the handler reads when a message has no text/plain
part: the body reference search (handler.md §1, rule 4) needs the words a
person would see, in order, with paragraphs and line breaks roughly where a
browser puts them. It is built on ``html.parser`` (stdlib, fast, never
raises on bad markup) rather than a DOM: mail HTML is rarely well formed.

``sanitize_html`` is for showing mail to agents: nh3 (ammonia) drops
scripts, styles, event handlers, forms and frames; images load only from
``cid:`` and ``data:`` so that remote tracking pixels do not fire; links
stay links but open with ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_BLOCK = frozenset(
    (
        *("address", "article", "aside", "blockquote", "center", "dd", "details", "div"),
        *("dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "main", "nav", "ol", "p", "pre", "section"),
        *("summary", "table", "tbody", "thead", "tfoot", "ul", "caption"),
    )
)
_PARAGRAPH = frozenset(("p", "h1", "h2", "h3", "table", "blockquote"))
_SKIP = frozenset(("script", "style", "head", "title", "template", "noscript", "xml", "object"))
_SPACES = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_TRAILING = re.compile(r"[ \t]+\n")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.links: list[str | None] = []
        self.link_text_start: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "tr":
            self.out.append("\n")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
            self.link_text_start.append(len(self.out))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f" {alt} ")
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag in _PARAGRAPH else "\n")
        if tag == "pre":
            self.pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "a" and self.links:
            href = self.links.pop()
            begin = self.link_text_start.pop()
            text = "".join(self.out[begin:]).strip()
            if href and _worth_showing(href, text):
                self.out.append(f" <{href.strip()}>")
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag in _PARAGRAPH else "\n")
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            self.out.append(data.replace("\n", "\x00"))  # protected from whitespace folding
        else:
            self.out.append(_SPACES.sub(" ", data))


def _worth_showing(href: str, text: str) -> bool:
    """Show a link's target unless it adds nothing (same as the text, or a fragment/cid/mailto)."""
    target = href.strip()
    if not target or target.startswith(("#", "cid:", "javascript:")):
        return False
    if target.startswith("mailto:"):
        return target[7:].split("?")[0] not in text
    return target.rstrip("/") not in text


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML document: blocks and ``<br>`` become line
    breaks, list items ``- `` lines, links ``text <url>``; scripts and styles vanish."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except (AssertionError, ValueError):  # very old html.parser versions on broken markup
        pass
    text = "".join(collector.out)
    lines = [line.strip(" ") for line in text.split("\n")]
    text = "\n".join(lines).replace("\x00", "\n")
    text = _TRAILING.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip("\n ")


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
