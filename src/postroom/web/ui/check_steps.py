"""A connection check as a page shows it: one line per step (DNS, TCP, TLS, certificate,
greeting, capabilities, login, mailbox or test send) with ✓/✗, the figure an engineer
reads in ``openssl s_client`` (the certificate's subject, issuer, dates and days left),
the error and its hint.

The input is the ``check --json`` shape (`render.checks.check_json`), the one a channel
or a server keeps as its last check, so a check just run and one stored read the same.
Every value may come from the server (its banner, its capabilities, its certificate's
subject): each is cut to `TEXT_LIMIT` characters, control characters escaped as on a
terminal (`postroom.domain.display.for_terminal`, the project's one escape for remote
text: ``\\x1b``, ``\\u202e``); the template escapes the rest (autoescape, never ``|safe``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from postroom.domain.display import for_terminal
from postroom.web.ui.wording import for_the_web

TEXT_LIMIT = 500
ITEMS_LIMIT = 60
"""Capabilities, addresses or names shown at most (a hostile server may send thousands)."""

LABELS = {
    "dns": "DNS",
    "tcp": "TCP",
    "tls": "TLS",
    "certificate": "Certificate",
    "greeting": "Greeting",
    "capabilities": "Capabilities",
    "auth": "Login",
    "mailbox": "Mailbox",
    "send": "Test send",
}
MARKS = {"ok": "✓", "bad": "✗", "skip": "·"}


@dataclass(frozen=True, slots=True)
class StepView:
    name: str
    label: str
    state: str
    """``ok`` passed, ``bad`` failed, ``skip`` did not run (skipped or after a failure)."""
    mark: str
    figure: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    """Named values under the line (the certificate's subject, issuer, dates…)."""
    error: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class CheckView:
    url: str
    ok: bool
    steps: list[StepView]
    verdict: str
    """One line: all passed, failed at which step, or what was left untested."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_view(report: dict[str, Any]) -> CheckView:
    """The view of a ``check --json`` report (a stored one may lack ``untested``)."""
    steps = [_step(raw) for raw in _list(report.get("steps")) if isinstance(raw, dict)]
    failed = [s.label for s in steps if s.state == "bad"]
    untested = [LABELS.get(str(n), str(n)) for n in _list(report.get("untested"))]
    if failed:
        verdict = f"failed at {failed[0]}"
    elif untested:
        verdict = f"incomplete: {', '.join(untested)} not tested (no password stored)"
    else:
        verdict = "all steps passed"
    return CheckView(_text(report.get("url")), not failed, steps, verdict)


def pending_steps(names: list[str]) -> list[dict[str, str]]:
    """The steps a check will run, in order, before it answers (for the live view)."""
    return [{"name": n, "label": LABELS.get(n, n)} for n in names]


def _step(raw: dict[str, Any]) -> StepView:
    name = _text(raw.get("name"))
    detail = raw.get("detail") if isinstance(raw.get("detail"), dict) else {}
    assert isinstance(detail, dict)
    ok = raw.get("ok")
    state = "ok" if ok is True else "bad" if ok is False else "skip"
    error = _text(raw.get("error")) or None
    hint = _text(raw.get("hint")) or None
    if ok is None:
        skipped = detail.get("skipped")
        figure = f"skipped: {_text(skipped)}" if skipped else "not run: an earlier step failed"
        facts: list[tuple[str, str]] = []
    elif not detail:
        figure, facts = "passed", []
    else:
        figure, facts = _FIGURES.get(name, _generic)(detail)
    if ok is False:
        figure = error or "failed"
    return StepView(
        name=name,
        label=LABELS.get(name, name),
        state=state,
        mark=MARKS[state],
        figure=figure,
        facts=facts,
        error=for_the_web(error) if error else None,
        hint=for_the_web(hint) if hint else None,
    )


Figure = tuple[str, list[tuple[str, str]]]


def _dns(d: dict[str, Any]) -> Figure:
    return f"{_text(d.get('host'))} → {_join(d.get('addresses'))}", []


def _tcp(d: dict[str, Any]) -> Figure:
    where = f"{_text(d.get('address'))}:{_text(d.get('port'))}"
    return f"connected to {where} in {_text(d.get('ms'))} ms", []


def _tls(d: dict[str, Any]) -> Figure:
    figure = f"{_text(d.get('version'))}, {_text(d.get('cipher'))}"
    if d.get("bits"):
        figure += f" ({_text(d.get('bits'))} bits)"
    if d.get("ms") is not None:
        figure += f", handshake {_text(d.get('ms'))} ms"
    if d.get("verified") is False:
        figure += " — read without verifying, to show the certificate"
    return figure, []


def _certificate(d: dict[str, Any]) -> Figure:
    days = d.get("days_left")
    until = _text(d.get("not_after"))[:10]
    figure = f"{_text(d.get('subject'))}, issued by {_text(d.get('issuer'))}"
    figure += f", until {until} ({_text(days)} days left)"
    trusted = "yes" if d.get("trusted") else f"no: {_text(d.get('why_untrusted'))}"
    facts = [
        ("Subject", _text(d.get("subject"))),
        ("Issuer", _text(d.get("issuer"))),
        ("Names", _join(d.get("san")) or "none"),
        ("Valid from", _text(d.get("not_before"))),
        ("Valid until", _text(d.get("not_after"))),
        ("Days left", _text(days)),
        ("Host name matches", "yes" if d.get("hostname_match") else "no"),
        ("Trusted", trusted),
    ]
    if d.get("warning"):
        facts.append(("Warning", _text(d.get("warning"))))
    return figure, facts


def _greeting(d: dict[str, Any]) -> Figure:
    return _text(d.get("greeting")), []


def _capabilities(d: dict[str, Any]) -> Figure:
    caps = [_text(c).split(" ", 1)[0] for c in _list(d.get("capabilities"))[:ITEMS_LIMIT]]
    figure = " ".join(caps)
    facts = []
    if "before_tls" in d:
        figure += " (after STARTTLS)"
        facts.append(("Before STARTTLS", _join(d.get("before_tls"))))
    return figure, facts


def _auth(d: dict[str, Any]) -> Figure:
    acting = f" for {_text(d.get('authzid'))}" if d.get("authzid") else ""
    return f"logged in as {_text(d.get('user'))}{acting} ({_text(d.get('mechanism'))})", []


def _mailbox(d: dict[str, Any]) -> Figure:
    figure = f"{_text(d.get('messages'))} messages"
    if d.get("folder"):
        figure += f" in {_text(d.get('folder'))}"
    if d.get("bytes") is not None:
        figure += f", {_text(d.get('bytes'))} bytes"
    return figure, []


def _send(d: dict[str, Any]) -> Figure:
    to = f" to {_text(d.get('to'))}" if d.get("to") else ""
    return f"sent{to}: {_text(d.get('response'))}", []


def _generic(d: dict[str, Any]) -> Figure:
    facts = [(_text(k), _text(v)) for k, v in list(d.items())[:ITEMS_LIMIT]]
    return "passed", facts


_FIGURES = {
    "dns": _dns,
    "tcp": _tcp,
    "tls": _tls,
    "certificate": _certificate,
    "greeting": _greeting,
    "capabilities": _capabilities,
    "auth": _auth,
    "mailbox": _mailbox,
    "send": _send,
}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _join(value: object) -> str:
    return ", ".join(_text(v) for v in _list(value)[:ITEMS_LIMIT])


def _text(value: object) -> str:
    """A value from the server as one bounded line, control characters escaped."""
    if value is None:
        return ""
    return for_terminal(str(value)[:TEXT_LIMIT])
