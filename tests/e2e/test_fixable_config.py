"""The first hour at a shell against the real Dovecot and Postfix: a failed add is a failed
command that names the `set` fixing it, `channel set` checks and enables, a check without a
password is incomplete, `--password-env` never echoes what it was given."""

from __future__ import annotations

import pytest

from e2e.cli import Shell
from support.mailstack import Mailstack

pytestmark = pytest.mark.usefixtures("postroom_env")


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    return Shell(capsys)


def test_a_wrong_password_is_fixed_with_channel_set(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, password = mailstack.new_user("fixme")
    monkeypatch.setenv("WRONG_PW", "not-the-password-42")
    ca = str(mailstack.ca_file)
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    added = sh("channel", "add", "box", "--url", url, "--password-env", "WRONG_PW", "--ca-file", ca)
    assert added.code == 1, added
    assert "channel box added but kept disabled: check failed at auth" in added.err
    assert "fix it with: postroom channel set box --password-stdin" in added.err
    assert f"no route covers {address}" in added.err  # item 8: warned, with what happens
    assert "address not configured" in added.err
    [row] = sh.json("channel", "list")
    assert (row["enabled"], row["failure_count"]) == (False, 1)
    fixed = sh("channel", "set", "box", "--password-stdin", stdin=password.encode() + b"\n")
    assert fixed.code == 0, fixed
    assert "channel box changed and enabled: check passed" in fixed.out
    [row] = sh.json("channel", "list")
    assert (row["enabled"], row["failure_count"], row["last_check_ok"]) == (True, 0, True)
    assert "not-the-password-42" not in added.out + added.err
    assert password not in fixed.out + fixed.err
    slower = sh("channel", "set", "box", "--interval", "600")
    assert (slower.code, slower.out.strip()) == (0, "channel box changed")
    table = sh.ok("channel", "list").splitlines()
    assert table[0].split() == [
        "NAME", "ON", "PROTOCOL", "INTERVAL", "NEXT", "POLL", "FAILURES", "LAST", "ERROR"
    ]  # fmt: skip
    assert table[1].split()[:4] == ["box", "on", "pop3s", "600s"]


def test_a_failed_dns_step_shows_once_in_the_table(
    sh: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW", "whatever-1234")
    url = "pop3s://a@example.test@no-such-host.invalid:995"
    assert sh("channel", "add", "gone", "--url", url, "--password-env", "PW").code == 1
    [row] = sh.json("channel", "list")
    assert row["last_error"].startswith("dns: ")
    line = sh.ok("channel", "list").splitlines()[1]
    assert "dns: " in line and "dns: dns:" not in line


def test_smtp_add_failure_is_exit_1_and_smtp_set_fixes_it(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, password = mailstack.new_user("relayfix")
    monkeypatch.setenv("WRONG_PW", "not-the-password-42")
    monkeypatch.setenv("GOOD_PW", password)
    ca = str(mailstack.ca_file)
    url = f"smtps://{address}@{mailstack.host}:{mailstack.smtps_port}"
    added = sh("smtp", "add", "relay", "--url", url, "--password-env", "WRONG_PW", "--ca-file", ca)
    assert added.code == 1 and "SMTP server relay added but kept disabled" in added.err
    assert "fix it with: postroom smtp set relay --password-stdin" in added.err
    fixed = sh("smtp", "set", "relay", "--password-env", "GOOD_PW")
    assert fixed.code == 0 and "enabled: check passed" in fixed.out, fixed
    shown = sh.json("smtp", "show", "relay")
    assert (shown["enabled"], shown["last_check_ok"], shown["has_password"]) == (True, True, True)
    assert sh("smtp", "remove", "relay").code == 0
    assert sh.json("smtp", "list") == []


def test_a_ca_file_that_is_not_pem_leaves_nothing(
    sh: Shell, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path_factory.mktemp("ca") / "ca.pem"
    bad.write_text("not a certificate\n")
    monkeypatch.setenv("PW", "whatever-1234")
    url = "pop3s://a@example.test@127.0.0.1:995"
    added = sh("channel", "add", "box", "--url", url, "--password-env", "PW", "--ca-file", str(bad))
    # A file that cannot be used as given: exit 2 (README, "Exit status"), nothing stored.
    assert added.code == 2 and "holds no certificate TLS can read" in added.err
    assert sh.json("channel", "list") == []


def test_a_check_without_a_password_is_incomplete(sh: Shell, mailstack: Mailstack) -> None:
    address, _ = mailstack.new_user("nopw")
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    ca = str(mailstack.ca_file)
    human = sh("check", url, "--ca-file", ca)
    assert human.code == 3, human
    assert "all steps passed" not in human.out
    assert "incomplete: not tested: auth, mailbox" in human.out
    machine = sh("check", url, "--ca-file", ca, "--json")
    assert machine.code == 3
    data = machine.json()
    assert (data["ok"], data["complete"], data["untested"]) == (True, False, ["auth", "mailbox"])


@pytest.mark.parametrize(
    "argv",
    [
        ("check", "pop3s://a@example.test@127.0.0.1:995"),
        ("channel", "add", "box", "--url", "pop3s://a@example.test@127.0.0.1:995"),
        ("smtp", "add", "relay", "--url", "smtps://a@example.test@127.0.0.1:465"),
        ("channel", "set", "box"),
        ("smtp", "set", "relay"),
        ("auth-string", "--user", "a@example.test"),
    ],
)
@pytest.mark.parametrize("given", ["S3cr3t-Passw0rd!", "hunter2value"])
def test_password_env_never_echoes_what_it_was_given(
    sh: Shell, argv: tuple[str, ...], given: str
) -> None:
    result = sh(*argv, "--password-env", given)
    assert result.code != 0
    assert given not in result.out + result.err
    assert "--password-env" in result.err
    if not given.isidentifier():
        assert "takes the variable's name, not the password" in result.err
    else:
        assert "give its name, not the password" in result.err


def test_route_addresses_are_judged_and_the_bare_address_suggested(sh: Shell) -> None:
    hyphen = sh("route", "add", "help@-example-.test", "--context", "C", "--category", "K",
                "--queue", "q")  # fmt: skip
    assert hyphen.code == 1 and "starts or ends with a hyphen" in hyphen.err
    named = sh("route", "add", "Support <help@example.test>", "--context", "C",
               "--category", "K", "--queue", "q")  # fmt: skip
    assert named.code == 1 and "give the bare address" in named.err
    assert "'help@example.test'" in named.err
    assert sh.json("route", "list") == []
    sh.ok("route", "add", "help@example.test", "--context", "C", "--category", "K", "--queue", "q")
    sh.ok("route", "set", "help@example.test", "--queue", "q2", "--acknowledge")
    [route] = sh.json("route", "list")
    assert (route["queue"], route["acknowledge"], route["context"]) == ("q2", True, "C")
