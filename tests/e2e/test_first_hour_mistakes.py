"""The mistakes of a first hour with Postroom (issue 13, items 9, 10, 11, 17, 18): each is one
line naming the cause and the fix, never a traceback or a library's class name, and exits
by the README's one rule: 2 when what a command was given cannot be used (the command line,
a URL's scheme, a missing file, an unset variable, a setting), 1 when a well-formed request
is refused or fails."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import inspect

from postroom.settings import load_settings
from postroom.storage.database import alembic_config, make_engine

from .cli import Shell

MAIL = b"From: Ann <ann@customer.test>\r\nTo: support@example.test\r\nSubject: Hi\r\n\r\nHello\r\n"


@pytest.fixture
def sh(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Shell:
    for name in list(os.environ):
        if name.startswith("POSTROOM_") and not name.startswith("POSTROOM_TEST"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path / "home"))
    return Shell(capsys)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


# -- item 9: settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("POSTROOM_POLL_BATCH", "abc", "from 1 to 1000"),
        ("POSTROOM_POLL_BATCH", "0", "from 1 to 1000"),
        ("POSTROOM_UNROUTED_POLICY", "maybe", "'auto-reply' or 'unhandled'"),
        ("POSTROOM_MATCH_BODY", "perhaps", "true or false"),
        ("POSTROOM_MESSAGE_SECONDS", "-1", "greater than 0"),
        ("POSTROOM_DATABASE_URL", "mysql://me:s3cret-pw@db.test/x", "postgresql://"),
        ("POSTROOM_DATABASE_URL", "not a url", "postgresql://"),
    ],
)
def test_a_wrong_setting_names_the_variable_the_values_and_the_fix(
    sh: Shell, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = sh("route", "list")
    line = _one_line(result.err)
    assert result.code == 2, line
    assert variable in line and said in line and "unset it" in line, line
    assert "ValidationError" not in line and "s3cret-pw" not in line, line


def test_a_data_folder_that_cannot_be_made_names_postroom_home(
    sh: Shell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    for home in (tmp_path / "a-file", tmp_path / "a-file" / "below"):
        monkeypatch.setenv("POSTROOM_HOME", str(home))
        result = sh("route", "add", "a@example.test", "--context", "A", "--category", "B",
                    "--queue", "q")  # fmt: skip
        line = _one_line(result.err)
        assert result.code == 2 and "POSTROOM_HOME" in line, line
        assert "FileNotFoundError" not in line and "NotADirectoryError" not in line, line


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_postgres_and_postgresql_urls_mean_the_installed_driver(
    monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    monkeypatch.setenv("POSTROOM_DATABASE_URL", f"{scheme}://postgres@127.0.0.1:5432/test")
    url = load_settings().effective_database_url
    assert url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert make_engine(url).dialect.driver == "psycopg"


# -- item 10: only writers migrate, only Postroom's database -------------------------------


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        )


@pytest.mark.parametrize(
    "command",
    [("route", "list"), ("item", "list"), ("channel", "list"), ("outbox", "list"),
     ("quarantine", "list"), ("unhandled", "list"), ("user", "list"), ("smtp", "list")],
)  # fmt: skip
def test_a_read_only_command_never_creates_the_schema(
    sh: Shell, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """An empty database reads as an empty Postroom (a schema in memory), untouched."""
    assert sh.json(*command) == []
    assert _tables(tmp_path / "home" / "postroom.db") == []
    explained = sh.json("explain", "-", stdin=MAIL)
    assert explained["decision"]["outcome"]
    assert _tables(tmp_path / "home" / "postroom.db") == []
    sh.ok("db", "upgrade")
    assert sh.json(*command) == []


def test_a_read_only_command_on_an_older_schema_asks_for_the_upgrade(
    sh: Shell, tmp_path: Path
) -> None:
    from alembic import command

    (tmp_path / "home").mkdir(mode=0o700)
    engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'postroom.db'}")
    command.upgrade(alembic_config(engine), "0004")
    result = sh("route", "list")
    assert result.code == 1 and "older schema: run: postroom db upgrade" in _one_line(result.err)
    sh.ok("route", "add", "a@example.test", "--context", "A", "--category", "B", "--queue", "q")
    assert sh("route", "list").code == 0


@pytest.mark.parametrize(
    "command",
    [("route", "list"), ("route", "add", "a@example.test", "--context", "A", "--category", "B",
      "--queue", "q"), ("db", "upgrade")],
)  # fmt: skip
def test_another_applications_database_is_refused_and_left_alone(
    sh: Shell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: tuple[str, ...]
) -> None:
    other = tmp_path / "crm.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    monkeypatch.setenv("POSTROOM_DATABASE_URL", f"sqlite:///{other}")
    result = sh(*command)
    line = _one_line(result.err)
    assert result.code == 1 and "another application" in line, line
    assert "POSTROOM_DATABASE_URL" in line
    assert _tables(other) == ["customers"]
    assert inspect(make_engine(f"sqlite:///{other}")).get_table_names() == ["customers"]


# -- item 11: one exit rule ----------------------------------------------------------------


def test_every_kind_of_mistake_exits_by_the_one_rule(
    sh: Shell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POSTROOM_TEST_UNSET", raising=False)
    sh.ok("route", "add", "support@example.test", "--context", "A", "--category", "B",
          "--queue", "q")  # fmt: skip
    ref = sh.ingest(MAIL)["work_items"][0]["reference"]
    missing = str(tmp_path / "missing.pem")
    given_wrong = [
        ("channel", "add", "a", "--url", "gopher://u@mail.test:70", "--no-check"),
        ("channel", "add", "a", "--url", "pop3s://u@mail.test:995", "--ca-file", missing,
         "--no-check"),
        ("channel", "add", "a", "--url", "pop3s://u@mail.test:995", "--password-env",
         "POSTROOM_TEST_UNSET", "--no-check"),
        ("smtp", "add", "s", "--url", "http://u@mail.test:80"),
        ("smtp", "add", "s", "--url", "smtps://u@mail.test:465", "--password-env",
         "POSTROOM_TEST_UNSET"),
        ("check", "gopher://mail.test"),
        ("check", "pop3s://mail.test", "--ca-file", missing),
        ("check", "pop3s://mail.test", "--password-env", "POSTROOM_TEST_UNSET"),
        ("ingest", str(tmp_path / "missing.eml")),
        ("explain", str(tmp_path / "missing.eml")),
        ("item", "reply", ref, "--body-file", str(tmp_path / "missing.txt")),
        ("route", "list", "--no-such-option"),
        ("no-such-command",),
        ("item", "show"),
    ]  # fmt: skip
    for argv in given_wrong:
        result = sh(*argv)
        assert result.code == 2, f"{argv}: exit {result.code}: {result.err}"
        assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    refused = [
        ("item", "show", "999999-T"),
        ("channel", "enable", "nothing-by-that-name"),
        ("route", "remove", "nobody@example.test"),
    ]
    for argv in refused:
        result = sh(*argv)
        assert result.code == 1, f"{argv}: exit {result.code}: {result.err}"
        _one_line(result.err)


# -- item 17: help -------------------------------------------------------------------------


def _commands(sh: Shell) -> list[tuple[str, ...]]:
    import typer.main

    from postroom.cli.app import build_app

    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(build_app()), ())
    return found


def test_help_has_no_bool_values_no_double_negatives_and_short_h(sh: Shell) -> None:
    paths = _commands(sh)
    assert len(paths) > 30
    for path in paths:
        result = sh(*path, "-h")
        assert result.code == 0, f"{path}: {result.err}"
        assert "<bool>" not in result.out and "--no-no-" not in result.out, (path, result.out)
        assert "--no-json" not in result.out and "--no-force" not in result.out, path


def test_a_group_alone_prints_its_commands_and_version_prints_the_version(sh: Shell) -> None:
    for group in ("channel", "item", "route", "smtp"):
        result = sh(group)
        assert result.code == 0, result.err
        assert "Missing command" not in result.out + result.err
        assert " list " in result.out or " add " in result.out, result.out
    version = sh("--version")
    assert version.code == 0 and version.out.startswith("postroom "), version
    assert sh().code == 0


# -- item 18: a shared folder is never taken over -------------------------------------------


def test_a_shared_folder_as_data_folder_keeps_its_mode(
    sh: Shell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    (shared / "someone-elses.txt").write_text("")
    monkeypatch.setenv("POSTROOM_HOME", str(shared))
    sh.ok("db", "upgrade")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "postroom.db").stat().st_mode) == 0o600
    assert "chmod 700" in caplog.text
    # A folder holding only Postroom's files is Postroom's: tightened.
    os.remove(shared / "someone-elses.txt")
    sh.ok("db", "upgrade")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700


def test_an_mta_ingest_with_a_wrong_setting_is_told_to_try_again(
    sh: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For an MTA pipe a setting to fix is a temporary failure: the mail waits, never bounces."""
    monkeypatch.setenv("POSTROOM_POLL_BATCH", "abc")
    result = sh("ingest", "-", stdin=MAIL)
    assert result.code == 75, result.err
    assert "POSTROOM_POLL_BATCH" in _one_line(result.err)


def test_a_wrong_secret_key_names_the_variable_and_the_fix(
    sh: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTROOM_SECRET_KEY", "not-a-key-but-a-secret")
    monkeypatch.setenv("POSTROOM_TEST_PW", "pw")
    result = sh("channel", "add", "box", "--url", "pop3s://u@mail.test:995", "--password-env",
                "POSTROOM_TEST_PW", "--no-check")  # fmt: skip
    line = _one_line(result.err)
    assert result.code == 2 and "POSTROOM_SECRET_KEY" in line and "unset" in line, line
    assert "not-a-key-but-a-secret" not in line
