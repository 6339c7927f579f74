"""Report, rendering, SASL strings and step order: plain data, no servers."""

from __future__ import annotations

import base64
import json

import pytest

from postroom.diagnostics import CheckReport, Step, StepName, step_names
from postroom.net import sasl
from postroom.net.connection import MailUrl
from postroom.render.checks import check_text as render


def test_plain_is_rfc4616_with_and_without_authzid() -> None:
    assert base64.b64decode(sasl.plain("alice", "pw")) == b"\0alice\0pw"
    assert base64.b64decode(sasl.plain("alice", "pw", "shared")) == b"shared\0alice\0pw"


def test_login_encodes_user_and_password_separately() -> None:
    assert sasl.login("alice", "pw") == ("YWxpY2U=", "cHc=")


@pytest.mark.parametrize(
    ("url", "order"),
    [
        ("pop3s://u@h", "dns tcp tls certificate greeting capabilities auth mailbox"),
        ("imap://u@h", "dns tcp greeting capabilities tls certificate auth mailbox"),
        ("submission://u@h", "dns tcp greeting capabilities tls certificate auth send"),
        ("smtps://u@h", "dns tcp tls certificate greeting capabilities auth send"),
    ],
)
def test_steps_run_in_protocol_order(url: str, order: str) -> None:
    assert " ".join(s.value for s in step_names(MailUrl.parse(url))) == order


def _report() -> CheckReport:
    return CheckReport(
        "pop3s://alice@example.test:995",
        [
            Step(StepName.DNS, True, "h → 192.0.2.1", {"addresses": ["192.0.2.1"]}),
            Step(StepName.TCP, False, error="connection refused", hint="check the port"),
            Step(StepName.TLS),
        ],
    )


def test_json_has_exactly_the_documented_keys() -> None:
    data = json.loads(json.dumps(_report().to_json()))
    assert set(data) == {"url", "ok", "steps"}
    assert data["ok"] is False
    assert [set(s) for s in data["steps"]] == [{"name", "ok", "detail", "error", "hint"}] * 3
    assert [s["ok"] for s in data["steps"]] == [True, False, None]


def test_ok_means_every_step_that_ran_passed() -> None:
    report = CheckReport("x", [Step(StepName.DNS, True), Step(StepName.AUTH, None)])
    assert report.ok


def test_render_marks_each_step_and_gives_the_hint() -> None:
    text = render(_report())
    assert "✓ dns          h → 192.0.2.1" in text
    assert "✗ tcp          connection refused" in text
    assert "hint: check the port" in text
    assert "· tls          not run" in text
    assert text.endswith("failed: tcp")


def test_scrub_removes_secrets_everywhere() -> None:
    report = CheckReport("x", [Step(StepName.AUTH, False, "s3cret", {"a": ["s3cret"]}, "s3cret")])
    report.scrub(["s3cret"])
    assert "s3cret" not in json.dumps(report.to_json()) + report.steps[0].summary
