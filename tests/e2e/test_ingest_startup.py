"""`postroom ingest` starts quickly (issue 12, item 5): it imports what storing a message
needs and nothing of the other commands. The wall time is bench/startup.py's to measure;
here, what a fresh process has imported once it has stored a message. And the lazy
registration misses no command: the table in cli/app.py names every one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from postroom.cli.app import COMMANDS, MODULES, build_app
from support.mails import make_mail

NOT_FOR_INGEST = (
    "alembic",
    "postroom.diagnostics",
    "postroom.runtime",
    "postroom.mailboxes",
    "postroom.outbound",
    "postroom.services.channels",
    "postroom.services.poll",
    "postroom.cli.channels",
    "postroom.cli.service",
    # cli/pipe.py runs an MTA's command line without Typer; SQLite needs no PostgreSQL.
    "typer",
    "click",
    "rich",
    "sqlalchemy.dialects.postgresql",
    # An environment with no setting to validate is read without pydantic.
    "pydantic",
    "pydantic_settings",
)

_PROBE = """
import json, sys
from postroom.cli.app import main
try:
    main(["ingest", sys.argv[1], "--json"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _ingest_in_fresh_process(tmp_path: Path, raw: bytes) -> tuple[int, set[str], str]:
    path = tmp_path / "one.eml"
    path.write_bytes(raw)
    env = {**os.environ, "POSTROOM_HOME": str(tmp_path / "home")}
    env.pop("POSTROOM_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    last = json.loads(out.stdout.strip().splitlines()[-1])
    return last["code"], set(last["modules"]), out.stdout


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def test_ingest_imports_only_what_storing_needs(tmp_path: Path) -> None:
    # The first run makes the schema (Alembic then): the second is the pipe's usual case.
    code, _, _ = _ingest_in_fresh_process(tmp_path, make_mail(subject="first"))
    assert code == 0
    code, modules, out = _ingest_in_fresh_process(tmp_path, make_mail(subject="second"))
    assert code == 0
    assert '"outcome": "new_ticket"' in out
    assert "postroom.services.ingest" in modules  # the probe did store through the service
    for package in NOT_FOR_INGEST:
        assert _loaded(modules, package) == [], f"postroom ingest imported {package}"


def _commands(app: typer.Typer) -> list[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return list(group.commands)


def test_the_command_table_names_every_command() -> None:
    everything = _commands(build_app())
    assert sorted(everything) == sorted(COMMANDS)
    assert {m for names in COMMANDS.values() for m in names} == set(MODULES)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_is_registered_on_its_own(command: str) -> None:
    assert command in _commands(build_app([command]))


def test_an_unknown_command_builds_everything() -> None:
    assert _commands(build_app(["nonsense"])) == _commands(build_app())
