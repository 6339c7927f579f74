"""Reading a password for a command: `--password-env VAR` or `--password-stdin`, never argv.

The value given to `--password-env` is never printed, not even in an error: a person who
types `--password-env $SECRET` (the shell puts the password there) must not see it echoed
on the terminal, in a scrollback or in a CI log. A value that is not a variable's name is
refused as such, and an unset variable is named only by the option.
"""

from __future__ import annotations

import os

from postroom.credentials import Secret
from postroom.errors import InputError

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_MAX_NAME = 256

GIVE_NAME = (
    "--password-env takes the variable's name, not the password: "
    "export MY_PASSWORD=… then give --password-env MY_PASSWORD"
)


def env_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an environment variable's name (POSIX: letters, digits and
    ``_``, not starting with a digit), or None. The reason never quotes ``name``."""
    if not name or len(name) > _MAX_NAME or name[0].isdigit() or not _NAME_CHARS.issuperset(name):
        return GIVE_NAME
    return None


def password_input(env_var: str | None, stdin_text: str | None) -> Secret | None:
    """The password from the environment variable named ``env_var`` or from the first line
    of ``stdin_text``; None when neither is given. UserError (never quoting ``env_var``)
    for a value that is no variable's name, an unset variable, or an empty stdin."""
    if env_var is not None and stdin_text is not None:
        raise InputError("give the password with --password-env or --password-stdin, not both")
    if env_var is not None:
        problem = env_name_problem(env_var)
        if problem is not None:
            raise InputError(problem)
        value = os.environ.get(env_var)
        if value is None:
            raise InputError(
                "the environment variable named by --password-env is not set "
                "(export it first; give its name, not the password)"
            )
        return Secret(value)
    if stdin_text is not None:
        line = stdin_text.splitlines()[0] if stdin_text else ""
        if not line:
            raise InputError("no password on standard input (--password-stdin reads one line)")
        return Secret(line)
    return None


def env_secret(option: str, env_var: str | None) -> Secret | None:
    """A secret (a client secret, a refresh token) from the environment variable named by
    ``option`` (``--refresh-token-env``); None when not given. As for passwords, the value
    given is never quoted: it may be the secret itself."""
    if env_var is None:
        return None
    if env_name_problem(env_var) is not None:
        raise InputError(
            f"{option} takes the variable's name, not the secret: export MY_SECRET=… then "
            f"give {option} MY_SECRET"
        )
    value = os.environ.get(env_var)
    if value is None:
        raise InputError(
            f"the environment variable named by {option} is not set (export it first; give "
            "its name, not the secret)"
        )
    return Secret(value)
