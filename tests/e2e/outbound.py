"""Helpers for the outbound end-to-end tests: a shell on the in-process CLI, tickets."""

from __future__ import annotations

from typing import Any

from e2e.cli import Shell as BaseShell
from support.mails import make_mail

EXCHANGE_DOMAIN = "SL2P216MB1234.KORP216.PROD.OUTLOOK.COM"
"""The host part of a Message-ID Exchange Online writes (long enough to need folding)."""


class Shell(BaseShell):
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
