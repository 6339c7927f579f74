"""SMTP servers as use cases, through SQLite in memory and a fake connection check."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.credentials import Secret
from postroom.errors import NotFoundError, UserError
from postroom.services.servers import NewServer, ServerService
from unit.services.config_fakes import CannedCheck, Clock, memory_storage, secret_box

URL = "submission://alice@example.test@smtp.example.test:587"


def service(tmp_path: Path, check: CannedCheck) -> ServerService:
    return ServerService(memory_storage(str(tmp_path)), secret_box(), check, Clock())


def new(**overrides: object) -> NewServer:
    values: dict[str, object] = {"name": "relay", "url": URL, "password": Secret("pw-1234")}
    values.update(overrides)
    return NewServer(**values)  # type: ignore[arg-type]


def test_the_same_rule_as_channels(tmp_path: Path) -> None:
    check = CannedCheck(passes=False)
    servers = service(tmp_path, check)
    added = servers.add(new(default=True))
    assert not added.admission.enabled
    [stored] = servers.list()
    assert (stored.enabled, stored.last_check_ok, stored.is_default) == (False, False, True)
    assert stored.password_enc and "pw-1234" not in stored.password_enc
    assert not servers.enable("relay").enabled
    assert servers.enable("relay", force=True).forced
    assert len(check.calls) == 2
    assert servers.list()[0].enabled is True
    servers.disable("relay")
    check.passes = True
    assert servers.enable("relay").passed
    assert check.calls[-1] == (URL, "pw-1234", None)
    assert servers.list()[0].enabled is True


def test_add_forced_and_passing(tmp_path: Path) -> None:
    servers = service(tmp_path, CannedCheck(passes=False))
    assert servers.add(new(), force=True).admission.forced
    assert servers.list()[0].enabled is True
    passing = service(tmp_path / "2", CannedCheck(passes=True))
    added = passing.add(new(url="smtps://smtp.example.test:465", password=None, send_as=True))
    assert added.admission.passed and added.server.url == "smtps://smtp.example.test:465"
    [stored] = passing.list()
    assert (stored.enabled, stored.send_as, stored.password_enc) == (True, True, None)


def test_check_sends_to_the_given_address_and_keeps_the_report(tmp_path: Path) -> None:
    check = CannedCheck(passes=True)
    servers = service(tmp_path, check)
    servers.add(new())
    check.passes = False
    report = servers.check("relay", "someone@example.test")
    assert not report.ok
    assert check.calls[-1] == (URL, "pw-1234", "someone@example.test")
    [stored] = servers.list()
    assert (stored.enabled, stored.last_check_ok) == (True, False)  # a check never disables
    with pytest.raises(NotFoundError, match="no SMTP server 'x'"):
        servers.check("x")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "pop3s://a@h:995"}, "SMTP servers take smtps://, submission:// or smtp:// URLs"),
        ({"password": None}, "give the password with --password-env VAR or --password-stdin"),
        (
            {"url": "smtps://smtp.example.test:465"},
            "a password needs a user in the URL: smtps://USER@HOST:PORT",
        ),
        (
            {"url": "smtps://smtp.example.test:465", "password": None, "authzid": "x@e.test"},
            "authzid needs a user in the URL",
        ),
    ],
)
def test_what_add_refuses(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    servers = service(tmp_path, CannedCheck())
    with pytest.raises(UserError) as refused:
        servers.add(new(**overrides))
    assert str(refused.value) == message
    assert servers.list() == []
