"""Composing outbound mail from hostile text (issue 10, items 7 and 9).

Checked on the bytes `compose` produces, the way a receiving MTA and a mail
client read them: threading headers are raw ids (RFC 5322 §3.6.4), never RFC
2047 words and never folded inside an id; no header carries a control
character; an address that cannot be written correctly is not written.
"""

from __future__ import annotations

import random
import string
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mime.autoreply import compose_automated
from postroom.mime.compose import Attachment, compose
from postroom.mime.header_text import header_text, subject_with_reference
from postroom.mime.outgoing import Composed, UnwritableSender
from postroom.mime.templates import parse_template
from support.headers import field_lines

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
SENDER = "support@example.test"
CUSTOMER = "carol@customer.test"
ID_FIELDS = ("message-id", "in-reply-to", "references")
MAX_LINE = 998  # RFC 5322 §2.1.1, without the CRLF

# Every character a header must never carry: C0, DEL, C1, and the Unicode line
# and paragraph separators (str.splitlines() breaks on several of them).
CONTROLS = (
    [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)] + ["\u2028", "\u2029"]
)


def ids_written(raw: bytes, name: str) -> list[str]:
    lines = field_lines(raw, name)
    if not lines:
        return []
    value = b" ".join(lines).split(b":", 1)[1]
    return value.decode("ascii").split()


def assert_threading_is_raw(raw: bytes) -> None:
    for name in ID_FIELDS:
        for line in field_lines(raw, name):
            assert b"=?" not in line, line[:120]
            assert len(line) <= MAX_LINE
            for token in line.split(b":", 1)[-1].split():
                assert token.startswith(b"<") and token.endswith(b">"), token[:80]


_ID_LEFT = string.ascii_letters + string.digits + "!#$%&'*+-/=^_`{|}~"


def make_id(rng: random.Random, length: int) -> str:
    """A msg-id of exactly ``length`` characters, brackets included (like Exchange's)."""
    right = "SL2P216MB1234.KORP216.PROD.OUTLOOK.COM"
    left_len = max(1, length - len(right) - 3)
    left = "".join(rng.choice(_ID_LEFT) for _ in range(left_len))
    if "=?" in left:
        left = left.replace("=?", "=x")
    made = f"<{left}@{right}>"
    return made[: length - 1] + ">" if len(made) > length else made


def reply(**kw: object) -> bytes:
    args: dict[str, object] = {
        "sender": SENDER,
        "to": [CUSTOMER],
        "subject": "Re: your question",
        "body": "Hello\n",
        "now": NOW,
    }
    args.update(kw)
    return compose(**args).raw  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [20, 77, 78, 79, 110, 160, 400, 900, 980, 996, 997])
def test_an_id_of_any_sane_length_is_written_raw_and_whole(length: int) -> None:
    rng = random.Random(length)
    original = make_id(rng, length)
    older = [make_id(rng, rng.randint(20, length)) for _ in range(5)]
    raw = reply(in_reply_to=original, references=(*older, original))
    assert_threading_is_raw(raw)
    assert ids_written(raw, "in-reply-to") == [original]
    assert ids_written(raw, "references") == [*older, original]
    parsed = message_from_bytes(raw, policy=default)
    assert str(parsed["In-Reply-To"]).strip() == original


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=3, max_value=997), min_size=1, max_size=30), st.randoms())
def test_generated_chains_thread_and_only_fold_between_ids(
    lengths: list[int], rng: random.Random
) -> None:
    ids = [make_id(rng, n) for n in lengths]
    ids = list(dict.fromkeys(ids))
    raw = reply(in_reply_to=ids[-1], references=tuple(ids))
    assert_threading_is_raw(raw)
    assert ids_written(raw, "in-reply-to") == [ids[-1]]
    written = ids_written(raw, "references")
    assert written == ids[-len(written) :]  # the newest ones, in order
    assert len(written) >= min(len(ids), 20)


