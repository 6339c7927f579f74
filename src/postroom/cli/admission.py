"""The lines `channel add|enable|set` and `smtp add|enable|set` print about
`check_then_enable`'s answer (services/enabling.py): one wording for both kinds of
connection. A connection left disabled by a failed check is a failed command (exit 1,
the record kept and the message saying so), so a script can tell."""

from __future__ import annotations

from postroom.cli.output import echo, fail, shown
from postroom.errors import UserError
from postroom.render.fixes import cli_fix
from postroom.services.enabling import Admission


def fix_hint(admission: Admission, set_command: str) -> str:
    """``fix it with: <set_command> <options>``: the command that changes what the failed
    step depends on, which checks again and enables once the check passes."""
    options = cli_fix(admission.remedy)
    if not options:
        return f"fix it with: {set_command} … (see --help)"
    return f"fix it with: {set_command} {options}"


def echo_added(
    what: str, url: str, admission: Admission, set_command: str, roles: str = ""
) -> None:
    """``what`` added: enabled (its check passed, or forced), or kept disabled with the
    failed step and the ``set_command`` that fixes it (exit 1); ``roles`` ends the line."""
    if admission.passed:
        echo(f"{what} added and enabled: check passed ({shown(url)}){roles}")
    elif admission.forced:
        echo(f"{what} added and enabled (--force): {shown(admission.failure)}")
    else:
        fail(
            f"{what} added but kept disabled: check failed at {shown(admission.failure)}; "
            f"{fix_hint(admission, set_command)}"
        )


def echo_enabled(what: str, admission: Admission, set_command: str) -> None:
    """``what`` enabled (its check passed, or forced); UserError when it stays disabled."""
    if not admission.enabled:
        raise UserError(
            f"{what} stays disabled: check failed at {shown(admission.failure)}; "
            f"{fix_hint(admission, set_command)} (or enable anyway: --force)"
        )
    echo(f"{what} enabled" + (" (--force)" if admission.forced else ": check passed"))


def echo_changed(what: str, admission: Admission | None, set_command: str) -> None:
    """``what`` changed; after a connection change, enabled again (check passed), kept off
    (a person switched it off), or disabled by the failed check (exit 1)."""
    if admission is None:
        echo(f"{what} changed")
    elif admission.passed and admission.enabled:
        echo(f"{what} changed and enabled: check passed")
    elif admission.passed:
        echo(f"{what} changed: check passed; still disabled (switched off by a person)")
    else:
        fail(
            f"{what} changed but disabled: check failed at {shown(admission.failure)}; "
            f"{fix_hint(admission, set_command)}"
        )
