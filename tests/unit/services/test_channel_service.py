"""Input channels as use cases, through SQLite in memory and a fake connection check."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.credentials import Secret
from postroom.errors import NotFoundError, UserError
from postroom.net.sasl import AuthMechanism
from postroom.services.channels import ChannelService, NewChannel, OwnSmtp
from unit.services.config_fakes import CannedCheck, Clock, memory_storage, secret_box

URL = "pop3s://alice@example.test@pop.example.test:995"


def service(tmp_path: Path, check: CannedCheck) -> ChannelService:
    return ChannelService(memory_storage(str(tmp_path)), secret_box(), check, Clock())


def new(**overrides: object) -> NewChannel:
    values: dict[str, object] = {"name": "box", "url": URL, "password": Secret("pw-1234")}
    values.update(overrides)
    return NewChannel(**values)  # type: ignore[arg-type]


def test_a_passing_check_enables_the_new_channel(tmp_path: Path) -> None:
    check = CannedCheck(passes=True)
    channels = service(tmp_path, check)
    added = channels.add(new())
    assert added.admission is not None and added.admission.passed
    assert added.channel.enabled is False  # as stored before its check
    stored = channels.show("box")
    assert (stored.enabled, stored.failure_count, stored.last_check_ok) == (True, 0, True)
    assert stored.last_check is not None and stored.last_check["ok"] is True
    assert check.calls == [(URL, "pw-1234", None)]
    assert stored.password_enc and "pw-1234" not in stored.password_enc
    assert stored.address == "alice@example.test"  # the login, as it has an @


def test_a_failing_check_leaves_it_disabled_and_counts_a_failure(tmp_path: Path) -> None:
    channels = service(tmp_path, CannedCheck(passes=False))
    added = channels.add(new())
    assert added.admission is not None and not added.admission.enabled
    stored = channels.show("box")
    assert (stored.enabled, stored.failure_count, stored.last_check_ok) == (False, 1, False)
    assert stored.last_error_class == "authentication"
    assert stored.last_error == "auth: authentication failed (check the password)"


def test_forced_after_a_failed_check_keeps_the_failure_counted(tmp_path: Path) -> None:
    channels = service(tmp_path, CannedCheck(passes=False))
    added = channels.add(new(), force=True)
    assert added.admission is not None and added.admission.forced
    stored = channels.show("box")
    assert (stored.enabled, stored.failure_count, stored.disabled_reason) == (True, 1, None)


def test_enable_checks_again_and_force_skips_the_check(tmp_path: Path) -> None:
    check = CannedCheck(passes=False)
    channels = service(tmp_path, check)
    channels.add(new())
    refused = channels.enable("box")
    assert not refused.enabled and refused.failure.startswith("auth:")
    assert channels.show("box").failure_count == 2
    forced = channels.enable("box", force=True)
    assert forced.forced and forced.report is None
    assert len(check.calls) == 2  # the add's and the refused enable's
    stored = channels.show("box")
    assert (stored.enabled, stored.failure_count) == (True, 0)
    check.passes = True
    channels.disable("box")
    assert channels.show("box").disabled_reason == "disabled by a user"
    assert channels.enable("box").passed
    stored = channels.show("box")
    assert (stored.enabled, stored.disabled_reason, stored.last_check_ok) == (True, None, True)
    assert check.calls[-1] == (URL, "pw-1234", None)  # the stored password, opened


def test_check_keeps_the_report_and_never_enables(tmp_path: Path) -> None:
    check = CannedCheck(passes=True)
    channels = service(tmp_path, check)
    added = channels.add(new(), check=False)
    assert added.admission is None and check.calls == []
    report = channels.check("box")
    assert report.ok
    stored = channels.show("box")
    assert (stored.enabled, stored.last_check_ok) == (False, True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"url": "smtps://a@h:465"},
            "input channels take pop3://, pop3s://, imap:// or imaps:// URLs",
        ),
        ({"url": "pop3s://h:995"}, "the URL needs the login: pop3s://USER@HOST:PORT"),
        ({"password": None}, "give the password with --password-env VAR or --password-stdin"),
        (
            {"authzid": "x@example.test", "mechanism": AuthMechanism.LOGIN},
            "an authorization identity needs mechanism plain or auto",
        ),
        (
            {"ca_file": Path("/nonexistent/ca.pem")},
            "CA file /nonexistent/ca.pem does not exist (give --ca-file a PEM file)",
        ),
    ],
)
def test_what_add_refuses(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    channels = service(tmp_path, CannedCheck())
    with pytest.raises(UserError) as refused:
        channels.add(new(**overrides))
    assert str(refused.value) == message
    assert channels.list() == []


def test_a_name_is_taken_once(tmp_path: Path) -> None:
    channels = service(tmp_path, CannedCheck())
    channels.add(new())
    with pytest.raises(UserError, match="a channel named 'box' exists already"):
        channels.add(new())


def test_set_smtp_needs_an_address_and_none_stops_it(tmp_path: Path) -> None:
    channels = service(tmp_path, CannedCheck())
    channels.add(new(name="plain", url="pop3s://bob@pop.example.test:995"))
    with pytest.raises(UserError, match="has no address to send from"):
        channels.set_smtp("plain", "smtps://smtp.example.test:465")
    channels.add(new(authzid="team@example.test"))
    with pytest.raises(UserError, match="SMTP servers take"):
        channels.set_smtp("box", "pop3s://smtp.example.test:995")
    own = channels.set_smtp("box", "smtps://smtp.example.test:465")
    assert own == OwnSmtp(
        "team@example.test", "smtps://smtp.example.test:465", "alice@example.test"
    )
    assert channels.show("box").smtp_url == "smtps://smtp.example.test:465"
    assert channels.set_smtp("box", None) is None
    assert channels.show("box").smtp_url is None
    with pytest.raises(NotFoundError):
        channels.set_smtp("missing", None)


def test_remove_and_list(tmp_path: Path) -> None:
    channels = service(tmp_path, CannedCheck())
    channels.add(new(name="b"))
    channels.add(new(name="a"))
    assert [c.name for c in channels.list()] == ["a", "b"]
    channels.remove("b")
    assert [c.name for c in channels.list()] == ["a"]
    with pytest.raises(NotFoundError, match="no channel 'b'"):
        channels.show("b")
