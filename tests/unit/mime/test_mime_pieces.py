"""Table-driven tests of the MIME layer's pieces: words, parameters, fields, charsets, HTML."""

from __future__ import annotations

import base64

import pytest

from postroom.domain.mail import Address
from postroom.mime import content_hash, html_to_text, parse, sanitize_html
from postroom.mime.charset import decode_text
from postroom.mime.fields import addresses, message_ids
from postroom.mime.headers import parse_header_block, unstructured
from postroom.mime.params import parse_value
from postroom.mime.transfer import decoded_size


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain subject", "plain subject"),
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),  # RFC 2047 §6.2: space dropped
        ("Re: =?utf-8?q?a?= b =?utf-8?q?c?=", "Re: a b c"),
        ("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "€"),  # one character split over two words
        ("=?iso-8859-1?q?=E9t=E9?= =?utf-8?q?=C3=A9?=", "étéé"),
        ("=?utf-8*en?q?hello?=", "hello"),  # RFC 2231 §5 language tag
        ("long\r\n folded\r\n\tsubject", "long folded subject"),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("=?utf-8?B?!!!?=", "=?utf-8?B?!!!?="),
    ],
)
def test_unstructured(raw: str, expected: str) -> None:
    assert unstructured(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("text/plain", ("text/plain", {})),
        ('Text/HTML; Charset="UTF-8"', ("text/html", {"charset": "UTF-8"})),
        (
            "attachment; filename*=iso-8859-1'en'%E9t%E9.txt",
            ("attachment", {"filename": "été.txt"}),
        ),
        (
            'attachment; filename*0="a "; filename*1="b.txt"',
            ("attachment", {"filename": "a b.txt"}),
        ),
        ('inline; filename="quo\\"ted.txt"', ("inline", {"filename": 'quo"ted.txt'})),
        ("multipart/mixed; boundary=simple", ("multipart/mixed", {"boundary": "simple"})),
        ("", ("", {})),
    ],
)
def test_parameters(raw: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_value(raw) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a@example.com"], [Address("a@example.com")]),
        (
            ["Anna <a@example.com>, b@example.com"],
            [Address("a@example.com", "Anna"), Address("b@example.com")],
        ),
        (['"Doe, Jane" <jane@example.com>'], [Address("jane@example.com", "Doe, Jane")]),
        (["=?utf-8?q?J=C3=B6rg?= <j@example.de>"], [Address("j@example.de", "Jörg")]),
        (['"=?utf-8?q?J=C3=B6rg?=" <j@example.de>'], [Address("j@example.de", "Jörg")]),
        (["undisclosed-recipients:;"], []),
        (
            ["team: a@example.com, b@example.com;"],
            [Address("a@example.com"), Address("b@example.com")],
        ),
        (["x@example.com (Comment Name)"], [Address("x@example.com", "Comment Name")]),
        (["<>"], []),
        (["", "c@example.com"], [Address("c@example.com")]),
    ],
)
def test_addresses(values: list[str], expected: list[Address]) -> None:
    assert list(addresses(values)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<a@b>", ["<a@b>"]),
        ("a@b", ["<a@b>"]),
        ("  <a@b>  <c@d>\r\n <e@f>", ["<a@b>", "<c@d>", "<e@f>"]),
        ("a@b c@d", ["<a@b>", "<c@d>"]),
        ("a@b, c@d", ["<a@b>", "<c@d>"]),
        ('Your message of "Mon" <a@b>', ["<a@b>"]),
        ("<a@b> (comment)", ["<a@b>"]),
        ("", []),
        ("<>", []),
    ],
)
def test_message_ids(raw: str, expected: list[str]) -> None:
    assert message_ids(raw) == expected


@pytest.mark.parametrize(
    ("data", "label", "text", "defect"),
    [
        (b"caf\xc3\xa9", "utf-8", "café", None),
        (b"caf\xc3\xa9", "utf8", "café", None),
        (b"caf\xe9", "iso-8859-1", "café", None),
        (b"\x93q\x94", "iso-8859-1", "“q”", None),  # windows-1252 labelled latin-1
        (b"\x81", "iso-8859-1", "\x81", None),  # undefined in cp1252, valid latin-1
        (b"caf\xe9", "utf-8", "café", "not valid in declared charset"),
        (b"caf\xc3\xa9", "x-unknown", "café", "unknown charset"),
        (b"caf\xc3\xa9", None, "café", "without a charset"),
        (b"\x8d\x81\x90", None, "\x8d\x81\x90", "decoded as latin-1"),
        (b"plain", "rot13", "plain", None),  # ASCII fast path; rot13 is no charset
        (b"\x1b$BF|K\\\x1b(B", "iso-2022-jp", "日本", None),
        (b"\xe6\x97", "base64", "æ—", "unknown charset"),  # not a text codec
    ],
)
def test_decode_text(data: bytes, label: str | None, text: str, defect: str | None) -> None:
    got_text, got_defect = decode_text(data, label)
    assert got_text == text
    if defect is None:
        assert got_defect is None
    else:
        assert got_defect is not None and defect in got_defect


def test_header_block_keeps_first_value_and_all_values() -> None:
    block = parse_header_block(b"Received: a\nReceived: b\n continued\nSUBJECT : x\n\nbody")
    assert block.get("received") == "a"
    assert block.get_all("received") == ["a", "b continued"]
    assert block.get("subject") == "x"
    assert block.body_start == len(b"Received: a\nReceived: b\n continued\nSUBJECT : x\n\n")


