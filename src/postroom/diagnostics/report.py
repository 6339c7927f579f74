"""What `postroom check` found: one result per step, as plain data.

The JSON form is an interface (docs/cli.md, "Connection testing"): ``{"url", "ok", "steps":
[{"name", "ok", "detail", "error", "hint"}]}``; a step that did not run has ``ok`` null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from postroom.net.connection import FailureClass


class StepName(StrEnum):
    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    CERTIFICATE = "certificate"
    GREETING = "greeting"
    CAPABILITIES = "capabilities"
    AUTH = "auth"
    MAILBOX = "mailbox"
    SEND = "send"


@dataclass(slots=True)
class Step:
    name: StepName
    ok: bool | None = None
    """True passed, False failed, None did not run."""
    summary: str = ""
    """The figure a person reads on the step's line (not part of the JSON)."""
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    """On failure: what to do about it; on a pass: a warning (a certificate expiring soon)."""
    failure_class: FailureClass | None = None
    """On failure, when the error tells more than the step (a timeout); not in the JSON."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "ok": self.ok,
            "detail": self.detail,
            "error": self.error,
            "hint": self.hint,
        }


@dataclass(slots=True)
class CheckReport:
    url: str
    """The URL without secrets."""
    steps: list[Step]

    @property
    def ok(self) -> bool:
        """Every step that ran passed."""
        return all(step.ok is not False for step in self.steps)

    def step(self, name: StepName) -> Step:
        for step in self.steps:
            if step.name is name:
                return step
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "ok": self.ok, "steps": [s.to_json() for s in self.steps]}

    def scrub(self, secrets: list[str]) -> None:
        """Replace every occurrence of a secret in the report by ``***`` (defence in depth:
        no step puts one there on purpose).  Secrets shorter than 4 characters are left
        alone: they would match ordinary words, and such a match would reveal nothing."""
        secrets = [s for s in secrets if len(s) >= 4]
        for step in self.steps:
            step.summary = _scrub(step.summary, secrets)
            step.error = _scrub(step.error, secrets)
            step.hint = _scrub(step.hint, secrets)
            step.detail = _scrub(step.detail, secrets)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
