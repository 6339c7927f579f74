"""References count only in text a person sees (issue 10, "hidden HTML").

Each row is an HTML body holding the reference of an existing Ticket in one
place. The message goes to the Email Handler twice: parsed from raw bytes
(the MIME layer gives the handler the visible words), and as a hand-built
``ParsedMail`` holding only the HTML (the handler reads the HTML itself).
A hidden reference must not match the body rule; a visible one must.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postroom.domain.decision import MatchedBy
from postroom.domain.handler import decide
from postroom.domain.mail import ParsedMail
from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from postroom.domain.workitems import ItemType, Reference, State, WorkItemView
from postroom.mime import parse
from unit.domain.fakes import InMemoryHandlerContext

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
TICKET = Reference(100001, ItemType.TICKET)
REF = str(TICKET)
SUPPORT = Route("support@example.com", "Acme/Support", "Query", "support")

HIDDEN = {
    "display-none": f'<div style="display:none">{REF}</div>',
    "display-none-spaced": f'<div style="color:red; DISPLAY : None !important">{REF}</div>',
    "display-none-commented": f'<div style="display:/* x */none">{REF}</div>',
    "visibility-hidden": f'<span style="visibility:hidden">{REF}</span>',
    "visibility-collapse": f'<table><tr><td style="visibility: collapse">{REF}</td></tr></table>',
    "hidden-attribute": f"<div hidden>{REF}</div>",
    "hidden-attribute-valued": f'<p hidden="hidden">{REF}</p>',
    "opacity-zero": f'<p style="opacity:0">{REF}</p>',
    "opacity-zero-decimal": f'<p style="opacity: 0.00;">{REF}</p>',
    "font-size-zero": f'<span style="font-size:0px">{REF}</span>',
    "mso-hide": f'<div style="mso-hide:all">{REF}</div>',
    "zero-height-clipped": f'<div style="max-height:0;overflow:hidden">{REF}</div>',
    "nested-in-hidden": f'<div style="display:none"><p><b>{REF}</b></p></div>',
    "hidden-never-closed": f'<div style="display:none"><p>{REF}',
    "stray-end-tags-inside": f'<div style="display:none"></span></p></b>{REF}</div>',
    "image-alt": f'<img src="cid:logo" alt="{REF}">',
    "link-target": f'<a href="https://shop.example/track/{REF}">Track it</a>',
    "link-title": f'<a href="https://shop.example/" title="{REF}">Shop</a>',
    "comment": f"<p>Hello</p><!-- {REF} -->",
    "comment-unclosed": f"<p>Hello</p><!-- {REF}",
    "script": f'<script>var ref = "{REF}";</script>',
    "style": f"<style>/* {REF} */ p {{}}</style>",
    "title": f"<html><head><title>{REF}</title></head><body>Hi</body></html>",
    "template": f"<template><p>{REF}</p></template>",
    "noscript": f"<noscript>{REF}</noscript>",
    "unclosed-tag": f'<p>Hello <a href="x" title="{REF}',
}

VISIBLE = {
    "plain-paragraph": f"<p>About {REF}, thanks</p>",
    "after-hidden-block": f'<div style="display:none">x</div><p>{REF}</p>',
    "next-paragraph-ends-hidden-one": f'<p style="display:none">x<p>{REF}',
    "next-item-ends-hidden-one": f"<ul><li hidden>x<li>{REF}</ul>",
    "next-cell-ends-hidden-one": f'<table><tr><td style="display:none">x<td>{REF}</table>',
    "display-block": f'<div style="display:block">{REF}</div>',
    "half-opacity": f'<div style="opacity:0.5">{REF}</div>',
    "font-size-ten": f'<div style="font-size:10px">{REF}</div>',
    "zero-height-not-clipped": f'<div style="height:0">{REF}</div>',
    "aria-hidden-is-on-screen": f'<div aria-hidden="true">{REF}</div>',
    "other-attribute": f'<div data-style="display:none">{REF}</div>',
    "link-text": f'<a href="https://shop.example/">{REF}</a>',
    "head-closed-by-body-content": f"<html><head><title>t</title><p>{REF}",
    "split-by-inline-markup": f"<p>{REF[:3]}<b>{REF[3:]}</b></p>",
    "entity-encoded": "<p>" + "".join(f"&#{ord(c)};" for c in REF) + "</p>",
    "after-zero-padded-entity": f"<p>&#{'0' * 5_000}65; {REF}</p>",  # int() refuses 4,300 digits
}


def _raw(body: str, subtype: str = "html") -> bytes:
    return (
        "From: alice@customer.example\nTo: support@example.com\nSubject: Hello\n"
        "Message-ID: <h@customer.example>\nMIME-Version: 1.0\n"
        f"Content-Type: text/{subtype}; charset=utf-8\n\n{body}\n"
    ).encode()


def _matched_by(mail: ParsedMail) -> MatchedBy | None:
    world = (
        InMemoryHandlerContext()
        .with_route(SUPPORT)
        .with_item(WorkItemView(TICKET, State.TODO, queue="support"))
    )
    return decide(mail, world, HandlerSettings(), NOW).matched_by


def _ways(markup: str) -> list[ParsedMail]:
    parsed = parse(_raw(markup))
    built = ParsedMail(from_=parsed.from_, to=parsed.to, message_id=parsed.message_id, html=markup)
    return [parsed, built]


@pytest.mark.parametrize("markup", list(HIDDEN.values()), ids=list(HIDDEN))
def test_hidden_reference_is_not_matched(markup: str) -> None:
    for mail in _ways(markup):
        assert _matched_by(mail) is None, mail.visible_text


@pytest.mark.parametrize("markup", list(VISIBLE.values()), ids=list(VISIBLE))
def test_visible_reference_is_matched(markup: str) -> None:
    for mail in _ways(markup):
        assert _matched_by(mail) is MatchedBy.BODY, (mail.visible_text, mail.body_text)


def test_display_text_keeps_link_targets_and_alt_text_that_are_not_searched() -> None:
    mail = parse(_raw(HIDDEN["link-target"] + HIDDEN["image-alt"]))
    assert f"Track it <https://shop.example/track/{REF}>" in mail.body_text
    assert REF in mail.body_text.split(">", 1)[1]  # the alt text, after the link
    assert mail.visible_text == "Track it"


def test_plain_text_body_is_searched_as_it_is() -> None:
    mail = parse(_raw(f"See {REF}", "plain"))
    assert mail.visible_text is None
    assert _matched_by(mail) is MatchedBy.BODY
