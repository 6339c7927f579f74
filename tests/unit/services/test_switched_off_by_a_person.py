"""A channel a person switched off stays off through a change of its connection settings:
the change is checked and its report kept, but only `enable` switches it on again
(docs/cli.md, `channel set`). One switched off by a failed check is switched on by a
change that passes."""

from __future__ import annotations

from pathlib import Path

from postroom.credentials import Secret
from postroom.services.channels import ChannelChange, ChannelService, NewChannel
from postroom.services.servers import NewServer, ServerChange, ServerService
from unit.services.config_fakes import CannedCheck, Clock, memory_storage, secret_box

URL = "pop3s://alice@example.test@pop.example.test:995"
NEW_URL = "pop3s://alice@example.test@pop2.example.test:995"


def service(tmp_path: Path, check: CannedCheck) -> ChannelService:
    return ChannelService(memory_storage(str(tmp_path)), secret_box(), check, Clock())


def test_a_channel_a_person_switched_off_is_checked_and_stays_off(tmp_path: Path) -> None:
    check = CannedCheck(passes=True)
    channels = service(tmp_path, check)
    channels.add(NewChannel(name="box", url=URL, password=Secret("pw-1234")))
    channels.disable("box")
    changed = channels.set("box", ChannelChange(url=NEW_URL))
    assert changed.checked and changed.admission is not None
    assert changed.admission.passed and not changed.admission.enabled
    stored = channels.show("box")
    assert (stored.enabled, stored.disabled_reason) == (False, "disabled by a user")
    assert stored.last_check_ok is True and stored.last_check is not None
    assert check.calls[-1] == (NEW_URL, "pw-1234", None)
    check.passes = False  # a failing check keeps it off too, and says why
    failed = channels.set("box", ChannelChange(password=Secret("pw-5678")))
    assert failed.admission is not None and not failed.admission.enabled
    stored = channels.show("box")
    assert (stored.enabled, stored.disabled_reason, stored.last_check_ok) == (
        False,
        "disabled by a user",
        False,
    )
    check.passes = True
    assert channels.enable("box").passed  # a person switches it on again
    assert channels.show("box").enabled


def test_a_channel_off_after_a_failed_check_is_on_once_a_change_passes(tmp_path: Path) -> None:
    check = CannedCheck(passes=False)
    channels = service(tmp_path, check)
    channels.add(NewChannel(name="box", url=URL, password=Secret("wrong-pw")))
    assert not channels.show("box").enabled
    check.passes = True
    changed = channels.set("box", ChannelChange(password=Secret("pw-1234")))
    assert changed.admission is not None and changed.admission.enabled
    assert channels.show("box").enabled


SMTP = "submission://desk@example.test@smtp.example.test:587"
NEW_SMTP = "submission://desk@example.test@smtp2.example.test:587"


def test_an_smtp_server_a_person_switched_off_is_checked_and_stays_off(tmp_path: Path) -> None:
    check = CannedCheck(passes=True)
    servers = ServerService(memory_storage(str(tmp_path)), secret_box(), check, Clock())
    servers.add(NewServer(name="relay", url=SMTP, password=Secret("pw-1234")))
    assert servers.show("relay").enabled
    servers.disable("relay")
    assert servers.show("relay").disabled_reason == "disabled by a user"
    changed = servers.set("relay", ServerChange(url=NEW_SMTP))
    assert changed.admission is not None
    assert changed.admission.passed and not changed.admission.enabled
    stored = servers.show("relay")
    assert (stored.enabled, stored.disabled_reason, stored.last_check_ok) == (
        False,
        "disabled by a user",
        True,
    )
    assert servers.enable("relay").enabled  # a person switches it on again
    stored = servers.show("relay")
    assert (stored.enabled, stored.disabled_reason) == (True, None)


def test_an_smtp_server_off_after_a_failed_check_is_on_once_a_change_passes(
    tmp_path: Path,
) -> None:
    check = CannedCheck(passes=False)
    servers = ServerService(memory_storage(str(tmp_path)), secret_box(), check, Clock())
    servers.add(NewServer(name="relay", url=SMTP, password=Secret("wrong-pw")))
    assert not servers.show("relay").enabled
    check.passes = True
    changed = servers.set("relay", ServerChange(password=Secret("pw-1234")))
    assert changed.admission is not None and changed.admission.enabled
