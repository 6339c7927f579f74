"""The pieces that read mail as people really send it, one rule at a time."""

from __future__ import annotations

import pytest

from postroom.mime import parse
from postroom.mime.embedded import tnef_files, uuencoded
from postroom.mime.fields import addresses
from postroom.mime.flowed import unflow
from postroom.mime.guess import Guess
from postroom.mime.headers import parse_header_block, unstructured
from postroom.mime.names import clean_name, name_from_type
from postroom.mime.replies import markers
from postroom.mime.report import classify, text_report


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?UTF-8?Q? Personal=C3=A4nderung?=", "Personaländerung"),
        ("=?us-ascii?Q?ABC / 123?=", "ABC / 123"),
        ("=?utf-8?B?5pel 5pys?=", "日本"),
        ("=?unicode-1-1-utf-7?Q?Caf+AOk?=", "Café"),
        ("a =?utf-8?Q?x?= b =?utf-8?Q?y", "a x b =?utf-8?Q?y"),
    ],
)
def test_loose_encoded_words(raw: str, expected: str) -> None:
    assert unstructured(raw) == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("=?iso-8859-1?Q?M=FCller,=20Hans?= <h@example.com>", [("h@example.com", "Müller, Hans")]),
        (
            '=?utf-8?Q?A,B?= <a@x.example>, "C, D" <c@x.example>',
            [("a@x.example", "A,B"), ("c@x.example", "C, D")],
        ),
        ("Peter Lang (Sales) <p@x.example>", [("p@x.example", "Peter Lang")]),
        ("p@x.example (Peter Lang)", [("p@x.example", "Peter Lang")]),
        ("'Mike Smith' <m@x.example>", [("m@x.example", "Mike Smith")]),
        ("John Smith", []),
        ("root", [("root", "")]),
    ],
)
def test_address_fields(field: str, expected: list[tuple[str, str]]) -> None:
    assert [(a.address, a.name) for a in addresses([field])] == expected


def test_unquoted_comma_name_is_one_mailbox_only_in_a_single_mailbox_field() -> None:
    value = "Baker, Tom <tom@fabrikam.example>"
    defects: list[str] = []
    single = addresses([value], defects, "From", single=True)
    assert [(a.address, a.name) for a in single] == [("tom@fabrikam.example", "Baker, Tom")]
    assert any("comma in an unquoted display name" in d for d in defects)
    # In an address list the comma separates entries, as RFC 5322 says.
    assert [a.address for a in addresses([value])] == ["Baker", "tom@fabrikam.example"]


def test_guess_prefers_the_declared_body_charset_then_detects() -> None:
    subject = "关于订单的问题".encode("gbk")
    declared = Guess(b"Content-Type: text/plain; charset=gb2312\n\n")
    assert declared.decode(subject) == ("关于订单的问题", "gb18030")
    body = "您好，我们的订单还没有收到，请尽快处理。谢谢！".encode("gbk")
    detected = Guess(b"Subject: " + subject + b"\n\n" + body)
    assert detected.decode(subject)[0] == "关于订单的问题"
    western = Guess("Subject: Grüße\n\nVielen Dank für die schnelle Lieferung.".encode("cp1252"))
    assert western.decode("Grüße".encode("cp1252")) == ("Grüße", "cp1252")


def test_header_block_repairs() -> None:
    long = b"Subject: " + b"x" * 70
    block = parse_header_block(long + b"\nrest of it\nTo: a@b.example\n\nbody")
    assert block.get("subject") == "x" * 70 + " rest of it"
    assert block.get("to") == "a@b.example"
    short = parse_header_block(b"To: a@b.example\njunk line\nSubject: s\n\nbody")
    assert short.get("to") == "a@b.example" and short.get("subject") == "s"
    body_start = parse_header_block(b"Subject: s\nHello Bob,\n\nmore\n")
    assert body_start.get("subject") == "s"
    assert any("no blank line" in d for d in body_start.defects)
    mbox = parse_header_block(b"From alice@example.com Mon Mar  2 10:00:00 2026\nTo: x@y\n\n")
    assert mbox.envelope_from == "alice@example.com"


def test_sender_fallback_order_and_record() -> None:
    raw = (
        b"From: \nSender: s@x.example\nReply-To: r@x.example\nReturn-Path: <p@x.example>\n"
        b"Subject: x\n\nbody\n"
    )
    mail = parse(raw)
    assert mail.from_ is not None and mail.from_.address == "s@x.example"
    assert mail.from_source == "sender"
    assert "sender taken from the Sender header (no usable From)" in mail.defects
    assert parse(raw.replace(b"Sender: s@x.example\n", b"")).from_source == "reply-to"
    local = parse(b"From: nobody\nReply-To: r@x.example\n\nx")
    assert local.from_ is not None and (local.from_.address, local.from_source) == (
        "r@x.example",
        "reply-to",
    )
    # The first Return-Path is empty: nothing better than the bare local name.
    kept = parse(b"Return-Path: <>\nFrom: nobody\nReturn-Path: <p@x.example>\n\nx")
    assert kept.from_ is not None and (kept.from_.address, kept.from_source) == ("nobody", "from")


def test_names() -> None:
    assert clean_name("=?utf-8?Q?Lieferschein_M=C3=A4rz.pdf?=") == "Lieferschein März.pdf"
    assert clean_name("C:\\Users\\ab\\scan.pdf") == "scan.pdf"
    assert clean_name("a\x00b.pdf") == "a b.pdf"
    assert name_from_type("application/pdf") == "attachment.pdf"
    assert name_from_type("image/png") == "image.png"
    assert name_from_type("message/rfc822", "Re: a/b") == "Re  a b.eml"
    assert name_from_type("message/rfc822") == "message.eml"
    assert name_from_type("application/x-whatever") == "attachment.bin"


