"""The folders of a LIST answer as a check's hint shows them: parsed whatever the form,
decoded from modified UTF-7, at most 50 names; escaped by `for_terminal` for a person, exact
in the JSON."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from postroom.diagnostics import CheckReport, StepName
from postroom.diagnostics.failure import StepFailure
from postroom.diagnostics.imap import ImapSession
from postroom.diagnostics.imap_folders import folder_names, listed, shown_folders, shown_name
from postroom.diagnostics.report import Step
from postroom.render.checks import check_json, check_text


def test_names_are_read_from_quoted_atom_and_literal_forms() -> None:
    data: list[object] = [
        b'(\\HasNoChildren) "." "INBOX"',
        b'(\\HasNoChildren) "." Archive',
        b'(\\HasNoChildren) "." "Say \\"hi\\""',
        (b'(\\HasNoChildren) "." {5}', b"Lit\r\n"),
        b'(\\HasNoChildren) "." "Entw&APw-rfe"',
        None,
    ]
    assert folder_names(data) == ["INBOX", "Archive", 'Say "hi"', "Lit\r\n", "Entwürfe"]


def test_control_characters_are_escaped_for_a_person_and_long_names_cut() -> None:
    assert shown_name("a\x1b[31mred\r\nb\\") == "a\\x1b[31mred\\r\\nb\\"
    assert shown_name("x" * 5000) == "x" * 100 + "…"
    assert listed(["x" * 5000, "a\x1bb\r"]) == ["a\x1bb\r", "x" * 100]


def test_at_most_fifty_names_inbox_first() -> None:
    names = [f"F{i:03d}" for i in range(120, 0, -1)] + ["INBOX"]
    shown = shown_folders(names)
    assert shown.startswith("INBOX, F001, F002")
    assert shown.count(", ") == 49 and shown.endswith(" … and 71 more")
    assert shown_folders([]) == "no folders"


HOSTILE = "Tick\x1b]0;owned\x07ets\rDone\u202e"


@contextmanager
def _server(list_answer: bytes) -> Iterator[socket.socket]:
    """A connected socket whose peer greets, refuses EXAMINE and answers LIST with
    ``list_answer``."""
    ours, theirs = socket.socketpair()

    def serve() -> None:
        with theirs:
            theirs.sendall(b"* PREAUTH ready\r\n")
            pending = b""
            while True:
                while b"\r\n" not in pending:
                    chunk = theirs.recv(4096)
                    if not chunk:
                        return
                    pending += chunk
                line, _, pending = pending.partition(b"\r\n")
                tag, _, command = line.partition(b" ")
                if command.upper() == b"CAPABILITY":
                    theirs.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
                elif command.upper().startswith(b"LIST"):
                    theirs.sendall(list_answer + tag + b" OK done\r\n")
                else:
                    theirs.sendall(tag + b" NO [NONEXISTENT] no such \x1b[2Jfolder\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield ours
    finally:
        ours.close()
        thread.join(5)


def test_a_hostile_folder_name_is_exact_in_json_and_escaped_in_text() -> None:
    name = HOSTILE.encode()
    answer = (
        b'* LIST (\\HasNoChildren) "." "INBOX"\r\n'
        b'* LIST (\\HasNoChildren) "." {%d}\r\n%s\r\n' % (len(name), name)
    )
    with _server(answer) as sock:
        session = ImapSession(sock, "localhost", 5.0)
        with pytest.raises(StepFailure) as failed:
            session.mailbox("Tikets")
        session.close()
    failure = failed.value
    step = Step(StepName.MAILBOX, False, "", failure.detail, failure.error, failure.hint)
    report = CheckReport("imap://localhost", [step])
    shown = json.loads(json.dumps(check_json(report)))["steps"][0]
    assert shown["detail"]["folders"] == ["INBOX", HOSTILE]
    text = check_text(report)
    assert "the server has: INBOX, Tick\\x1b]0;owned\\x07ets\\rDone\\u202e" in text, text
    assert "no such \\x1b[2Jfolder" in text, text
    assert not any(c in text for c in "\x1b\x07\r\u202e"), text
