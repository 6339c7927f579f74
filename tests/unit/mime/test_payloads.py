"""`postroom.mime.payloads` walks a message as `parse` does: for every message of the
corpus it finds as many attachments as `parse` lists, and each one with a part of its own
decodes to the size `parse` reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.mime import parse
from postroom.mime.payloads import attachment_payload, downloadable

CORPUS = Path(__file__).resolve().parents[2] / "data" / "mail"
MESSAGES = sorted(CORPUS.rglob("*.eml"))


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: p.name)
def test_every_attachment_parse_lists_is_found(path: Path) -> None:
    raw = path.read_bytes()
    listed = parse(raw).attachments
    parts = downloadable(raw)
    assert len(parts) == len(listed)
    for index, (attachment, own) in enumerate(zip(listed, parts, strict=True)):
        data = attachment_payload(raw, index)
        assert (data is not None) == own
        if data is not None:
            assert len(data) == attachment.size, attachment.filename
    assert attachment_payload(raw, len(listed)) is None
    assert attachment_payload(raw, -1) is None


def test_the_corpus_has_attachments_of_every_kind() -> None:
    """The walk is checked on packed files (None) and on parts of their own."""
    kinds = {own for path in MESSAGES for own in downloadable(path.read_bytes())}
    assert kinds == {True, False}


def test_a_base64_part_is_decoded() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b'filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n'
        b"--b--\r\n"
    )
    assert attachment_payload(raw, 0) == b"%PDF-1.4\n"


def test_other_renderings_of_the_text_are_skipped_as_parse_skips_them() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--b\r\nContent-Type: text/enriched\r\n\r\n<bold>hello</bold>\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<b>hello</b>\r\n"
        b"--b\r\nContent-Type: text/x-amp-html\r\n\r\n<b>amp</b>\r\n--b--\r\n"
        b"--m\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Description: scan 0001.pdf\r\n\r\nPDFDATA\r\n--m--\r\n"
    )
    assert [a.filename for a in parse(raw).attachments] == ["scan 0001.pdf"]
    assert downloadable(raw) == [True]
    assert attachment_payload(raw, 0) == b"PDFDATA"
