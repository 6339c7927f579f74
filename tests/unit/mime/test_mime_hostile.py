"""Hostile input: the worst case of every pattern and loop that reads remote text.

Each row builds one message of up to ~600 KB (the issue's attacks and the
worst cases of the other regular expressions of ``postroom.mime`` and
``postroom.domain``), parses it and hands it to the Email Handler, whose
reference search reads the Subject and the body.  HTML rows also go to the
handler as a hand-built ``ParsedMail`` holding only the HTML, so that the
handler's own reading of HTML is measured too.

Linear code does most rows in tens of milliseconds and the heaviest (hundreds of
thousands of tags or header fields) in about as long as benign mail with as many
tags takes.  The bound is ``BOUND`` CPU seconds or `RATIO` times the CPU seconds of
`_BENIGN` on the same machine, whichever is larger: a machine half as fast (some days
this one is) doubles both, while a super-linear case takes ten to a thousand times
longer.  Every row runs in a forked child that the test kills when it has not
answered after twice the bound, so a super-linear case fails instead of hanging the
suite.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from postroom.domain.handler import decide
from postroom.domain.mail import ParsedMail
from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from postroom.domain.workitems import ItemType, Reference, State, WorkItemView
from postroom.mime import parse, sanitize_html
from unit.domain.fakes import InMemoryHandlerContext

T = TypeVar("T")
BOUND = 2.0
"""CPU seconds of the child (its own work: a busy machine cannot fail a linear parse)."""
RATIO = 4.0
"""How many times benign mail of as many tags (`_BENIGN`) a hostile row may take."""
N = 100_000
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
SUPPORT = Route("support@example.com", "Acme/Support", "Query", "support")
TICKET = Reference(100001, ItemType.TICKET)


def message(
    body: str | bytes,
    *,
    content_type: str = "text/plain; charset=utf-8",
    sender: str = "alice@customer.example",
    subject: str = "Hello",
    extra: str = "",
    fields: dict[str, str] | None = None,
) -> bytes:
    """A message with the usual header fields; ``fields`` replaces some, ``extra`` adds lines."""
    values = {
        "From": sender,
        "To": "support@example.com",
        "Subject": subject,
        "Message-ID": "<hostile@customer.example>",
        "Date": "Wed, 4 Mar 2026 12:00:00 +0000",
        "MIME-Version": "1.0",
        "Content-Type": content_type,
        **(fields or {}),
    }
    head = "".join(f"{name}: {value}\n" for name, value in values.items()) + extra + "\n"
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head.encode("utf-8") + data


def html(markup: str) -> bytes:
    return message(markup, content_type="text/html; charset=utf-8")


def bounce(body: str) -> bytes:
    return message(body, sender="MAILER-DAEMON@mx.example", subject="failure notice")


def header(name: str, value: str) -> bytes:
    return message("Hi.\n", fields={name: value})


def multipart(body: str, boundary: str = "b") -> bytes:
    return message(body, content_type=f'multipart/mixed; boundary="{boundary}"')


def dsn(status: str) -> bytes:
    body = (
        "--r\nContent-Type: text/plain\n\nDelivery failed.\n"
        f"--r\nContent-Type: message/delivery-status\n\n{status}\n--r--\n"
    )
    return message(
        body,
        sender="MAILER-DAEMON@mx.example",
        subject="Undelivered Mail Returned to Sender",
        content_type='multipart/report; report-type=delivery-status; boundary="r"',
    )


def lines(line: str, count: int, eol: str = "\n") -> str:
    return (line + eol) * count


# (id, raw message). Repetition counts keep each message near 600 KB unless
# the issue names its own figure.
CASES: list[tuple[str, Callable[[], bytes]]] = [
    # -- HTML handed to a parser (CVE-2025-6069 and friends) -------------------
    ("html-unclosed-start-tags", lambda: html("<a" * 300_000)),
    ("html-unclosed-end-tags", lambda: html("</" * 300_000)),
    ("html-unclosed-cdata", lambda: html("<![CDATA[" * 200_000)),
    ("html-unclosed-comments", lambda: html("<!--" * 150_000)),
    ("html-unclosed-processing", lambda: html("<?" * 300_000)),
    ("html-unclosed-doctype", lambda: html("<!DOCTYPE" * 70_000)),
    ("html-unclosed-bang", lambda: html("<!" * 300_000)),
    ("html-char-refs", lambda: html("&#" * 300_000)),
    ("html-hex-char-refs", lambda: html("&#x" * 200_000)),
    ("html-ampersands", lambda: html("&" * 600_000)),
    ("html-named-refs", lambda: html("&amp" * 150_000)),
    ("html-unclosed-attribute-quote", lambda: html('<a href="' * 60_000)),
    ("html-unclosed-attributes", lambda: html("<a b" * 150_000)),
    ("html-nested-hidden", lambda: html('<div style="display:none">' * 25_000 + "100001-T")),
    ("html-nested-blocks", lambda: html("<div>" * 120_000 + "100001-T")),
    ("html-nested-links", lambda: html('<a href="x">' * 50_000 + "100001-T")),
    ("html-unclosed-scripts", lambda: html("<script>" * 75_000)),
    ("html-end-scripts", lambda: html("<script></script" * 35_000)),
    ("html-whitespace", lambda: html("<p>" + " \n" * 300_000 + "</p>")),
    ("html-blank-lines", lambda: html("<br>\n \n" * 75_000)),
    ("html-pre-lines", lambda: html("<pre>" + "\n" * 600_000)),
    ("html-image-alts", lambda: html('<img alt="x ' * 50_000)),
    # -- address fields ---------------------------------------------------------
    ("to-at-chain", lambda: header("To", "a@" * 200_000 + "a<")),
    ("to-at-chain-angle", lambda: header("To", "x <" + "a@" * 200_000 + "a")),
    ("to-spaces-then-word", lambda: header("To", " " * 600_000 + "x")),
    ("to-name-spaces-no-angle", lambda: header("To", "a " * 300_000)),
    ("to-name-then-open-angle", lambda: header("To", "a " * 300_000 + "<")),
    ("to-long-word-no-at", lambda: header("To", "a" * 600_000 + " b")),
    ("to-quoted", lambda: header("To", '"' + "a" * 600_000)),
    ("to-quoted-words-no-at", lambda: header("To", '"x" ' + "a " * 300_000)),
    ("to-comments", lambda: header("To", "(" * 300_000)),
    ("to-closed-comments", lambda: header("To", "(a) " * 150_000)),
    ("to-angles", lambda: header("To", "<" * 600_000)),
    ("to-many-quoted-entries", lambda: header("To", '"a" <a@b.example>, ' * 30_000)),
    ("to-many-simple-entries", lambda: header("To", "a@b.example, " * 50_000)),
    ("to-group-colons", lambda: header("To", "a:" * 300_000)),
    ("cc-dots", lambda: header("Cc", '"x" ' + "a." * 300_000 + "@b")),
    ("delivered-to-many-fields", lambda: message("Hi.\n", extra=lines("Delivered-To: a@b", N))),
    # -- other header fields ------------------------------------------------------
    ("date-huge", lambda: header("Date", "1 " * 300_000)),
    ("subject-encoded-words", lambda: header("Subject", "=?utf-8?q?a?= " * 40_000)),
    ("subject-open-encoded-words", lambda: header("Subject", "=?" * 300_000)),
    ("subject-encoded-word-no-end", lambda: header("Subject", "=?utf-8?q?" + "a" * 600_000)),
    ("subject-encoded-language", lambda: header("Subject", "=?a*" + "b*" * 300_000)),
    ("subject-references", lambda: header("Subject", "100001-T " * 60_000)),
    ("subject-distinct-references", lambda: header("Subject", _distinct_references(60_000))),
    ("subject-long-number", lambda: header("Subject", "1" * 600_000 + "-T")),
    ("subject-digit-hyphens", lambda: header("Subject", "1-" * 300_000)),
    ("references-many", lambda: header("References", "<a@b> " * N)),
    ("references-open-angles", lambda: header("References", "<" * 600_000)),
    ("references-parens", lambda: header("References", "(" * 600_000)),
    ("references-bare", lambda: header("References", "a@b " * 150_000)),
    ("in-reply-to-bare", lambda: header("In-Reply-To", "a " * 300_000)),
    ("message-id-open-angle", lambda: header("Message-ID", "<" + "a" * 600_000)),
    ("header-lines-without-colon", lambda: message("x\n", extra=lines("x\nX-A: b", N))),
    ("header-continuation-lines", lambda: message("x\n", extra="X-A: b\n" + lines(" c", N))),
    ("header-many-fields", lambda: message("x\n", extra=lines("X-A: b", N))),
    ("header-long-name", lambda: message("x\n", extra="!" * 600_000 + "\n")),
    ("header-name-spaces", lambda: message("x\n", extra="a" + " " * 600_000 + "b\n")),
    # -- Content-Type parameters (RFC 2045, RFC 2231) and charsets ------------------
    ("params-many", lambda: message("x", content_type="text/plain; " + "a; " * 200_000)),
    ("params-no-value", lambda: message("x", content_type="text/plain; " + "a " * 300_000)),
    ("params-sections", lambda: message("x", content_type="text/plain; " + _sections(30_000))),
    ("params-section-stars", lambda: message("x", content_type="text/plain; a" + "*1" * N + "=x")),
    ("params-escapes", lambda: message("x", content_type='text/plain; name="' + "\\" * 600_000)),
    ("params-quotes", lambda: message("x", content_type='text/plain; a="b"' * 70_000)),
    ("charset-huge", lambda: message(b"\xe9\n", content_type="text/plain; charset=" + "x" * N)),
    ("charset-distinct", lambda: message(b"\xe9\n", content_type=_distinct_charsets())),
    # -- MIME structure and transfer encodings ----------------------------------------
    ("multipart-many-delimiters", lambda: multipart(lines("--b", 150_000))),
    ("multipart-longer-boundaries", lambda: multipart(lines("--bx", 120_000))),
    ("multipart-padded-delimiter", lambda: multipart("--b" + " " * 600_000 + "x\n--b--\n")),
    ("multipart-nested", lambda: _nested(32)),
    ("multipart-part-headers", lambda: multipart("--b\n" + lines("X: y", N) + "\n--b--\n")),
    ("base64-broken-lines", lambda: _encoded("base64", lines("!", 300_000))),
    ("base64-garbage", lambda: _encoded("base64", "a=" * 300_000)),
    ("qp-equals", lambda: _encoded("quoted-printable", "=" * 600_000)),
    ("qp-soft-breaks", lambda: _encoded("quoted-printable", lines("=", 300_000))),
    # -- plain-text bounces (mime/report.py) -------------------------------------------
    ("bounce-following-failed", lambda: bounce("following address failed " * 25_000)),
    ("bounce-following-failed-lines", lambda: bounce(lines("following address failed", 25_000))),
    ("bounce-recipients-failed", lambda: bounce("following recipients failed " * 20_000)),
    ("bounce-could-not-deliver", lambda: bounce("could not be delivered to " * 24_000)),
    ("bounce-delivery-failed", lambda: bounce("delivery has failed to these recipients " * 15_000)),
    ("bounce-listing-long-token", lambda: bounce("following address failed:\n " + "a" * N)),
    ("bounce-listing-at-chain", lambda: bounce("following address failed:\n " + "a@" * N)),
    ("bounce-listing-lines", lambda: bounce("could not be delivered to:\n" + lines(" a@b", N))),
    ("bounce-listing-blank-lines", lambda: bounce("could not be delivered to:\n" + "\n" * N)),
    ("bounce-listing-spaces", lambda: bounce("could not be delivered to:\n" + " " * 600_000)),
    ("bounce-listing-bare", lambda: bounce("could not be delivered to:\n" + "a@a" * N)),
    ("bounce-quoted-id", lambda: bounce("message-id: " + "a" * 600_000)),
    ("bounce-quoted-id-at", lambda: bounce("message-id: " + "@" * 600_000)),
    ("bounce-angle", lambda: bounce("<" + "a" * 600_000)),
    ("bounce-angles", lambda: bounce("<a" * 300_000)),
    ("bounce-status", lambda: bounce("5.5." * 150_000)),
    ("bounce-smtp-no-code", lambda: bounce("a" * 600_000)),
    ("bounce-smtp-digits", lambda: bounce("5" * 600_000)),
    ("bounce-local-parts", lambda: bounce("could not be delivered to:\n " + "a." * 300_000)),
    ("bounce-domains", lambda: bounce("could not be delivered to:\n a@" + "b" * 600_000)),
    ("bounce-cr-only", lambda: bounce("following address failed\r" * 25_000)),
    ("dsn-blocks", lambda: dsn(lines("Final-Recipient: rfc822; a@b\nAction: failed\n", 15_000))),
    ("dsn-lines-without-colon", lambda: dsn(lines("x", 300_000))),
    ("dsn-diagnostic", lambda: dsn("Final-Recipient: a\nDiagnostic-Code: " + " a" * 300_000)),
    # -- line endings and bodies ---------------------------------------------------------
    ("cr-only-message", lambda: message(lines("a 100001-T", 50_000, "\r")).replace(b"\n", b"\r")),
    ("cr-only-headers", lambda: message("x", extra=lines("X-A: b", N, "\r"))),
    ("body-long-number-reference", lambda: message(("1" * 4400 + "-T ") * 100)),
    ("body-references", lambda: message("100001-T " * 60_000)),
    ("body-one-line", lambda: message("a" * 600_000)),
    ("body-crlf-lines", lambda: message(lines("a", 300_000, "\r\n"))),
]


def _distinct_references(count: int) -> str:
    return " ".join(f"{100002 + i}-T" for i in range(count))


def _sections(count: int) -> str:
    return "".join(f"name*{i}*=%41; " for i in range(count))


def _distinct_charsets() -> str:
    return "text/plain; charset=x-" + "y" * 500_000


def _nested(depth: int) -> bytes:
    body = ""
    for level in range(depth, 0, -1):
        inner = body or "x" * 10_000
        body = (
            f'--{level}\nContent-Type: multipart/mixed; boundary="{level + 1}"\n\n{inner}\n'
            f"--{level}\n\n" + "y " * 5_000 + f"\n--{level}--\n"
        )
    return multipart(body, boundary="1")


def _encoded(encoding: str, body: str) -> bytes:
    return message(body, extra=f"Content-Transfer-Encoding: {encoding}\n")


@dataclass(frozen=True, slots=True)
class Timing:
    parse: float
    handler: float


def _handle(raw: bytes) -> Timing:
    world = (
        InMemoryHandlerContext()
        .with_route(SUPPORT)
        .with_item(WorkItemView(TICKET, State.TODO, queue="support"))
    )
    start = time.process_time()
    mail = parse(raw)
    parsed = time.process_time()
    decide(mail, world, HandlerSettings(), NOW)
    if mail.html is not None:
        # The handler reads HTML itself when the MIME layer gave it no text.
        decide(ParsedMail(html=mail.html, subject=mail.subject), world, HandlerSettings(), NOW)
    return Timing(parsed - start, time.process_time() - parsed)


def _child(
    work: Callable[[T], object], arg: T, conn: multiprocessing.connection.Connection
) -> None:
    try:
        started = time.process_time()
        result = work(arg)
        conn.send(result if isinstance(result, Timing) else time.process_time() - started)
    except BaseException as exc:  # reported to the parent, which fails the row
        conn.send(f"{type(exc).__name__}: {exc}"[:300])


def run_bounded(raw: bytes) -> Timing | str:
    """Parse and handle ``raw`` in a forked child; a string says what went wrong."""
    result = _in_child(_handle, raw)
    return result if isinstance(result, Timing | str) else f"unexpected {result!r}"


def _benign() -> bytes:
    """Benign HTML mail with as many tags as the heaviest hostile rows (60,000
    paragraphs, 660 KB)."""
    return html("<p>word</p>" * 60_000)


@functools.cache
def bound() -> float:
    """CPU seconds a row may take on this machine: `BOUND`, or `RATIO` times what
    `_benign` takes, whichever is larger."""
    reference = _in_child(_handle, _benign(), hang=60.0)
    assert isinstance(reference, Timing), reference
    return max(BOUND, RATIO * (reference.parse + reference.handler))


def _in_child(work: Callable[[T], object], arg: T, hang: float | None = None) -> object:
    """``work(arg)`` in a forked child: its Timing or seconds, or what went wrong (the
    child is killed past ``hang`` seconds, by default twice the bound)."""
    hang = 2 * bound() if hang is None else hang
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, arg, sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(hang):
            return f"did not finish within {hang:.1f} s"
        return receiver.recv()
    finally:
        child.kill()
        child.join()
        receiver.close()


@pytest.mark.parametrize(("build"), [build for _name, build in CASES], ids=[n for n, _ in CASES])
def test_hostile_message_is_handled_in_bounded_time(build: Callable[[], bytes]) -> None:
    raw = build()
    assert len(raw) <= 2_000_000
    result = run_bounded(raw)
    assert isinstance(result, Timing), result
    assert result.parse + result.handler < bound(), (result, bound())


def test_case_names_are_unique() -> None:
    names = [name for name, _build in CASES]
    assert len(names) == len(set(names))


SANITIZED = {
    "unclosed-blocks": "<div>" * 51_200,
    "unclosed-quotes": "<blockquote>" * 40_000,
    "blocks-and-stray-ends": "<div></span>" * 40_000,
    "ampersands": "&" * 600_000,
    "char-refs": "&#" * 300_000,
}


@pytest.mark.parametrize("html", list(SANITIZED.values()), ids=list(SANITIZED))
def test_sanitize_html_is_bounded(html: str) -> None:
    seconds = _in_child(sanitize_html, html)
    assert isinstance(seconds, float), seconds
    assert seconds < bound()
    shown = sanitize_html(html)  # known to be quick now
    assert "<div" not in shown
    assert "<blockquote" not in shown
