"""parse() never raises: random bytes and mutated corpus messages (bounded, fast)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postroom.domain.mail import ParsedMail
from postroom.mime import html_to_text, parse

CORPUS = Path(__file__).resolve().parents[2] / "data" / "mail"
SAMPLES = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml")) if path.stat().st_size]

_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    assert isinstance(mail.body_text, str)
    assert len(mail.content_hash) == 64
    assert all(isinstance(defect, str) for defect in mail.defects)
    for offset in (mail.quote_start, mail.signature_start):
        assert offset is None or 0 <= offset <= len(mail.body_text)
    assert all(a.filename for a in mail.attachments)  # every attachment has a name
    assert mail.report is None or mail.report.kind in (None, "hard", "soft")


@_FAST
@given(st.binary(max_size=2048))
def test_random_bytes(raw: bytes) -> None:
    _check(parse(raw))


_TOKENS = [
    b"\n",
    b"\r\n",
    b"\n\n",
    b":",
    b"--",
    b"=?",
    b"?=",
    b"<",
    b">",
    b";",
    b'"',
    b"\x00",
    b"\xff",
    b"=\n",
    b"Content-Type: multipart/mixed; boundary=x\n",
    b"--x\n",
    b"--x--",
    b"Content-Transfer-Encoding: base64\n",
    b"charset=x-nope",
    b"=?utf-8?B?",
    b"filename*0*=",
    b"=?utf-8?Q? a, b?=",
    b"begin 644 a.bin\n",
    b"\nend\n",
    b"M86)C\n",
    b"Content-Type: application/ms-tnef\n",
    b'x\x9f>"',
    b"Content-Type: message/rfc822\n",
    b"Content-Type: text/plain; format=flowed; delsp=yes\n",
    b" \n",
    b"Sender: s@x.example\n",
    b"From \n",
    b"From: \n",
    b"wrote:\n",
    b"\n> ",
    b"-- \n",
    b"Content-Description: a.pdf\n",
    b"Status: 4.2.2\nAction: delayed\n",
]


@_FAST
@given(
    st.sampled_from(SAMPLES),
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=40),
            st.sampled_from(_TOKENS) | st.binary(max_size=8),
        ),
        max_size=6,
    ),
)
def test_mutated_corpus(sample: bytes, edits: list[tuple[float, int, bytes]]) -> None:
    raw = bytearray(sample)
    for where, cut, insert in edits:
        at = int(where * len(raw))
        raw[at : at + cut] = insert
    _check(parse(bytes(raw)))


@_FAST
@given(st.text(max_size=500))
def test_html_to_text_on_any_text(html: str) -> None:
    assert isinstance(html_to_text(html), str)
