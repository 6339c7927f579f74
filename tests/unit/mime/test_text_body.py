"""The body of automated replies: the transfer encoding the email package would choose."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mime.text_body import text_body


def _email_package(text: str) -> tuple[str, str]:
    msg = EmailMessage(policy=SMTP)
    msg.set_content(text)
    parsed = message_from_bytes(msg.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return str(parsed["Content-Transfer-Encoding"]), parsed.get_content()


def _ours(text: str) -> tuple[str, str]:
    cte, body = text_body(text)
    raw = (
        f'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    ).encode() + body
    parsed = message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return cte, parsed.get_content()


@pytest.mark.parametrize(
    ("text", "cte"),
    [
        ("Hello Carol,\n\nThank you.\n", "7bit"),
        ("Hello Chloé,\n", "8bit"),
        ("x" * 79 + "\n", "quoted-printable"),
        ("Café au lait " * 10 + "\n", "quoted-printable"),
        ("é" * 40 + "\n", "base64"),
        ("日本語" * 20 + "\n", "base64"),
        ("", "7bit"),
    ],
)
def test_the_encoding_chosen(text: str, cte: str) -> None:
    assert text_body(text)[0] == cte
    assert _ours(text) == _email_package(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=25))
def test_any_text_reads_back_as_the_email_package_writes_it(lines: list[str]) -> None:
    text = "\n".join(lines).encode("utf-8", "replace").decode("utf-8")
    assert _ours(text) == _email_package(text)


def test_lines_end_in_crlf() -> None:
    _, body = text_body("a\nb\rc\r\nd")
    assert body == b"a\r\nb\r\nc\r\nd\r\n"
