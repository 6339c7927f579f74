"""`postroom ingest` as an MTA runs it goes around Typer (cli/pipe.py): the shapes it takes
are read as Typer reads them, anything else is left to Typer, and either way the
output, stderr and exit status are the same."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from e2e.cli import Result, run_cli
from postroom.cli import pipe
from postroom.cli.output import TerminalFormatter
from postroom.cli.pipe import PipeCall, pipe_shape
from support.mails import make_mail

RECOGNISED = [
    (["ingest"], PipeCall()),
    (["ingest", "-"], PipeCall("-")),
    (["ingest", "m.eml"], PipeCall("m.eml")),
    (["ingest", "--json", "m.eml"], PipeCall("m.eml", as_json=True)),
    (["ingest", "m.eml", "--json"], PipeCall("m.eml", as_json=True)),
    (["ingest", "--channel", "inbox", "-"], PipeCall("-", "inbox")),
    (["ingest", "--channel=inbox", "--json"], PipeCall("-", "inbox", True)),
    (["ingest", "m.eml", "--channel", "in box", "--json"], PipeCall("m.eml", "in box", True)),
]
LEFT_TO_TYPER = [
    ["explain", "m.eml"],
    ["ingest", "--help"],
    ["ingest", "-h"],
    ["ingest", "--maildir", "md"],
    ["ingest", "a.eml", "b.eml"],
    ["ingest", "--json", "--json"],
    ["ingest", "--channel"],
    ["ingest", "--channel", "--json"],
    ["ingest", "--channel", "a", "--channel", "b"],
    ["ingest", "--channel="],
    ["ingest", "--chan", "x"],
    ["ingest", "--", "-"],
    ["ingest", "-x"],
    ["ingest", "--json=1"],
    ["--version"],
    [],
]


@pytest.mark.parametrize(("argv", "call"), RECOGNISED)
def test_the_pipe_shapes(argv: list[str], call: PipeCall) -> None:
    assert pipe_shape(argv) == call


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_other_shapes_are_left_to_typer(argv: list[str]) -> None:
    assert pipe_shape(argv) is None


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("POSTROOM_") and not name.startswith("POSTROOM_TEST"):
            monkeypatch.delenv(name)


def _both_ways(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
    env: dict[str, str],
    stdin: bytes | None = None,
) -> tuple[Result, Result]:
    """The command line run by the pipe, then by Typer, each on a fresh data folder."""
    results = []
    for way in ("pipe", "typer"):
        with monkeypatch.context() as m:
            m.setenv("POSTROOM_HOME", str(tmp_path / way))
            for key, value in env.items():
                m.setenv(key, value)
            if way == "typer":
                m.setattr(pipe, "pipe_shape", lambda _args: None)
            else:
                assert pipe_shape(argv) is not None
            given = stdin if stdin is not None else make_mail(message_id="<p@c.test>")
            results.append(run_cli(capsys, *argv, stdin=given))
    return results[0], results[1]


SAME = [
    (["ingest", "{file}"], {}),
    (["ingest", "--json", "{file}"], {}),
    (["ingest", "-"], {}),
    (["ingest", "--json"], {}),
    (["ingest", "--channel", "nowhere", "{file}"], {}),
    (["ingest", "{file}.missing"], {}),
    (["ingest", "{file}"], {"POSTROOM_POLL_BATCH": "abc"}),
    (["ingest", "{file}"], {"POSTROOM_DATABASE_URL": "mysql://me:pw@db.test/x"}),
    (["ingest", "--json", "-"], {"POSTROOM_DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}),
    (["ingest", "{file}"], {"POSTROOM_UNROUTED_POLICY": "unhandled"}),
]


@pytest.mark.parametrize(("argv", "env"), SAME)
def test_the_pipe_and_typer_agree(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
    env: dict[str, str],
) -> None:
    _clean_env(monkeypatch)
    mail = tmp_path / "one.eml"
    mail.write_bytes(make_mail(message_id="<p@c.test>"))
    args = [a.replace("{file}", str(mail)) for a in argv]
    by_pipe, by_typer = _both_ways(capsys, monkeypatch, tmp_path, args, env)
    assert by_pipe == by_typer
    assert by_pipe.out or by_pipe.err


@pytest.mark.parametrize("argv", [["ingest", "{big}"], ["ingest", "--json", "-"]])
def test_a_message_past_the_limit_is_refused_unstored_both_ways(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
) -> None:
    """Exit 1 (the MTA returns it to its sender, as the API's 413 does), not read past the
    limit, nothing stored."""
    _clean_env(monkeypatch)
    big = tmp_path / "big.eml"
    big.write_bytes(make_mail(body="x" * 70_000))
    args = [a.replace("{big}", str(big)) for a in argv]
    env = {"POSTROOM_MAX_MESSAGE_BYTES": "65536"}
    by_pipe, by_typer = _both_ways(capsys, monkeypatch, tmp_path, args, env, big.read_bytes())
    assert by_pipe == by_typer
    assert by_pipe.code == 1 and by_pipe.out == ""
    assert by_pipe.err == (
        "postroom: not stored: the message is larger than POSTROOM_MAX_MESSAGE_BYTES (65536 "
        "octets): raise the setting to take such mail\n"
    )
    for way in ("pipe", "typer"):
        assert not list((tmp_path / way / "blobs").rglob("*"))


def test_the_pipe_escapes_a_logged_warning_as_the_cli_does() -> None:
    record = logging.LogRecord(
        "postroom", logging.WARNING, __file__, 1, "quarantined: %s", ("\x1b[2Jx\r\ny\x07",), None
    )
    line = pipe.EscapedLastResort().format(record)
    assert line == TerminalFormatter().format(record)
    assert "\x1b" not in line and "\x07" not in line