def test_uuencoded_blocks_are_taken_out() -> None:
    text = "Hi\nbegin 644 a.txt\n+:&5L;&\\@=V]R;&0*\n`\nend\nBye\n"
    defects: list[str] = []
    rest, found = uuencoded(text, defects)
    assert [(p.name, p.size) for p in found] == [("a.txt", 11)]
    assert rest == "Hi\nBye\n"
    assert uuencoded("begin 644 reasons\nno end\n", [])[1] == []


def test_tnef_without_signature_or_files_stays_whole() -> None:
    defects: list[str] = []
    assert tnef_files(b"not tnef", defects) is None
    assert defects == ["winmail.dat could not be unpacked (no TNEF signature)"]


def test_flowed() -> None:
    assert unflow("a \nb\n\nc\n") == "a b\n\nc\n"
    assert unflow("日本 \n語\n", delsp=True) == "日本語\n"
    assert unflow("> q1 \n> q2\nnew\n") == "> q1 q2\nnew\n"
    assert unflow(" From here\n-- \nsig\n") == "From here\n-- \nsig\n"


@pytest.mark.parametrize(
    ("text", "quote", "signature"),
    [
        ("Yes.\n\nOn Mon, Bob <b@x> wrote:\n> q\n", "On Mon", None),
        ("Ja.\n\nAm 16.03.2026 schrieb Bob <b@x>:\n> q\n", "Am 16.03", None),
        ("Ok.\n-----Original Message-----\nFrom: x\n", "-----Original", None),
        ("Fine.\n\n-- \nBob\n", None, "-- \nBob"),
        ("> all quote\n> nothing new\n", None, None),
        ("Done.\n\nSent from my iPhone\n", None, "Sent from my iPhone"),
    ],
)
def test_reply_markers(text: str, quote: str | None, signature: str | None) -> None:
    quote_at, signature_at = markers(text)
    assert (text[quote_at:][: len(quote)] if quote_at is not None and quote else None) == quote
    assert (
        text[signature_at:][: len(signature)] if signature_at is not None and signature else None
    ) == signature


@pytest.mark.parametrize(
    ("status", "diagnostic", "action", "text", "kind"),
    [
        ("5.1.1", None, "failed", "", "hard"),
        ("4.2.2", None, "failed", "", "soft"),
        ("5.2.2", None, "delayed", "", "soft"),
        (None, "550 no such user", None, "", "hard"),
        (None, "452 try later", None, "", "soft"),
        (None, None, None, "mailbox full, will retry", "soft"),
        (None, None, None, "(reason: User unknown)", "hard"),
        (None, None, None, "something happened", None),
    ],
)
def test_bounce_kind(
    status: str | None, diagnostic: str | None, action: str | None, text: str, kind: str | None
) -> None:
    assert classify(status, diagnostic, action, text) == kind


def test_text_bounce_reads_only_above_the_copy() -> None:
    text = (
        "Your message wasn't delivered to gone@x.example because the address couldn't be found.\n"
        "--- Below this line is a copy of the message.\n\nTo: other@y.example\n"
        "Message-ID: <out@postroom.example>\n"
    )
    report = text_report(text, [])
    assert report is not None
    assert report.failed_recipients == ("gone@x.example",)
    assert report.original_message_ids == ("<out@postroom.example>",)
    assert report.kind == "hard"


def test_q_words_with_raw_8bit_characters_keep_them() -> None:
    assert unstructured("=?utf-8?Q?M=C3=BCller_Grüße?=") == "Müller Grüße"
    assert unstructured("=?iso-8859-1?Q?M=FCller_Grüße?=") == "Müller Grüße"


def test_named_text_part_with_a_disposition_is_an_attachment() -> None:
    raw = (
        b'From: a@b.example\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/html\n\n<p>Hello</p>\n"
        b'--b\nContent-Type: text/plain; name="notes.txt"\n'
        b'Content-Disposition: inline; filename="notes.txt"\n\nnotes\n--b--\n'
    )
    mail = parse(raw)
    assert [a.filename for a in mail.attachments] == ["notes.txt"]
    assert "Hello" in mail.body_text and "notes" not in mail.body_text


def test_other_renderings_in_an_alternative_are_not_attachments() -> None:
    raw = (
        b'From: a@b.example\nContent-Type: multipart/alternative; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nHello\n"
        b"--b\nContent-Type: text/x-amp-html\n\n<html amp4email>Hello</html>\n"
        b"--b\nContent-Type: text/html\n\n<p>Hello</p>\n"
        b"--b\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\n--b--\n"
    )
    assert [a.filename for a in parse(raw).attachments] == ["invite.ics"]


def test_a_text_bounce_from_an_ordinary_sender_is_known_by_its_subject() -> None:
    raw = (
        b"From: Mail System <mail@relay.example>\nSubject: Unzustellbar: Ihr Ticket\n\n"
        b"<weg@kunde.example>: 550 5.1.1 User unknown\n"
    )
    report = parse(raw).report
    assert report is not None and (report.failed_recipients, report.kind) == (
        ("weg@kunde.example",),
        "hard",
    )


def test_a_name_only_in_content_description() -> None:
    raw = (
        b'From: a@b.example\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nScan\n"
        b"--b\nContent-Type: application/pdf\nContent-Description: scan_0042.pdf\n\nx\n"
        b"--b\nContent-Type: application/pdf\nContent-Description: The scanned page\n\nx\n--b--\n"
    )
    assert [a.filename for a in parse(raw).attachments] == ["scan_0042.pdf", "attachment.pdf"]