@pytest.mark.parametrize(
    "absurd",
    [
        "<" + "a" * 2_000_000 + "@customer.test>",
        "<" + "b" * 996 + "@x>",
        "<" + "c" * 5000 + "@customer.test>",
        "<with space@customer.test>",
        "<nul\x00@customer.test>",
        "<esc\x1b[2J@customer.test>",
        "<=?utf-8?q?x?=@customer.test>",
        "<caf\u00e9@customer.test>",
        "<line\u2028sep@customer.test>",
        "no-brackets@customer.test",
        "<>",
        "<a<b@customer.test>",
    ],
)
def test_an_absurd_or_unwritable_id_is_not_copied(absurd: str) -> None:
    good = "<good.1@customer.test>"
    raw = reply(in_reply_to=absurd, references=(good, absurd))
    assert_threading_is_raw(raw)
    assert ids_written(raw, "in-reply-to") == []
    assert ids_written(raw, "references") == [good]
    assert len(raw) < 10_000


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_no_control_character_reaches_any_header(char: str) -> None:
    subject = f"Invoice{char}42 {char}overdue{char}"
    composed = compose(
        sender=SENDER,
        to=[CUSTOMER],
        subject=subject,
        body="Hello\n",
        now=NOW,
        sender_name=f"Support{char}Desk",
        in_reply_to=f"<x{char}y@customer.test>",
    )
    head = composed.raw.split(b"\r\n\r\n", 1)[0]
    assert all(0x20 <= b < 0x7F or b in b"\r\n" for b in head)
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    parsed = message_from_bytes(composed.raw, policy=default)
    for name, value in parsed.items():
        text = str(value)
        bad = [c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
        assert not bad, (name, text)
    assert "Invoice" in str(parsed["Subject"]) and "overdue" in str(parsed["Subject"])
    assert composed.subject == str(parsed["Subject"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_makes_a_clean_subject(text: str) -> None:
    composed = compose(sender=SENDER, to=[CUSTOMER], subject=text, body="b\n", now=NOW)
    parsed = message_from_bytes(composed.raw, policy=default)
    subject = str(parsed["Subject"])
    assert not [c for c in subject if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs")]
    assert subject == header_text(text)


def test_header_text_bounds_remote_text() -> None:
    assert len(header_text("x" * 2_000_000)) <= 1000


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("jos\u00e9\u202e@customer.test", "format character"),
        ("\u00e9l\u00e8ve@stra\u00dfe.example", "U-label"),
        ("user@b\u00fccher", "qualified"),
        ("all-staff", "domain"),
        ("user@localhost", "qualified"),
        ('"ab"@customer.test', "quoted"),
        ('"a b"@customer.test', "white space"),
        ("x\x00@customer.test", "control"),
    ],
)
def test_an_address_that_cannot_be_written_is_left_out_with_its_reason(
    address: str, why: str
) -> None:
    composed = compose(
        sender=SENDER,
        to=[address, CUSTOMER],
        cc=[address],
        subject="s",
        body="b\n",
        now=NOW,
    )
    to_lines = b" ".join(field_lines(composed.raw, "to"))
    assert b"=?" not in to_lines
    assert to_lines.split(b":", 1)[1].strip() == CUSTOMER.encode()
    assert field_lines(composed.raw, "cc") == []
    assert composed.recipients == (CUSTOMER,)
    assert [a for a, _ in composed.left_out] == [address]
    assert why in composed.left_out[0][1]


def test_a_sender_that_cannot_be_written_is_refused() -> None:
    with pytest.raises(UnwritableSender):
        compose(
            sender="jos\u00e9\u200b@example.test", to=[CUSTOMER], subject="s", body="b", now=NOW
        )


INTERNATIONAL = ["chlo\u00e9.garcia@customer.test", "\u5f20\u4f1f@\u4f8b\u5b50.\u4e2d\u56fd"]


@pytest.mark.parametrize("writer", [compose, compose_automated])
def test_internationalised_addresses_are_written_in_utf8_as_they_are(
    writer: Callable[..., Composed],
) -> None:
    # RFC 6532: UTF-8 in the address fields, never an encoded word (RFC 2047 §5).
    sender = "d\u00e9sk@b\u00fccher.example"
    composed = writer(
        sender=sender,
        sender_name="Chlo\u00e9's desk",
        to=[*INTERNATIONAL, CUSTOMER],
        subject="s",
        body="b\n",
        now=NOW,
    )
    head = composed.raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?" not in b"".join(field_lines(head, "to"))
    assert b"".join(field_lines(head, "from")).endswith(f"<{sender}>".encode())
    assert composed.recipients == (*INTERNATIONAL, CUSTOMER)
    assert composed.left_out == ()
    parsed = message_from_string(composed.raw.decode("utf-8"), policy=default)
    assert [a.addr_spec for a in parsed["To"].addresses] == [*INTERNATIONAL, CUSTOMER]
    (sent_by,) = parsed["From"].addresses
    assert (sent_by.display_name, sent_by.addr_spec) == ("Chlo\u00e9's desk", sender)
    # the display name is still an encoded word; our id is written in A-labels
    assert b"From: =?utf-8?" in head
    assert composed.message_id.endswith("@xn--bcher-kva.example>")
    assert composed.message_id.isascii()


def test_template_values_cannot_add_header_lines_or_controls() -> None:
    template = "Subject: [$reference] $subject\n\nHello $sender_name,\nabout: $subject\n"
    evil = "Hi\n\nBcc: victim@example.com\u2028Subject: x\x0b\x1c\x85"
    subject, body = parse_template(template).render({"reference": "101203-T", "subject": evil})
    assert subject == header_text(f"[101203-T] {evil}")
    assert "\n" not in subject and "Bcc: victim" in subject
    assert body.startswith("Hello $sender_name,\nabout: Hi\n")


def test_reference_tag_removal_is_linear_on_hostile_subjects() -> None:
    for worst in (" " * 100_000, " [1" * 100_000, "[" * 100_000, " [123-" * 50_000):
        started = time.monotonic()
        subject_with_reference(worst, "101203-T")
        assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_attachment_names_carry_no_control_character(char: str) -> None:
    attachment = Attachment(f"pay{char}slip.pdf", "application/pdf", b"%PDF-1.4")
    composed = compose(
        sender=SENDER, to=[CUSTOMER], subject="s", body="b\n", now=NOW, attachments=(attachment,)
    )
    parsed = message_from_bytes(composed.raw, policy=default)
    for part in parsed.walk():
        for name, value in part.items():
            text = str(value)
            assert not [c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")], name
    (found,) = list(parsed.iter_attachments())
    assert found.get_filename() == header_text(attachment.filename)
