"""A failed check's fix and a refused setting (services/setting_fixes.py) in each door's
words: the CLI's options (`cli_fix`, as docs/cli.md gives them after ``fix it with:``;
`cli_words`), the form fields of the pages (`field_fix`) and the API's field names
(`fix_json`; a `SettingRefused`'s own text names them so)."""

from __future__ import annotations

from typing import Any

from postroom.errors import UserError
from postroom.services.setting_fixes import Fix, Setting, SettingRefused

_OPTIONS = {
    Fix.HOST_NAME: "--url URL (the host name)",
    Fix.HOST_AND_PORT: "--url URL (the host and port)",
    Fix.TLS_MODE: "--url URL (the port and TLS mode) or --ca-file FILE",
    Fix.CERTIFICATE: "--ca-file FILE (the CA that signed the server's certificate)",
    Fix.PROTOCOL: "--url URL (the port and protocol)",
    Fix.LOGIN: "--password-stdin (or --password-env VAR, --authzid ADDRESS)",
    Fix.MAILBOX: "--url URL or --authzid ADDRESS (the mailbox)",
    Fix.SENDER: "--url URL or --authzid ADDRESS (who may send)",
    Fix.FOLDER: "--folder NAME (a folder the server has)",
    Fix.MOVE_FOLDER: "--after move:FOLDER (a folder the server has)",
    Fix.OAUTH: "--client-id ID, --scope S (OAuth2), or sign in again (authorize)",
}
"""The options of `channel set` and `smtp set` that change what each fix is about."""

_FIELDS = {
    Setting.URL: "the URL field",
    Setting.PASSWORD: "the Password field",
    Setting.AUTHZID: "the Authorization identity field",
    Setting.CA_FILE: "the CA file field",
    Setting.FOLDER: "the Folder field",
    Setting.AFTER: "the After field",
    Setting.OAUTH_CLIENT: "the OAuth2 client id and scopes",
    Setting.SIGN_IN: "a new sign-in",
    Setting.INTERVAL: "the Interval field",
    Setting.MAX_FAILURES: "the Max failures field",
    Setting.MECHANISM: "the Mechanism field",
    Setting.OAUTH2: "the OAuth2 provider field",
}
"""Each setting as the channel and SMTP server forms name it."""

_FLAGS = {
    Setting.URL: "--url",
    Setting.PASSWORD: "--password-env VAR or --password-stdin",
    Setting.AUTHZID: "--authzid",
    Setting.CA_FILE: "--ca-file",
    Setting.FOLDER: "--folder",
    Setting.AFTER: "--after",
    Setting.OAUTH_CLIENT: "--client-id",
    Setting.SIGN_IN: "authorize",
    Setting.INTERVAL: "--interval",
    Setting.MAX_FAILURES: "--max-failures",
    Setting.MECHANISM: "--mechanism",
    Setting.OAUTH2: "--oauth2",
}
"""Each setting as the command line's option that sets it."""


def cli_words(error: UserError) -> str:
    """A refused setting with the CLI's options for its settings (``--interval must be at
    least 5 seconds``); any other error as it says itself."""
    if not isinstance(error, SettingRefused):
        return str(error)
    return "".join(_FLAGS[p] if isinstance(p, Setting) else p for p in error.parts)


def field_words(error: UserError) -> str:
    """A refused setting with the form fields for its settings (``the Interval field must
    be at least 5 seconds``); any other error as it says itself."""
    if not isinstance(error, SettingRefused):
        return str(error)
    return "".join(_FIELDS[p] if isinstance(p, Setting) else p for p in error.parts)


def cli_fix(fix: Fix | None) -> str:
    """The `set` options that change what ``fix`` is about ('' for no fix)."""
    return _OPTIONS[fix] if fix is not None else ""


def field_fix(fix: Fix | None) -> str:
    """``the URL field (the host name)``: the form fields to change ('' for no fix)."""
    if fix is None:
        return ""
    return " or ".join(_FIELDS[s] for s in fix.settings) + f" ({fix.about})"


def fix_json(fix: Fix | None) -> dict[str, Any] | None:
    """``{"settings": ["url"], "about": "the host name"}``: the API's field names."""
    if fix is None:
        return None
    return {"settings": [s.value for s in fix.settings], "about": fix.about}
