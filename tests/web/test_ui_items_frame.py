"""The frame document of a mail's HTML without a server: what nh3's two passes keep and
drop, the ``cid:`` rewrite, remote images on request, HTML too deep or too long for nh3
shown as text, and the frame's policy."""

from __future__ import annotations

import time

from postroom.mime.html import MAX_SANITIZED
from postroom.services.mail_frame import FRAME_STYLE, frame_document, frame_policy


def _urls(cid: str) -> str | None:
    return {"logo@x": "/communications/7/parts/0?t=abc"}.get(cid)


def test_cid_images_point_at_postroom_and_an_unknown_one_loses_its_src() -> None:
    html = (
        '<img src="cid:logo@x" alt="a"><img src="CID:<logo@x>" alt="b"><img src="cid:zz" alt="c">'
    )
    body = frame_document(html, _urls).html
    assert body.count('src="/communications/7/parts/0?t=abc"') == 2
    assert '<img alt="c">' in body and "cid:" not in body


def test_what_the_frame_keeps_and_drops() -> None:
    html = (
        '<a href="data:text/html,x">d</a><a href="/logout">r</a><a href="https://ok.example/">o</a>'
        '<img src="data:image/png;base64,AAAA"><img src="data:text/html,x">'
        '<img src="//evil.example/p.gif"><img src="https://evil.example/p.gif">'
        '<style>p{}</style><p style="color:red" onclick="x()">text</p><!-- note -->'
    )
    found = frame_document(html, _urls)
    body = found.html
    assert found.remote_images
    assert 'href="https://ok.example/"' in body and 'target="_blank"' in body
    for gone in ("data:text", "/logout", "evil.example", "p{}", "style=", "onclick", "note"):
        assert gone not in body.split("</style>", 1)[1], gone
    assert 'src="data:image/png;base64,AAAA"' in body
    shown = frame_document(html, _urls, remote=True).html
    assert 'src="https://evil.example/p.gif"' in shown
    assert "onclick" not in shown and "/logout" not in shown
    assert not frame_document("<p>plain</p>", _urls).remote_images


def test_html_nh3_should_not_read_is_shown_as_text_quickly() -> None:
    deep = "<div>" * 5_000 + '<img src="https://evil.example/p.gif">'
    long = "<p>" + "x" * (MAX_SANITIZED + 10) + '<img src="cid:logo@x">'
    for html in (deep, long):
        started = time.monotonic()
        found = frame_document(html, _urls, remote=True)
        assert time.monotonic() - started < 5
        assert "<pre>" in found.html and "<img" not in found.html
        assert not found.remote_images


def test_the_policy_allows_only_its_own_style_and_images() -> None:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(FRAME_STYLE.encode()).digest()).decode()
    policy = frame_policy()
    assert f"style-src 'sha256-{digest}'" in policy
    assert "img-src 'self' data:;" in policy and "script-src" not in policy
    assert policy.endswith("sandbox allow-popups allow-popups-to-escape-sandbox")
    assert "img-src 'self' data: https: http:;" in frame_policy(remote=True)
    assert f"<style>{FRAME_STYLE}</style>" in frame_document("<p>x</p>", _urls).html
