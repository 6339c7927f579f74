"""A received mail's HTML as the document of the sandboxed frame of the item page
(docs/web.md, safety rules): sanitised, with its inline images (``cid:``) pointing at
Postroom and its remote images left out unless a person asked for them.

Two nh3 passes over HTML that `sanitize_html` already read within its bounds (HTML it
shows as escaped text, too long or too deep for nh3, stays that text):

1. the mail's HTML, cleaned: no script, style, event handler, form, frame, no relative
   URL (``url_relative="deny"``: nothing of the mail reaches a Postroom path), images only
   from ``cid:`` and ``data:image/`` (and ``http(s)`` when remote images are asked for),
   links opening in a new browsing context without a referrer;
2. the result again, each ``<img src="cid:…">`` rewritten to the part URL the caller gives
   (an unknown Content-ID loses its ``src``).

The frame's Content-Security-Policy (`frame_policy`) is the second wall: were anything to
slip through nh3, it still could not run or load.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Literal

import nh3

from postroom.mime.html import MAX_SANITIZED, html_to_text, sanitize_html
from postroom.services.communications import CommunicationService

FRAME_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:8px;color:#1b1f24;"
    "overflow-wrap:anywhere}img{max-width:100%;height:auto}"
    "table{max-width:100%}pre{white-space:pre-wrap}"
)
"""The frame's one style block (allowed by its hash, never by 'unsafe-inline')."""
_STYLE_HASH = base64.b64encode(hashlib.sha256(FRAME_STYLE.encode()).digest()).decode()
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"title", "lang", "dir"},
}
_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
_CLEANED = {"script", "style", "title", "template", "noscript"}
_REMOTE = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class FrameDocument:
    html: str
    """A whole HTML document to serve with `frame_policy`."""
    remote_images: bool
    """The mail's HTML asks for remote images (left out unless shown)."""


def frame_document(
    html: str, part_url: Callable[[str], str | None], *, remote: bool = False
) -> FrameDocument:
    """The frame's document for a mail's ``html``: ``part_url(content_id)`` is where an
    inline image of that Content-ID (without ``<>``) is served, None when there is none."""
    strict = sanitize_html(html)
    if len(html) > MAX_SANITIZED or (
        strict.startswith("<pre>") and strict == f"<pre>{escape(html_to_text(html))}</pre>"
    ):
        return FrameDocument(_wrap(strict), False)  # nh3 never saw it: shown as text
    asked: list[bool] = []

    def first(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "cite") and value.strip().lower().startswith("data:"):
            return None
        if tag == "img" and attribute == "src":
            lowered = value.strip().lower()
            if lowered.startswith(_REMOTE):
                asked.append(True)
                return value if remote else None
            return value if lowered.startswith(("cid:", "data:image/")) else None
        return value

    cleaned = _clean(html, first, relative="deny")

    def second(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src" and value.strip().lower().startswith("cid:"):
            return part_url(value.strip()[4:].strip("<>"))
        return value

    return FrameDocument(_wrap(_clean(cleaned, second, relative="pass_through")), bool(asked))


def frame_policy(*, remote: bool = False) -> str:
    """The frame's Content-Security-Policy: images from Postroom and ``data:`` (remote ones
    too once asked for), its own style block, nothing else; sandboxed even when opened
    on its own; framed by Postroom's pages only."""
    images = "'self' data:" + (" https: http:" if remote else "")
    return (
        f"default-src 'none'; img-src {images}; style-src 'sha256-{_STYLE_HASH}'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )


def _clean(
    html: str,
    keep: Callable[[str, str, str], str | None],
    relative: Literal["deny", "pass_through"],
) -> str:
    return str(
        nh3.clean(
            html,
            attributes=_ATTRIBUTES,
            attribute_filter=keep,
            clean_content_tags=_CLEANED,
            url_schemes=_SCHEMES,
            url_relative=relative,
            link_rel="noopener noreferrer nofollow",
            set_tag_attribute_values={"a": {"target": "_blank"}},
            strip_comments=True,
        )
    )


def _wrap(body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{FRAME_STYLE}</style></head><body>{body}</body></html>"
    )


def content_ids(parts: Mapping[int, str | None]) -> dict[str, int]:
    """Content-ID (without ``<>``, as written) → the part's index, first one wins."""
    found: dict[str, int] = {}
    for index, cid in parts.items():
        if cid:
            found.setdefault(cid.strip().strip("<>"), index)
    return found


class MailFrames:
    """The frame documents of stored communications."""

    def __init__(self, communications: CommunicationService) -> None:
        self.communications = communications

    def document(
        self, communication_id: int, part_url: Callable[[int], str], *, remote: bool = False
    ) -> FrameDocument | None:
        """The frame of the communication's HTML (None when it has none); an inline image
        is served at ``part_url(index)`` of its attachment."""
        mail = self.communications.messages.show(communication_id).mail  # parse's budget
        if mail is None or mail.html is None:
            return None
        ids = content_ids({i: a.content_id for i, a in enumerate(mail.attachments)})

        def url(cid: str) -> str | None:
            index = ids.get(cid)
            return part_url(index) if index is not None else None

        return frame_document(mail.html, url, remote=remote)