def test_missing_separator_starts_body_at_first_non_header_line() -> None:
    mail = parse(b"From: a@example.com\nSubject: s\nthis is body text\nmore\n")
    assert mail.subject == "s"
    assert mail.body_text == "this is body text\nmore\n"
    assert any("no blank line" in defect for defect in mail.defects)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 57, 58, 1000, 4097])
def test_base64_size_is_computed_without_decoding(size: int) -> None:
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    encoded = b"\n" + base64.encodebytes(payload) + b"\n"
    assert decoded_size(encoded, 0, len(encoded), "base64") == size
    crlf = encoded.replace(b"\n", b"\r\n")
    assert decoded_size(crlf, 0, len(crlf), "base64") == size


def test_quoted_printable_size() -> None:
    data = b"caf=C3=A9 soft=\nbreak\n"
    assert decoded_size(data, 0, len(data), "quoted-printable") == len("café softbreak\n".encode())


def test_html_to_text_blocks_lists_links_and_scripts() -> None:
    html = (
        "<html><head><style>p{}</style><script>evil()</script></head><body>"
        "<p>One&nbsp;&amp;&#32;two</p><div>Three<br>Four</div>"
        "<ol><li>a</li><li>b</li></ol>"
        '<a href="https://x.example/p">the portal</a> '
        '<a href="https://x.example/q">https://x.example/q</a>'
        "<!-- hidden comment --></body></html>"
    )
    text = html_to_text(html)
    assert "evil" not in text and "p{}" not in text and "hidden" not in text
    assert text.startswith("One & two\n\nThree\nFour")
    assert "- a\n- b" in text
    assert "the portal <https://x.example/p>" in text
    assert text.count("https://x.example/q") == 1


@pytest.mark.parametrize(
    "html", ["", "<", "<p", "</p></p>", "<a href=x>", "&#xffffffff;", "<![CDATA["]
)
def test_html_to_text_survives_broken_markup(html: str) -> None:
    assert isinstance(html_to_text(html), str)


def test_sanitize_html_removes_active_and_remote_content() -> None:
    dirty = (
        '<p onclick="steal()" style="background:url(https://t.example/px)">Hi</p>'
        "<script>alert(1)</script><style>body{}</style>"
        '<img src="https://t.example/open.gif"><img src="cid:logo@x" alt="logo">'
        '<a href="javascript:alert(1)">js</a><a href="https://ok.example/">ok</a>'
        '<iframe src="https://t.example/"></iframe><form action="https://t.example/"></form>'
    )
    clean = sanitize_html(dirty)
    for bad in ("onclick", "style", "script", "alert", "t.example", "iframe", "form"):
        assert bad not in clean
    assert 'src="cid:logo@x"' in clean
    assert 'href="https://ok.example/"' in clean
    assert "noopener" in clean


def test_content_hash_ignores_transit_headers_and_line_endings() -> None:
    one = b"From: a@example.com\nSubject: s\n\nbody\n"
    two = (
        b"Return-Path: <a@example.com>\r\nReceived: x\r\n y\r\nFrom: a@example.com\r\n"
        b"Delivered-To: box@example.com\r\nSubject: s\r\nX-Original-To: q@example.com\r\n"
        b"\r\nbody\r\n"
    )
    assert content_hash(one) == content_hash(two)
    assert content_hash(one) != content_hash(one.replace(b"body", b"Body"))
    assert content_hash(one) != content_hash(one.replace(b"Subject: s", b"Subject: t"))


def test_return_path_empty_is_told_from_missing() -> None:
    assert parse(b"Return-Path: <>\nFrom: a@b.example\n\nx").headers["return-path"] == "<>"
    assert parse(b"From: a@b.example\n\nx").return_path_present is False


def test_attachment_disposition_inline_text_and_octet_stream_winmail() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nbody\n"
        b'--b\nContent-Type: text/plain; name="log.txt"\nContent-Disposition: inline\n\nlog\n'
        b'--b\nContent-Type: application/octet-stream; name="WINMAIL.DAT"\n\nxx\n'
        b"--b--\n"
    )
    mail = parse(raw)
    assert mail.body_text == "body"
    assert [(a.filename, a.content_type, a.inline) for a in mail.attachments] == [
        ("log.txt", "text/plain", True),
        ("WINMAIL.DAT", "application/ms-tnef", False),
    ]


def test_boundary_prefix_of_a_longer_line_is_not_a_delimiter() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="ab"\n\n'
        b"--ab\nContent-Type: text/plain\n\nline\n--abc is not a delimiter\n--ab--\n"
    )
    mail = parse(raw)
    assert mail.body_text == "line\n--abc is not a delimiter"
    assert mail.defects == ("no From header", "no Message-ID header")


def test_deep_nesting_is_cut_with_a_defect() -> None:
    depth = 60
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth)
    )
    mail = parse(b"From: a@b.example\n" + head + b"Content-Type: text/plain\n\ndeep\n")
    assert any("too deep" in defect for defect in mail.defects)


def test_blank_plain_alternative_falls_back_to_html() -> None:
    raw = (
        b'Content-Type: multipart/alternative; boundary="a"\n\n'
        b"--a\nContent-Type: text/plain\n\n \n"
        b"--a\nContent-Type: text/html\n\n<p>Ref 100200-T</p>\n"
        b"--a--\n"
    )
    mail = parse(raw)
    assert mail.body_text == "Ref 100200-T"
    assert mail.html == "<p>Ref 100200-T</p>"
