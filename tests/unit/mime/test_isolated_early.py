"""Start-up of a process that parses in children (`postroom ingest`): the parent never loads
the parser, and a child started early (`start_early`, before the command's own imports)
is the one the first parser uses, or replaced if it died meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from postroom.domain.mail import ParsedMail
from postroom.mime import isolated
from postroom.mime.isolated import IsolatedParser, start_early


def _mail(n: int) -> bytes:
    return (
        b"From: sender%d@example.com\r\nTo: support@example.com\r\nSubject: early %d\r\n"
        b"Message-ID: <early%d@example.com>\r\n\r\nbody\r\n" % (n, n, n)
    )


@pytest.fixture
def early() -> Iterator[None]:
    """No child left over from another test, none left behind for the next."""
    isolated._stop_all(isolated._EARLY)
    isolated._EARLY.clear()
    yield
    isolated._stop_all(isolated._EARLY)
    isolated._EARLY.clear()


def _child_pids() -> set[int]:
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listed:
            found.update(int(pid) for pid in listed.read().split())
    return found


@pytest.mark.usefixtures("early")
def test_the_first_parser_takes_the_child_started_early() -> None:
    start_early()
    start_early()  # once per process: a second call starts no second child
    [child] = isolated._EARLY
    before = _child_pids()
    parser = IsolatedParser()
    try:
        [mail] = parser.parse_many([_mail(1)])
        assert isinstance(mail, ParsedMail) and mail.subject == "early 1"
        assert isolated._EARLY == []
        assert _child_pids() == before  # no other child was started
        assert [c.process.pid for c in parser._idle] == [child.process.pid]
    finally:
        parser.close()


@pytest.mark.usefixtures("early")
def test_a_child_started_early_that_died_is_replaced() -> None:
    start_early()
    [child] = isolated._EARLY
    child.process.kill()
    child.process.wait()
    parser = IsolatedParser()
    try:
        [mail] = parser.parse_many([_mail(2)])
        assert isinstance(mail, ParsedMail) and mail.subject == "early 2"
        assert [c.process.pid for c in parser._idle] != [child.process.pid]
    finally:
        parser.close()


@pytest.mark.usefixtures("early")
def test_a_child_that_cannot_be_started_early_is_left_to_the_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No process left (EAGAIN), or no interpreter: start_early says nothing, and the
    parser meets the same failure where `postroom ingest` turns it into exit 75."""

    def refused() -> isolated._Child:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(isolated._Child, "start", staticmethod(refused))
    start_early()
    assert isolated._EARLY == []
    with pytest.raises(BlockingIOError):
        IsolatedParser().parse_many([_mail(3)])


_PROBE = """
import sys
import postroom.mime.isolated
import postroom.services.ingest
loaded = [m for m in ("postroom.mime.parser", "postroom.mime.html", "charset_normalizer")
          if m in sys.modules]
from postroom.mime import content_hash, html_to_text, parse, sanitize_html
from postroom.mime.parser import parse as parser_parse
assert parse is parser_parse and callable(html_to_text) and callable(sanitize_html)
assert callable(content_hash)
try:
    from postroom.mime import nothing_of_that_name
except ImportError:
    pass
else:
    raise AssertionError("an unknown name imported")
print(",".join(loaded) or "none")
"""


def test_the_parent_of_parser_children_does_not_load_the_parser() -> None:
    """`mime.isolated` and the ingest service load the parser only when they parse in
    process; the package's names are still there when asked for."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "none"
