"""Nothing is enabled before its check has passed once (or --force); the result is kept."""

from __future__ import annotations

import pytest

from e2e.cli import run_cli
from support.mailstack import Mailstack

pytestmark = pytest.mark.usefixtures("postroom_env")


def test_smtp_server_enabled_only_after_a_passing_check(
    capsys: pytest.CaptureFixture[str], mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PW", "wrong-password-123")
    url = f"submission://alice@example.test@{mailstack.host}:{mailstack.submission_port}"
    ca = str(mailstack.ca_file)
    added = run_cli(
        capsys,
        "smtp",
        "add",
        "relay",
        "--url",
        url,
        "--password-env",
        "SMTP_PW",
        "--ca-file",
        ca,
        "--default",
    )
    # A failed check is a failed add (exit 1): kept, disabled, and the fix named.
    assert added.code == 1 and "added but kept disabled: check failed at auth" in added.err
    assert "fix it with: postroom smtp set relay --password-stdin" in added.err
    [row] = run_cli(capsys, "smtp", "list", "--json").json()
    assert (row["enabled"], row["last_check_ok"]) == (False, False)
    refused = run_cli(capsys, "smtp", "enable", "relay")
    assert refused.code == 1 and "stays disabled" in refused.err
    assert "wrong-password-123" not in added.out + added.err + refused.err
    forced = run_cli(capsys, "smtp", "enable", "relay", "--force")
    assert forced.code == 0
    [row] = run_cli(capsys, "smtp", "list", "--json").json()
    assert row["enabled"] is True


def test_smtp_check_by_name_and_channel_check_by_name(
    capsys: pytest.CaptureFixture[str], mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, password = mailstack.new_user("gate")
    monkeypatch.setenv("PW", password)
    ca = str(mailstack.ca_file)
    smtp_url = f"smtps://{address}@{mailstack.host}:{mailstack.smtps_port}"
    assert (
        run_cli(
            capsys, "smtp", "add", "s", "--url", smtp_url, "--password-env", "PW", "--ca-file", ca
        ).code
        == 0
    )
    checked = run_cli(capsys, "smtp", "check", "s", "--json").json()
    assert checked["ok"] is True
    assert [s["name"] for s in checked["steps"]][:3] == ["dns", "tcp", "tls"]
    pop_url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    added = run_cli(
        capsys, "channel", "add", "c", "--url", pop_url, "--password-env", "PW", "--ca-file", ca
    )
    assert "enabled: check passed" in added.out
    result = run_cli(capsys, "channel", "check", "c", "--json")
    assert result.code == 0 and result.json()["ok"] is True
    assert password not in result.out
    set_smtp = run_cli(
        capsys,
        "channel",
        "set-smtp",
        "c",
        "--url",
        f"smtps://{mailstack.host}:{mailstack.smtps_port}",
    )
    assert set_smtp.code == 0 and address in set_smtp.out
    [channel] = run_cli(capsys, "channel", "list", "--json").json()
    assert channel["smtp_url"].startswith("smtps://")
    shown = run_cli(capsys, "channel", "show", "c", "--json").json()
    assert shown["last_check_ok"] is True
    assert [s["name"] for s in shown["last_check"]["steps"]][-2:] == ["auth", "mailbox"]
