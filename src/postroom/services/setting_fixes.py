"""What to change after a connection check failed, and a setting refused, door-neutral:
the settings by their names, never a door's words. Each door words a `Fix` or a
`SettingRefused` its own way (render/fixes.py): the CLI its options (``--url URL (the host
name)``), the pages their form fields, the API its field names (``{"settings": ["url"]}``)."""

from __future__ import annotations

from enum import Enum, StrEnum

from postroom.diagnostics import CheckReport, StepName
from postroom.errors import UserError


class Setting(StrEnum):
    """A connection setting of a channel or an SMTP server, by its door-neutral name
    (the API's field name)."""

    URL = "url"
    PASSWORD = "password"  # noqa: S105 - the setting's name, not a secret
    AUTHZID = "authzid"
    CA_FILE = "ca_file"
    FOLDER = "folder"
    AFTER = "after"
    OAUTH_CLIENT = "oauth_client"
    """The OAuth2 client: its id and scopes."""
    SIGN_IN = "sign_in"
    """A new OAuth2 sign-in (authorize)."""
    INTERVAL = "interval"
    MAX_FAILURES = "max_failures"
    MECHANISM = "mechanism"
    OAUTH2 = "oauth2"
    """The OAuth2 provider (microsoft, google, custom): the login is by access token."""


class Fix(Enum):
    """The fix of a failed step: ``settings`` to change (any one may be the cause) and
    ``about``, what of them the step depends on."""

    HOST_NAME = (Setting.URL,), "the host name"
    HOST_AND_PORT = (Setting.URL,), "the host and port"
    TLS_MODE = (Setting.URL, Setting.CA_FILE), "the port and TLS mode, or the CA"
    CERTIFICATE = (Setting.CA_FILE,), "the CA that signed the server's certificate"
    PROTOCOL = (Setting.URL,), "the port and protocol"
    LOGIN = (Setting.PASSWORD, Setting.AUTHZID), "the login"
    MAILBOX = (Setting.URL, Setting.AUTHZID), "the mailbox"
    SENDER = (Setting.URL, Setting.AUTHZID), "who may send"
    FOLDER = (Setting.FOLDER,), "a folder the server has"
    MOVE_FOLDER = (Setting.AFTER,), "a folder the server has, to move mail to"
    OAUTH = (Setting.OAUTH_CLIENT, Setting.SIGN_IN), "the OAuth2 client, or a new sign-in"

    @property
    def settings(self) -> tuple[Setting, ...]:
        settings: tuple[Setting, ...] = self.value[0]
        return settings

    @property
    def about(self) -> str:
        about: str = self.value[1]
        return about


_BY_STEP = {
    StepName.DNS: Fix.HOST_NAME,
    StepName.TCP: Fix.HOST_AND_PORT,
    StepName.TLS: Fix.TLS_MODE,
    StepName.CERTIFICATE: Fix.CERTIFICATE,
    StepName.GREETING: Fix.PROTOCOL,
    StepName.CAPABILITIES: Fix.PROTOCOL,
    StepName.AUTH: Fix.LOGIN,
    StepName.MAILBOX: Fix.MAILBOX,
    StepName.SEND: Fix.SENDER,
}


def fix_for(report: CheckReport | None) -> Fix | None:
    """The fix of the report's first failed step (None: none failed, or no report)."""
    if report is None:
        return None
    for step in report.steps:
        if step.ok is False:
            if step.name is StepName.MAILBOX and "move_to" in step.detail:
                return Fix.MOVE_FOLDER
            if step.name is StepName.MAILBOX and "folders" in step.detail:
                return Fix.FOLDER
            if step.name is StepName.AUTH and "oauth2" in step.detail:
                return Fix.OAUTH
            return _BY_STEP[step.name]
    return None


class SettingRefused(UserError):
    """A setting refused, door-neutral: ``parts`` are text and the `Setting`s it names.
    ``str()`` names each setting by its name (``interval must be at least 5 seconds``);
    the CLI words it with its options (render.fixes.cli_words: ``--interval must …``)."""

    def __init__(self, *parts: str | Setting) -> None:
        self.parts = parts
        super().__init__("".join(parts))

    @property
    def settings(self) -> tuple[Setting, ...]:
        """The settings it is about, in the order named."""
        return tuple(p for p in self.parts if isinstance(p, Setting))
