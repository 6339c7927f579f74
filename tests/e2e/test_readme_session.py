"""The README's "A first session", run as written from examples/ (issue 13, item 2): its files
exist, and every command of it that needs no mail server works on them. The commands that
talk to a server (channel add, poll, check, smtp add, outbox send) are the mail stack tests'."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSTROOM = Path(sys.executable).with_name("postroom")
NEEDS_A_SERVER = ("channel add", "poll", "check", "smtp add", "outbox send")


def _session() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A first session", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]


def test_the_first_session_runs_as_written_on_the_example_files(tmp_path: Path) -> None:
    lines = [line for line in _session() if line]
    assert lines[0] == "cd examples"
    for name in ("message.eml", "answer.txt", "invoice.pdf"):
        assert (ROOT / "examples" / name).is_file(), name
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}
    env["POSTROOM_HOME"] = str(tmp_path / "home")
    ran = []
    for line in lines[1:]:
        if line.startswith("export ") or line.removeprefix("postroom ").startswith(NEEDS_A_SERVER):
            continue
        argv = shlex.split(line)
        assert argv[0] == "postroom", line
        done = subprocess.run(
            [str(POSTROOM), *argv[1:]],
            cwd=ROOT / "examples",
            env=env,
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, f"{line}: {done.stderr.decode(errors='replace')}"
        ran.append((argv[1:3], done.stdout.decode()))
    commands = [" ".join(words) for words, _ in ran]
    assert "route add" in commands and "ingest message.eml" in commands
    assert "item reply" in commands
    shown = dict((" ".join(w), out) for w, out in ran)
    assert '"reference": "100001-T"' in shown["item show"]
    assert "100001-T" in shown["item list"]
