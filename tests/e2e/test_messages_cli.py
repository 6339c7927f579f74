"""A filed mail can be read: `message show` (headers, text, attachments, the decision and its
trace), `message raw` (the exact bytes, never onto a terminal unless --force), `item show
--full` (each communication's text, control characters escaped)."""

from __future__ import annotations

import sys

import pytest

from e2e.cli import Shell

pytestmark = pytest.mark.usefixtures("postroom_env")

MAIL = (
    b"From: Ann <ann@customer.test>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Printer\r\n"
    b"Message-ID: <printer-1@customer.test>\r\n"
    b"Content-Type: multipart/mixed; boundary=XX\r\n"
    b"\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Hello,\r\nmy \x1b]0;owned\x07 printer is broken.\r\n"
    b"--XX\r\n"
    b"Content-Type: application/pdf; name=scan.pdf\r\n"
    b"Content-Disposition: attachment; filename=scan.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--XX--\r\n"
)


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    shell = Shell(capsys)
    shell.ok("route", "add", "support@example.com", "--context", "C", "--category", "K",
             "--queue", "q", "--acknowledge")  # fmt: skip
    return shell


def test_message_show_reads_a_filed_mail(sh: Shell) -> None:
    ref = sh.ingest(MAIL)["work_items"][0]["reference"]
    [incoming, ack] = sh.show(ref)["communications"]
    data = sh.json("message", "show", str(incoming["id"]))
    assert data["direction"] == "in" and data["headers"]["subject"] == "Printer"
    assert data["mail"]["from"] == "ann@customer.test"
    assert "printer is broken" in data["mail"]["body_text"]
    assert [a["filename"] for a in data["mail"]["attachments"]] == ["scan.pdf"]
    decision = data["decision"]
    assert (decision["outcome"], decision["rule"]) == ("new_ticket", "N1")
    assert "N1: routes support@example.com" in decision["trace"]
    assert data["size"] == len(MAIL) and data["arrival"]["status"] == "handled"
    human = sh.ok("message", "show", str(incoming["id"]))
    assert "Attachment:   scan.pdf (application/pdf, 9 bytes)" in human
    assert "  · N1: routes support@example.com" in human
    assert "my \\x1b]0;owned\\x07 printer is broken." in human and "\x1b" not in human
    sent = sh.json("message", "show", str(ack["id"]))  # the acknowledgement, as composed
    assert sent["direction"] == "out" and sent["decision"] is None
    assert sent["mail"]["to"] == ["ann@customer.test"]


def test_message_raw_is_the_exact_bytes_and_not_for_a_terminal(
    sh: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = sh.ingest(MAIL)["work_items"][0]["reference"]
    incoming = sh.show(ref)["communications"][0]
    raw = sh("message", "raw", str(incoming["id"]))
    assert raw.code == 0 and raw.out.encode("utf-8", "surrogateescape") == MAIL
    monkeypatch.setattr(type(sys.stdout), "isatty", lambda self: True)
    refused = sh("message", "raw", str(incoming["id"]))
    assert refused.code == 1 and refused.out == ""
    assert "redirect it (postroom message raw" in refused.err and "--force" in refused.err
    assert sh("message", "raw", str(incoming["id"]), "--force").code == 0


def test_item_show_full_includes_the_text_escaped(sh: Shell) -> None:
    ref = sh.ingest(MAIL)["work_items"][0]["reference"]
    full = sh.ok("item", "show", ref, "--full")
    assert "      my \\x1b]0;owned\\x07 printer is broken." in full and "\x1b" not in full
    data = sh.json("item", "show", ref, "--full")
    assert "\x1b]0;owned\x07 printer" in data["communications"][0]["body_text"]
    assert "body_text" not in sh.show(ref)["communications"][0]  # only with --full


def test_a_quarantined_message_is_read_by_its_stored_id(sh: Shell) -> None:
    stored = sh.ingest(b"")
    assert stored["outcome"] == "quarantined"
    data = sh.json("message", "show", "--arrival", str(stored["message"]))
    assert data["id"] is None and data["arrival"]["status"] == "quarantined"
    assert data["arrival"]["error"].startswith("not mail:")
    missing = sh("message", "show", "999")
    assert missing.code == 1 and "message show --arrival ID" in missing.err


def test_a_bare_number_suggests_the_reference(sh: Shell) -> None:
    result = sh("item", "show", "100001")
    assert result.code == 1
    assert "100001-T (the Ticket) or 100001-C (its Case)" in result.err
