"""Helpers for the outbound end-to-end tests: a shell on the in-process CLI, tickets."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.cli import Result, run_cli
from support.mails import make_mail


class Shell:
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

    def outbox(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.json("outbox", "list")
        return rows

    def ticket(self, sender: str, route: str = "support@example.test", **kw: Any) -> str:
        """A new Ticket by the route (acknowledged): its reference."""
        decision = self.ingest(make_mail(sender=sender, to=route, **kw))
        assert decision["outcome"] == "new_ticket", decision
        return str(decision["work_items"][0]["reference"])


def route(sh: Shell, address: str = "support@example.test", acknowledge: bool = True) -> None:
    args = ["route", "add", address, "--context", "Acme", "--category", "Query", "--queue", "q"]
    sh.ok(*args, *(["--acknowledge"] if acknowledge else []))
