"""Run the real `postroom` entry point in-process, as a shell would (argv, stdin, exit code)."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from postroom.cli.app import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str, stdin: bytes = b"") -> Result:
    capsys.readouterr()
    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = old
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


class Shell:
    """The CLI as a person at a shell uses it, with the checks every test repeats."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str, stdin: bytes = b"") -> Result:
        return run_cli(self.capsys, *argv, stdin=stdin)

    def ok(self, *argv: str, stdin: bytes = b"") -> str:
        result = self(*argv, stdin=stdin)
        assert result.code == 0, f"{argv}: {result.err}"
        return result.out.strip()

    def json(self, *argv: str, stdin: bytes = b"") -> Any:
        result = self(*argv, "--json", stdin=stdin)
        assert result.code == 0, f"{argv}: {result.err}"
        return result.json()

    def ingest(self, raw: bytes) -> dict[str, Any]:
        data: dict[str, Any] = self.json("ingest", "-", stdin=raw)
        return data

    def show(self, ref: str) -> dict[str, Any]:
        data: dict[str, Any] = self.json("item", "show", ref)
        return data
