"""Remote text never reaches the terminal raw; `--json` keeps it exact. SQLite and PostgreSQL.

A Subject, a From name, an In-Reply-To, an exception text, an SMTP server's reply, a POP3
server's banner and error: each carries a window-title sequence (OSC 0), a hyperlink
(OSC 8), a clear-screen (CSI 2J), a bare CR, BEL, the 8-bit CSI (U+009B) and a
right-to-left override (U+202E). Every human-readable command that prints them is run
through the real entry point; its stdout and stderr hold none of those characters raw, and
its `--json` twin holds exactly what Postroom stored.
"""

from __future__ import annotations

import base64
import json
import logging
import socketserver
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from e2e.cli import Result, Shell
from postroom.mime import parse
from unit.outbound.fake_smtp import Script, fake_smtp

pytestmark = pytest.mark.usefixtures("postroom_env")

HOSTILE = (
    "\x1b]0;pwned\x07 \x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\ "
    "\x1b[2J\x1b[H wiped\rrefund granted \x07 \x9b31m red \u202egnp.exe"
)
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ROUTE = "support@example.com"


def raw_controls(text: str) -> list[str]:
    """Characters a terminal would obey, TAB and LF (the program's own layout) aside."""
    return sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in text
            if ch not in "\t\n"
            and (unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ord(ch) in BIDI)
        }
    )


def words(text: str) -> str:
    """An RFC 2047 encoded-word: how a client puts such text in a header."""
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def hostile_mail(n: int, to: str = ROUTE) -> bytes:
    bad_id = "<\x1b]0;id\x07.\xc2\x9b2J.\xe2\x80\xae@evil.example>".encode("latin-1")
    return (
        f"From: {words('Eve ' + HOSTILE)} <eve@customer.test>\r\n"
        f"To: {to}\r\n"
        f"Subject: {words(HOSTILE)}\r\n"
        f"Message-ID: <hostile.{n}@customer.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
    ).encode() + (b"In-Reply-To: " + bad_id + b"\r\n\r\n" + b"Hello.\r\n")


def strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


class Terminal(Shell):
    def human(self, *argv: str, stdin: bytes = b"", code: int = 0) -> str:
        result: Result = self(*argv, stdin=stdin)
        assert result.code == code, (argv, result.out, result.err)
        assert raw_controls(result.out) == [], (argv, result.out)
        assert raw_controls(result.err) == [], (argv, result.err)
        return result.out + result.err

    def exact(self, *argv: str, code: int = 0) -> list[str]:
        """Every string of the JSON output (which must be valid JSON)."""
        result = self(*argv, "--json")
        assert result.code == code, (argv, result.err)
        return list(strings(json.loads(result.out)))


@pytest.fixture
def term(capsys: pytest.CaptureFixture[str]) -> Terminal:
    shell = Terminal(capsys)
    route = ["route", "add", ROUTE, "--context", "Acme", "--category", "Query", "--queue", "q"]
    shell.ok(*route, "--acknowledge")
    return shell


ATTACK = "\x1b\x07\x9b\u202e"
"""The attack characters every path keeps (a parser or a client may turn a CR into a space)."""


