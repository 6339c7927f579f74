"""The hand-written header fields, rule by rule (mime/header_writer.py's numbered rules)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_string
from email.header import decode_header, make_header
from email.policy import default
from email.utils import format_datetime

import pytest

from postroom.mime import header_writer as fields

ENCODED_WORD = re.compile(r"=\?utf-8\?([qb])\?([^?\s]*)\?=")


def lines_of(field: str) -> list[str]:
    assert field.endswith("\r\n")
    return field[:-2].split("\r\n")


def value_of(field: str) -> str:
    """The field's value unfolded (RFC 5322 §2.2.3) and decoded per RFC 2047."""
    unfolded = field[:-2].replace("\r\n", "")
    return str(make_header(decode_header(unfolded.split(":", 1)[1].strip())))


def test_a_plain_subject_is_written_as_it_is() -> None:
    assert fields.unstructured("Subject", "[101203-T] Hello there") == (
        "Subject: [101203-T] Hello there\r\n"
    )


def test_an_empty_subject_is_an_empty_field() -> None:
    assert fields.unstructured("Subject", "") == "Subject: \r\n"


def test_long_text_folds_at_white_space_within_78() -> None:
    text = " ".join(["word"] * 60)
    written = fields.unstructured("Subject", text)
    assert all(len(line) <= 78 for line in lines_of(written))
    assert "=?" not in written
    assert written[:-2].replace("\r\n", "") == f"Subject: {text}"


@pytest.mark.parametrize(
    "text",
    [
        "Chloé",
        "日本語の件名です",
        "😀" * 40,
        "é" * 300,
        "x" * 80,
        "x" * 1000,
        "Re: café au lait, s'il vous plaît",
        "a é b ü c",
        "é ü",
        "e\u0301" * 50,
        "=?utf-8?q?hi?=",
        ("Offre spéciale " * 30).strip(),
    ],
)
def test_encoded_words_are_short_whole_and_decode_to_the_text(text: str) -> None:
    written = fields.unstructured("Subject", text)
    assert written.isascii()
    assert all(len(line) <= 78 for line in lines_of(written))
    for kind, payload in ENCODED_WORD.findall(written):
        assert len(f"=?utf-8?{kind}?{payload}?=") <= 75  # RFC 2047 §2
        data = _decode(kind, payload)
        data.decode("utf-8")  # never a split UTF-8 sequence (§5)
        if kind == "q":
            assert re.fullmatch(r"[A-Za-z0-9!*+\-/_]*(=[0-9A-F]{2}[A-Za-z0-9!*+\-/_]*)*", payload)
    assert value_of(written) == text


def _decode(kind: str, payload: str) -> bytes:
    import base64
    import quopri

    if kind == "b":
        return base64.b64decode(payload)
    return quopri.decodestring(payload.replace("_", " ").encode(), header=True)


def test_ascii_words_stay_readable_beside_encoded_ones() -> None:
    written = fields.unstructured("Subject", "Invoice for Chloé Müller overdue")
    assert written.startswith("Subject: Invoice for =?utf-8?q?Chlo=C3=A9_M=C3=BCller?= overdue")


def test_a_word_that_looks_encoded_is_encoded() -> None:
    written = fields.unstructured("Subject", "see =?utf-8?q?x?= here")
    assert "=?utf-8?q?x?=" not in written
    assert value_of(written) == "see =?utf-8?q?x?= here"


def test_mostly_non_ascii_text_is_base64() -> None:
    assert "=?utf-8?b?" in fields.unstructured("Subject", "日本語の件名です")


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Support Desk", "From: Support Desk <s@example.test>\r\n"),
        ("J. Smith", 'From: "J. Smith" <s@example.test>\r\n'),
        ('say "hi"', 'From: "say \\"hi\\"" <s@example.test>\r\n'),
        ("Chloé", "From: =?utf-8?q?Chlo=C3=A9?= <s@example.test>\r\n"),
        ("", "From: s@example.test\r\n"),
    ],
)
def test_display_names(name: str, written: str) -> None:
    assert fields.mailbox("From", "s@example.test", name) == written


def test_addresses_fold_after_commas_and_are_never_encoded() -> None:
    addresses = [f"person.{n}@customer.test" for n in range(12)]
    written = fields.address_list("To", addresses)
    assert "=?" not in written
    assert all(len(line) <= 78 for line in lines_of(written))
    assert [a.strip() for a in written[3:-2].replace("\r\n", "").split(",")] == addresses


def test_an_utf8_address_is_written_as_it_is() -> None:
    # An SMTPUTF8 message (RFC 6532): the address is never an encoded word.
    assert fields.address_list("To", ["josé@customer.test"]) == "To: josé@customer.test\r\n"


@pytest.mark.parametrize("name", ["", "Chlo\u00e9 Garcia", "Desk"])
def test_an_utf8_mailbox_reads_back_with_the_same_address(name: str) -> None:
    address = "chlo\u00e9.garcia@b\u00fccher.example"
    written = fields.mailbox("From", address, name)
    assert written.endswith(f"{address}>\r\n" if name else f" {address}\r\n")
    parsed = message_from_string(written + "\r\n", policy=default)
    (mailbox,) = parsed["From"].addresses
    assert (mailbox.display_name, mailbox.addr_spec) == (name, address)


def test_ids_are_never_encoded_and_fold_only_between_ids() -> None:
    rng = random.Random(7)
    ids = [f"<{'a' * rng.randint(1, 990)}@x>" for _ in range(100)]
    written = fields.ids("References", ids)
    assert "=?" not in written
    lines = lines_of(written)
    assert all(len(line) <= 998 for line in lines)
    assert written[len("References:") : -2].replace("\r\n", "").split() == ids
    for line in lines[1:]:
        assert line.startswith(" <") and line.endswith(">")


def test_an_id_too_long_for_the_first_line_goes_on_the_next() -> None:
    ident = "<" + "a" * 993 + "@x>"
    assert lines_of(fields.ids("References", [ident])) == ["References:", f" {ident}"]


@pytest.mark.parametrize(
    "zone", [None, UTC, timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-8))]
)
def test_dates_match_the_standard_library(zone: timezone | None) -> None:
    rng = random.Random(3)
    for _ in range(200):
        when = datetime(1990, 1, 1, tzinfo=zone) + timedelta(seconds=rng.randint(0, 2 * 10**9))
        expected = format_datetime(when if when.tzinfo else when.replace(tzinfo=UTC))
        assert fields.date(when) == expected


def test_one_instant_at_two_offsets_is_two_dates() -> None:
    """Equal aware times (one instant) at other offsets are other texts, even when kept."""
    noon_utc = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    same_in_kathmandu = noon_utc.astimezone(timezone(timedelta(hours=5, minutes=45)))
    assert noon_utc == same_in_kathmandu
    assert fields.date(noon_utc) == "Tue, 01 Dec 2026 12:00:00 +0000"
    assert fields.date(same_in_kathmandu) == "Tue, 01 Dec 2026 17:45:00 +0545"
    assert fields.date(noon_utc.replace(tzinfo=None)) == "Tue, 01 Dec 2026 12:00:00 +0000"
