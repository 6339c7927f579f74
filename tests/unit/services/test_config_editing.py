"""Configuration that can be fixed: `channel set`, `smtp set/remove`, `route set`; an add
stores a complete record or nothing; a changed connection setting is checked before the
channel or server is enabled again; `channel add` says when no route covers its mailbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.credentials import Secret
from postroom.domain.ports import UnroutedPolicy
from postroom.domain.routes import Route
from postroom.errors import NotFoundError, UserError
from postroom.net.sasl import AuthMechanism
from postroom.services.channels import ChannelChange, ChannelService, NewChannel
from postroom.services.routes import RouteService
from postroom.services.servers import NewServer, ServerChange, ServerService
from postroom.services.setting_fixes import Fix
from postroom.storage.unit import Storage
from unit.services.config_fakes import CannedCheck, Clock, memory_storage, secret_box

POP = "pop3s://alice@example.test@pop.example.test:995"
SMTP = "submission://alice@example.test@smtp.example.test:587"


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return memory_storage(str(tmp_path))


def channels(
    storage: Storage, check: CannedCheck, policy: UnroutedPolicy = UnroutedPolicy.AUTO_REPLY
) -> ChannelService:
    return ChannelService(storage, secret_box(), check, Clock(), unrouted=policy)


def new_channel(**overrides: object) -> NewChannel:
    values: dict[str, object] = {"name": "box", "url": POP, "password": Secret("pw-1234")}
    values.update(overrides)
    return NewChannel(**values)  # type: ignore[arg-type]


@pytest.fixture
def not_pem(tmp_path: Path) -> Path:
    path = tmp_path / "ca.txt"
    path.write_text("this is not a certificate\n")
    return path


# ------------------------------------------------------------------ item 4: all or nothing
def test_a_ca_file_that_is_not_pem_stores_no_channel(storage: Storage, not_pem: Path) -> None:
    check = CannedCheck()
    service = channels(storage, check)
    with pytest.raises(UserError, match=r"holds no certificate TLS can read: give the CA's"):
        service.add(new_channel(ca_file=not_pem))
    assert service.list() == [] and check.calls == []
    assert service.add(new_channel()).channel.name == "box"  # the name is free


def test_a_ca_file_that_is_not_pem_stores_no_server(storage: Storage, not_pem: Path) -> None:
    servers = ServerService(storage, secret_box(), CannedCheck(), Clock())
    new = NewServer(name="relay", url=SMTP, password=Secret("pw-1234"), ca_file=not_pem)
    with pytest.raises(UserError, match="holds no certificate"):
        servers.add(new)
    assert servers.list() == []


# ------------------------------------------------------------------ item 3: channel set
def test_a_new_password_is_checked_and_enables_the_channel_again(storage: Storage) -> None:
    check = CannedCheck(passes=False)
    service = channels(storage, check)
    added = service.add(new_channel())
    assert added.admission is not None and not added.admission.enabled
    assert added.admission.remedy is Fix.LOGIN
    check.passes = True
    changed = service.set("box", ChannelChange(password=Secret("pw-5678")))
    assert changed.admission is not None and changed.admission.passed
    stored = service.show("box")
    assert (stored.enabled, stored.failure_count, stored.last_check_ok) == (True, 0, True)
    assert check.calls[-1] == (POP, "pw-5678", None)


def test_a_changed_url_switches_the_channel_off_until_its_check_passes(storage: Storage) -> None:
    check = CannedCheck(passes=True)
    service = channels(storage, check)
    service.add(new_channel())
    assert service.show("box").enabled
    check.passes = False
    other = "pop3s://alice@example.test@pop2.example.test:995"
    changed = service.set("box", ChannelChange(url=other))
    assert changed.admission is not None and not changed.admission.enabled
    stored = service.show("box")
    assert (stored.enabled, stored.url, stored.last_check_ok) == (False, other, False)
    assert check.calls[-1] == (other, "pw-1234", None)  # the stored password, opened


def test_interval_and_failure_limit_change_without_a_check(storage: Storage) -> None:
    check = CannedCheck(passes=True)
    service = channels(storage, check)
    service.add(new_channel())
    changed = service.set("box", ChannelChange(interval=300, max_failures=3))
    assert changed.admission is None and len(check.calls) == 1
    stored = service.show("box")
    assert (stored.interval_s, stored.max_failures, stored.enabled) == (300, 3, True)


def test_a_channel_a_person_switched_off_stays_off(storage: Storage) -> None:
    check = CannedCheck(passes=True)
    service = channels(storage, check)
    service.add(new_channel())
    service.disable("box")
    changed = service.set("box", ChannelChange(password=Secret("pw-5678")))
    assert changed.admission is not None and changed.admission.passed
    assert not changed.admission.enabled
    stored = service.show("box")
    assert (stored.enabled, stored.disabled_reason) == (False, "disabled by a user")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (ChannelChange(), "nothing to change"),
        (ChannelChange(url="smtps://a@h:465"), "input channels take"),
        (ChannelChange(interval=1), "^interval must be at least 5 seconds"),
        (ChannelChange(max_failures=0), "^max_failures must be at least 1"),
    ],
)
def test_what_set_refuses_changes_nothing(
    storage: Storage, change: ChannelChange, message: str
) -> None:
    service = channels(storage, CannedCheck())
    service.add(new_channel())
    before = service.show("box")
    with pytest.raises(UserError, match=message):
        service.set("box", change)
    assert service.show("box") == before


def test_set_refuses_an_authzid_the_login_cannot_carry(storage: Storage) -> None:
    service = channels(storage, CannedCheck())
    service.add(new_channel(mechanism=AuthMechanism.USER))
    before = service.show("box")
    with pytest.raises(UserError, match="needs mechanism plain or auto"):
        service.set("box", ChannelChange(authzid="team@example.test"))
    assert service.show("box") == before


def test_set_on_a_missing_channel(storage: Storage) -> None:
    with pytest.raises(NotFoundError, match="no channel 'nope'"):
        channels(storage, CannedCheck()).set("nope", ChannelChange(interval=60))


# ------------------------------------------------------------------ item 8: no route
def test_add_says_what_mail_to_an_unrouted_mailbox_gets(storage: Storage) -> None:
    added = channels(storage, CannedCheck()).add(new_channel())
    assert added.unrouted is not None
    assert added.unrouted.startswith("no route covers alice@example.test: every sender gets")
    assert "POSTROOM_UNROUTED_POLICY=auto-reply" in added.unrouted
    assert "postroom route add alice@example.test" in added.unrouted


def test_add_under_the_unhandled_policy(storage: Storage) -> None:
    service = channels(storage, CannedCheck(), UnroutedPolicy.UNHANDLED)
    added = service.add(new_channel())
    assert added.unrouted is not None and "waits in the Unhandled list" in added.unrouted


def test_a_route_for_the_address_or_its_base_silences_the_warning(storage: Storage) -> None:
    RouteService(storage, Clock()).add("alice@example.test", "C", "K", "q")
    service = channels(storage, CannedCheck())
    assert service.add(new_channel()).unrouted is None
    tagged = "pop3s://alice+sales@example.test@pop.example.test:995"
    assert service.add(new_channel(name="tagged", url=tagged)).unrouted is None


# ------------------------------------------------------------------ item 3: smtp set/remove
def test_smtp_set_checks_a_new_password_and_remove_forgets(storage: Storage) -> None:
    check = CannedCheck(passes=False)
    servers = ServerService(storage, secret_box(), check, Clock())
    servers.add(NewServer(name="relay", url=SMTP, password=Secret("pw-1234")))
    assert not servers.show("relay").enabled
    check.passes = True
    changed = servers.set("relay", ServerChange(password=Secret("pw-5678")))
    assert changed.admission is not None and changed.admission.passed
    assert servers.show("relay").enabled and check.calls[-1][1] == "pw-5678"
    roles = servers.set("relay", ServerChange(default=True, send_as=True))
    assert roles.admission is None
    shown = servers.show("relay")
    assert (shown.is_default, shown.send_as, shown.enabled) == (True, True, True)
    servers.remove("relay")
    assert servers.list() == []
    with pytest.raises(NotFoundError):
        servers.remove("relay")


# ------------------------------------------------------------------ route set
def test_route_set_changes_what_is_given(storage: Storage) -> None:
    routes = RouteService(storage, Clock())
    routes.add("help@example.test", "C", "K", "q")
    changed = routes.set("HELP@example.test", queue="q2", acknowledge=True)
    assert changed == Route("help@example.test", "C", "K", "q2", True)
    assert routes.list() == [changed]
    with pytest.raises(NotFoundError, match=r"no route for other@example\.test"):
        routes.set("other@example.test", queue="q")
    with pytest.raises(UserError, match="--context must not be empty"):
        routes.set("help@example.test", context=" ")