def escaped(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


def shown(out: str, stored: str = HOSTILE) -> None:
    """Every attack character of the stored text is there, escaped, not dropped."""
    assert raw_controls(stored), "the stored text still holds the attack"
    for ch in stored:
        if raw_controls(ch):
            assert escaped(ch) in out, (escaped(ch), out)


def exact(values: list[str], stored: str) -> None:
    """The JSON output holds the stored text as it is."""
    assert any(stored in value for value in values), (stored, values)


Setup = Callable[[Terminal, Path, pytest.MonkeyPatch], tuple[list[str], str]]
"""Sets the scene; returns the command and the exact stored text its JSON must hold."""


def _ticket(term: Terminal) -> tuple[str, str]:
    raw = hostile_mail(1)
    decision = term.ingest(raw)
    return decision["work_items"][0]["reference"], parse(raw).subject


def item_list(term: Terminal, _tmp: Path, _mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    return ["item", "list"], _ticket(term)[1]


def item_show(term: Terminal, _tmp: Path, _mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    ref, subject = _ticket(term)
    return ["item", "show", ref], subject


def outbox_list(term: Terminal, _tmp: Path, _mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    _ticket(term)
    (row,) = term.json("outbox", "list")
    return ["outbox", "list"], row["subject"]


def explain(term: Terminal, tmp: Path, _mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    path = tmp / "hostile.eml"
    path.write_bytes(hostile_mail(2))
    return ["explain", str(path)], parse(path.read_bytes()).subject


def unhandled_list(term: Terminal, _tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    mp.setenv("POSTROOM_UNROUTED_POLICY", "unhandled")
    raw = hostile_mail(3, to="nobody@example.com")
    assert term.ingest(raw)["rule"] == "N3"
    return ["unhandled", "list"], parse(raw).subject


def quarantine_list(term: Terminal, _tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    import postroom.services.ingest as ingest_module

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError(HOSTILE.replace("\r", " "))  # a traceback's last line has no CR

    mp.setattr(ingest_module, "decide", broken)
    assert term.ingest(hostile_mail(4))["rule"] == "Q1"
    return ["quarantine", "list"], HOSTILE.replace("\r", " ")


def ingest(term: Terminal, _tmp: Path, _mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    term.ingest(hostile_mail(5))  # a ticket whose acknowledgement the limit then holds back
    term.ingest(hostile_mail(6))
    term.ingest(hostile_mail(7))
    return ["ingest", "-"], ""


# fmt: off
COMMANDS: list[tuple[str, Setup]] = [
    ("item-list", item_list),
    ("item-show", item_show),
    ("outbox-list", outbox_list),
    ("explain", explain),
    ("unhandled-list", unhandled_list),
    ("quarantine-list", quarantine_list),
]
# fmt: on


@pytest.mark.parametrize("setup", [c[1] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_mail_text_is_escaped_and_json_is_exact(
    term: Terminal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: Setup
) -> None:
    argv, stored = setup(term, tmp_path, monkeypatch)
    shown(term.human(*argv), stored)
    exact(term.exact(*argv), stored)


def test_ingest_and_reply_print_escaped_lines(term: Terminal, tmp_path: Path) -> None:
    assert term.human("ingest", "-", stdin=hostile_mail(8))
    ref = term.json("item", "list")[0]["reference"]
    body = tmp_path / "body.txt"
    body.write_text("Answer.\n")
    replied = term.human("item", "reply", ref, "--body-file", str(body))
    subject = term.json("outbox", "list")[-1]["subject"]
    shown(replied, subject)
    exact(term.exact("outbox", "list"), subject)


def test_log_lines_are_escaped(term: Terminal, capsys: pytest.CaptureFixture[str]) -> None:
    """A warning with no logging set up (an `ingest` that quarantines), and `postroom run`'s
    log lines: both escaped."""
    from postroom.cli.output import TerminalFormatter

    term.human("item", "list")  # the entry point sets up the last-resort handler
    record = logging.LogRecord("postroom", logging.WARNING, __file__, 1, HOSTILE, None, None)
    capsys.readouterr()
    assert logging.lastResort is not None
    logging.lastResort.handle(record)
    err = capsys.readouterr().err
    assert raw_controls(err) == []
    shown(err)
    line = TerminalFormatter("%(levelname)s %(message)s").format(record)
    assert raw_controls(line) == []
    shown(line)


# -- text from servers -----------------------------------------------------------------------


def test_an_smtp_servers_reply_is_escaped(term: Terminal) -> None:
    refusal = "550 5.1.1 " + HOSTILE
    with fake_smtp(Script(rcpt={"eve@customer.test": refusal})) as (_, port):
        term.ok(
            "smtp",
            "add",
            "evil",
            "--url",
            f"smtp://127.0.0.1:{port}?tls=none",
            "--default",
            "--force",
        )
        term.ingest(hostile_mail(9))
        term.human("outbox", "send")
    (row,) = term.json("outbox", "list")
    assert set(ATTACK) <= set(row["last_error"])
    shown(term.human("outbox", "list"), row["last_error"])
    term.human("smtp", "list")


class _Pop3(socketserver.StreamRequestHandler):
    """A POP3 server whose banner and every refusal are the hostile text."""

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.send("+OK " + HOSTILE)
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").split(" ", 1)[0].strip().upper()
            if verb == "CAPA":
                self.send("+OK\r\nUSER\r\n.")
            elif verb == "QUIT":
                self.send("+OK bye")
                return
            else:
                self.send("-ERR " + HOSTILE)


@contextmanager
def hostile_pop3() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Pop3)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_pop3_servers_banner_and_errors_are_escaped(
    term: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIL_PW", "secret-password")
    with hostile_pop3() as port:
        url = f"pop3://eve@127.0.0.1:{port}?tls=none"
        shown(term.human("check", url, "--password-env", "EVIL_PW", code=1))
        exact(term.exact("check", url, "--password-env", "EVIL_PW", code=1), HOSTILE)
        shown(
            term.human("channel", "add", "evil", "--url", url, "--password-env", "EVIL_PW", code=1)
        )
        shown(term.human("channel", "check", "evil", code=1))
        shown(term.human("channel", "enable", "evil", code=1))
        (channel,) = term.json("channel", "list")
        exact([channel["last_error"]], HOSTILE)
        shown(term.human("channel", "list"))
        shown(term.human("channel", "show", "evil"))
