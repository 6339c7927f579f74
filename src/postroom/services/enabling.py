"""The one rule for everything Postroom connects to (input channels, SMTP servers):
nothing is enabled before its connection check has passed, unless a person forces it,
and the check's report is kept with what it checked either way.

`check_then_enable` is that rule; a `Switch` is what it needs of one kind of thing
(keep a report, switch it on). The check itself is a port (`ConnectionCheck`) that
`postroom.bootstrap` hands in, so the rule is tested without a mail server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from postroom.credentials import Secret
from postroom.diagnostics import CheckReport
from postroom.services.checks import Checkable, first_failure
from postroom.services.setting_fixes import Fix, fix_for
from postroom.storage.unit import Storage, UnitOfWork

BY_A_PERSON = "disabled by a user"
"""The reason a channel or server is off when a person switched it off: a changed setting
or a new sign-in checks it and leaves it off (only `enable` switches it on again)."""

ConnectionCheck = Callable[[Checkable, Secret | None, str | None], CheckReport]
"""`postroom check` run with a target's stored settings, its password (open) and, for SMTP,
the address a test message goes to."""


class Switch(Protocol):
    """What `check_then_enable` needs of one channel or server, inside a write unit."""

    def keep(self, uow: UnitOfWork, report: CheckReport) -> None:
        """Store the check's report with the target."""

    def switch_on(self, uow: UnitOfWork, *, after_failed_check: bool) -> None:
        """Enable it (``after_failed_check``: forced, its failed check just counted)."""


@dataclass(frozen=True, slots=True)
class Admission:
    """What an `add` or an `enable` did about enabling."""

    report: CheckReport | None
    """The check run (None: forced on without one)."""
    enabled: bool

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.ok

    @property
    def forced(self) -> bool:
        """Enabled without a passing check."""
        return self.enabled and not self.passed

    @property
    def failure(self) -> str:
        """``step: error (hint)`` of the failed check, for one-line messages ("" if none)."""
        return first_failure(self.report) if self.report is not None and not self.passed else ""

    @property
    def remedy(self) -> Fix | None:
        """What to change after the failed check: the settings its failed step depends on
        (None: it passed, or none ran). Each door words it (render/fixes.py)."""
        return fix_for(self.report) if not self.passed else None


def check_then_enable(
    storage: Storage,
    switch: Switch,
    check: Callable[[], CheckReport] | None,
    *,
    force: bool,
    stay_off: bool = False,
) -> Admission:
    """Run ``check`` (None: skip it, which only ``force`` may), keep its report, and enable
    when it passed or when forced; one write unit for the report and the switch.
    ``stay_off`` (a person switched it off, `BY_A_PERSON`): check and keep the report only."""
    if check is None and not force:
        raise ValueError("only a forced enable skips the connection check")
    report = check() if check is not None else None
    passed = report is not None and report.ok
    switching = (passed or force) and not stay_off
    with storage.writing() as uow:
        if report is not None:
            switch.keep(uow, report)
        if switching:
            switch.switch_on(uow, after_failed_check=report is not None and not passed)
    return Admission(report, enabled=switching)
