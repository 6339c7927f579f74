"""A failed check's fix: named by the services as settings (no door's words), worded by
each door: the CLI's `set` options (docs/cli.md), the form fields, the API's fields."""

from __future__ import annotations

from typing import Any

import pytest

from postroom.cli.admission import fix_hint
from postroom.diagnostics import CheckReport, Step, StepName
from postroom.render.fixes import cli_fix, field_fix, fix_json
from postroom.services.enabling import Admission
from postroom.services.setting_fixes import Fix, Setting, fix_for


def _failed(name: StepName, **detail: Any) -> CheckReport:
    passed = [Step(StepName.DNS, ok=True)] if name is not StepName.DNS else []
    return CheckReport("imaps://a@mail.example", [*passed, Step(name, ok=False, detail=detail)])


@pytest.mark.parametrize(
    ("step", "detail", "fix", "options"),
    [
        (StepName.DNS, {}, Fix.HOST_NAME, "--url URL (the host name)"),
        (StepName.TCP, {}, Fix.HOST_AND_PORT, "--url URL (the host and port)"),
        (StepName.TLS, {}, Fix.TLS_MODE, "--url URL (the port and TLS mode) or --ca-file FILE"),
        (
            StepName.CERTIFICATE,
            {},
            Fix.CERTIFICATE,
            "--ca-file FILE (the CA that signed the server's certificate)",
        ),
        (StepName.GREETING, {}, Fix.PROTOCOL, "--url URL (the port and protocol)"),
        (StepName.CAPABILITIES, {}, Fix.PROTOCOL, "--url URL (the port and protocol)"),
        (
            StepName.AUTH,
            {},
            Fix.LOGIN,
            "--password-stdin (or --password-env VAR, --authzid ADDRESS)",
        ),
        (
            StepName.AUTH,
            {"oauth2": "microsoft"},
            Fix.OAUTH,
            "--client-id ID, --scope S (OAuth2), or sign in again (authorize)",
        ),
        (StepName.MAILBOX, {}, Fix.MAILBOX, "--url URL or --authzid ADDRESS (the mailbox)"),
        (
            StepName.MAILBOX,
            {"folders": ["INBOX"]},
            Fix.FOLDER,
            "--folder NAME (a folder the server has)",
        ),
        (
            StepName.MAILBOX,
            {"move_to": "Done", "folders": ["INBOX"]},
            Fix.MOVE_FOLDER,
            "--after move:FOLDER (a folder the server has)",
        ),
        (StepName.SEND, {}, Fix.SENDER, "--url URL or --authzid ADDRESS (who may send)"),
    ],
)
def test_the_service_names_settings_and_the_cli_its_options(
    step: StepName, detail: dict[str, Any], fix: Fix, options: str
) -> None:
    report = _failed(step, **detail)
    assert fix_for(report) is fix
    admission = Admission(report, enabled=False)
    assert admission.remedy is fix
    # the service's own words name settings, never an option of a command
    assert all(not s.value.startswith("-") for s in fix.settings) and "--" not in fix.about
    assert cli_fix(fix) == options
    assert fix_hint(admission, "postroom channel set box") == (
        f"fix it with: postroom channel set box {options}"
    )


def test_no_fix_without_a_failed_step() -> None:
    passed = CheckReport("imaps://a@mail.example", [Step(StepName.DNS, ok=True)])
    assert fix_for(passed) is None and fix_for(None) is None
    assert Admission(passed, enabled=True).remedy is None
    assert (cli_fix(None), field_fix(None), fix_json(None)) == ("", "", None)


def test_the_pages_and_the_api_word_the_same_fix_by_field() -> None:
    assert field_fix(Fix.HOST_AND_PORT) == "the URL field (the host and port)"
    assert field_fix(Fix.LOGIN) == (
        "the Password field or the Authorization identity field (the login)"
    )
    assert fix_json(Fix.TLS_MODE) == {
        "settings": ["url", "ca_file"],
        "about": "the port and TLS mode, or the CA",
    }
    for fix in Fix:  # every fix has its words in every door
        assert cli_fix(fix).startswith("--") and field_fix(fix)
        assert fix_json(fix) == {"settings": [s.value for s in fix.settings], "about": fix.about}
    assert {s for fix in Fix for s in fix.settings} <= set(Setting)
