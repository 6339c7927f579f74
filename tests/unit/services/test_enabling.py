"""The one check-then-enable rule: nothing is switched on before its check has passed,
unless forced; the report is kept either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.diagnostics import CheckReport
from postroom.services.enabling import check_then_enable
from postroom.storage.unit import UnitOfWork
from unit.services.config_fakes import failing_auth, memory_storage, passing


class RecordingSwitch:
    def __init__(self) -> None:
        self.kept: list[bool] = []
        self.switched: list[bool] = []

    def keep(self, uow: UnitOfWork, report: CheckReport) -> None:
        self.kept.append(report.ok)

    def switch_on(self, uow: UnitOfWork, *, after_failed_check: bool) -> None:
        self.switched.append(after_failed_check)


@pytest.mark.parametrize(
    ("passes", "force", "enabled", "switched"),
    [
        (True, False, True, [False]),
        (True, True, True, [False]),
        (False, False, False, []),
        (False, True, True, [True]),
    ],
)
def test_enabled_when_the_check_passes_or_when_forced(
    tmp_path: Path, passes: bool, force: bool, enabled: bool, switched: list[bool]
) -> None:
    switch = RecordingSwitch()
    report = passing("pop3s://h") if passes else failing_auth("pop3s://h")
    admission = check_then_enable(
        memory_storage(str(tmp_path)), switch, lambda: report, force=force
    )
    assert (admission.enabled, admission.passed, admission.forced) == (
        enabled,
        passes,
        enabled and not passes,
    )
    assert switch.kept == [passes]
    assert switch.switched == switched
    failure = "auth: authentication failed (check the password)"
    assert admission.failure == ("" if passes else failure)


def test_a_forced_enable_may_skip_the_check(tmp_path: Path) -> None:
    switch = RecordingSwitch()
    admission = check_then_enable(memory_storage(str(tmp_path)), switch, None, force=True)
    assert (admission.report, admission.enabled, admission.forced) == (None, True, True)
    assert (switch.kept, switch.switched) == ([], [False])


def test_only_a_forced_enable_skips_the_check(tmp_path: Path) -> None:
    switch = RecordingSwitch()
    with pytest.raises(ValueError, match="only a forced enable"):
        check_then_enable(memory_storage(str(tmp_path)), switch, None, force=False)
    assert (switch.kept, switch.switched) == ([], [])
