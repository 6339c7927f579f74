"""The lines `channel add|enable` and `smtp add|enable` print about `check_then_enable`'s
answer (services/enabling.py): one wording for both kinds of connection."""

from __future__ import annotations

from postroom.cli.output import echo, shown
from postroom.errors import UserError
from postroom.services.enabling import Admission


def echo_added(what: str, url: str, admission: Admission, enable: str, roles: str = "") -> None:
    """``what`` added: enabled (its check passed, or forced) or disabled with the failed step
    and the ``enable`` command to run once it is fixed; ``roles`` ends the first two."""
    if admission.passed:
        echo(f"{what} added and enabled: check passed ({shown(url)}){roles}")
    elif admission.forced:
        echo(f"{what} added and enabled (--force): {shown(admission.failure)}")
    else:
        echo(
            f"{what} added but disabled: check failed at {shown(admission.failure)}; "
            f"fix it and run: {enable}"
        )


def echo_enabled(what: str, admission: Admission) -> None:
    """``what`` enabled (its check passed, or forced); UserError when it stays disabled."""
    if not admission.enabled:
        raise UserError(
            f"{what} stays disabled: check failed at {shown(admission.failure)} "
            "(use --force to enable anyway)"
        )
    echo(f"{what} enabled" + (" (--force)" if admission.forced else ": check passed"))
