"""How a check's report reads on the configuration pages (`ui.check_steps`), from the
``check --json`` shape: each step's figure, the certificate's facts, a skipped step and
one after a failure, the verdict; a server's text bounded and its control characters
shown as such; a stored report missing fields still renders. And `ui.wording`: the
services' command-line options become the form's fields."""

from __future__ import annotations

from postroom.web.ui.check_steps import ITEMS_LIMIT, TEXT_LIMIT, check_view
from postroom.web.ui.wording import for_the_web

CERT = {
    "subject": "CN=mail.example.org",
    "issuer": "CN=Example CA",
    "san": ["DNS:mail.example.org"],
    "not_before": "2026-01-01T00:00:00+00:00",
    "not_after": "2027-01-01T00:00:00+00:00",
    "days_left": 31,
    "hostname_match": True,
    "trusted": False,
    "why_untrusted": "self-signed certificate",
}


def _step(
    name: str, ok: bool | None, detail: dict[str, object], **more: object
) -> dict[str, object]:
    return {"name": name, "ok": ok, "detail": detail, "error": None, "hint": None, **more}


def test_each_step_reads_as_an_engineer_reads_it() -> None:
    report = {
        "url": "imaps://u@mail.example.org:993",
        "ok": False,
        "steps": [
            _step("dns", True, {"host": "mail.example.org", "addresses": ["192.0.2.1"]}),
            _step("tcp", True, {"address": "192.0.2.1", "port": 993, "ms": 12}),
            _step("tls", True, {"version": "TLSv1.3", "cipher": "X", "bits": 256, "ms": 40}),
            _step(
                "certificate",
                False,
                CERT,
                error="not trusted: self-signed certificate",
                hint="pass it with --ca-file",
            ),
            _step("greeting", None, {}),
            _step("auth", None, {"skipped": "no password given"}),
        ],
    }
    view = check_view(report)
    assert view.ok is False and view.verdict == "failed at Certificate"
    lines = [(s.label, s.mark, s.figure) for s in view.steps]
    assert lines == [
        ("DNS", "✓", "mail.example.org → 192.0.2.1"),
        ("TCP", "✓", "connected to 192.0.2.1:993 in 12 ms"),
        ("TLS", "✓", "TLSv1.3, X (256 bits), handshake 40 ms"),
        ("Certificate", "✗", "not trusted: self-signed certificate"),
        ("Greeting", "·", "not run: an earlier step failed"),
        ("Login", "·", "skipped: no password given"),
    ]
    facts = dict(view.steps[3].facts)
    assert facts["Subject"] == "CN=mail.example.org" and facts["Issuer"] == "CN=Example CA"
    assert facts["Valid until"] == "2027-01-01T00:00:00+00:00" and facts["Days left"] == "31"
    assert facts["Trusted"] == "no: self-signed certificate"
    assert view.steps[3].hint == "pass it in the CA file field"
    assert view.to_json()["steps"][3]["state"] == "bad"


def test_a_servers_text_is_bounded_and_shown_as_text() -> None:
    hostile = "+OK \x1b[31m\x00ready" + "A" * 5000
    caps = [f"CAP{i}" for i in range(1000)]
    view = check_view(
        {
            "url": "pop3s://u@h:995",
            "steps": [
                _step("greeting", True, {"greeting": hostile}),
                _step("capabilities", True, {"capabilities": caps, "before_tls": ["STLS"]}),
            ],
        }
    )
    greeting = view.steps[0].figure
    assert "\x1b" not in greeting and "\x00" not in greeting
    assert greeting == "+OK \\x1b[31m\\x00ready" + "A" * (TEXT_LIMIT - 15)  # for_terminal
    figure = view.steps[1].figure
    assert figure.endswith("(after STARTTLS)") and len(figure.split()) == ITEMS_LIMIT + 2
    assert view.verdict == "all steps passed"


def test_a_stored_report_missing_fields_still_renders() -> None:
    view = check_view({"steps": [{"name": "tcp", "ok": True}, "junk", {"ok": False}]})
    assert [(s.name, s.state) for s in view.steps] == [("tcp", "ok"), ("", "bad")]
    assert view.steps[0].figure == "passed"
    assert check_view({"untested": ["auth", "mailbox"], "steps": []}).verdict == (
        "incomplete: Login, Mailbox not tested (no password stored)"
    )


def test_the_fix_names_the_form_field() -> None:
    assert for_the_web("give the password with --password-env VAR or --password-stdin") == (
        "give the password in the Password field"
    )
    assert for_the_web("--url URL (the host and port)") == "the URL field (the host and port)"
    assert for_the_web("--context must not be empty") == "Context must not be empty"
    assert for_the_web("nothing to see") == "nothing to see"
