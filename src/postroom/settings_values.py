"""The settings' values and defaults (``POSTROOM_…``), and reading them from the environment
without pydantic when no value there needs validating.

`postroom ingest` in an MTA pipe starts a process per message, and importing pydantic and
pydantic-settings (and building the model) costs about as much as storing a small message.
Its usual environment sets the data folder, perhaps the database URL, and nothing else:
`read_settings` takes that case without pydantic (the URL through the very function the
model validates it with, `driver_url`; a text the model takes as it is, as it is). Any
other ``POSTROOM_…`` setting, or a value the quick reading would have to judge, goes to
the pydantic model (postroom/settings.py), which holds every rule and every error
message: nothing is validated twice.

`SettingsValues` names each setting with its type and default, and what the commands read
from them; the model (`Settings`) is a `SettingsValues` whose fields carry the rules too
(a test keeps the two lists the same).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

from postroom.domain.ports import HandlerSettings, UnroutedPolicy

PREFIX = "POSTROOM_"
DATABASE_SCHEMES = {
    "sqlite": "sqlite",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
"""The schemes ``POSTROOM_DATABASE_URL`` may take, and the SQLAlchemy driver each means:
PostgreSQL through psycopg 3, the driver installed with Postroom (``postgres://`` is the
form Heroku and libpq tools print)."""
UNVALIDATED = frozenset({"home", "database_url", "secret_key", "default_sender", "listen"})
"""Settings read without the model: a path, a URL (`driver_url`), and texts the model takes
as they are (a key, an address, ``HOST:PORT``: checked where they are used)."""


def default_home() -> Path:
    return Path.home() / ".local" / "share" / "postroom"


def driver_url(url: str | None) -> str | None:
    """``postgres://`` and ``postgresql://`` mean PostgreSQL through the installed driver;
    any other scheme is refused (ValueError), naming the ones that work."""
    if not url:
        return url
    scheme, sep, rest = url.partition("://")
    driver = DATABASE_SCHEMES.get(scheme.lower()) if sep else None
    if driver is None:
        raise ValueError(
            f"the scheme {scheme[:40]!r} is not one Postroom speaks: use "
            "postgresql://USER@HOST:PORT/DATABASE (or postgres://) or sqlite:////PATH"
        )
    return f"{driver}://{rest}"


class SettingsValues:
    """Every setting, its type and its default; the model (postroom/settings.py) declares
    the same fields with their rules. Built directly only by `read_settings`."""

    home: Path
    database_url: str | None = None
    secret_key: str | None = None
    """Fernet key for stored passwords; by default read from (or made in) ``home/secret.key``."""

    match_thread: bool = True
    match_plus: bool = True
    match_subject: bool = True
    match_body: bool = True
    unrouted_policy: UnroutedPolicy = UnroutedPolicy.AUTO_REPLY
    autoreply_limit: int = 3
    default_sender: str = "postroom@localhost"
    feedback_days: int = 5
    templates_dir: Path | None = None
    poll_batch: int = 50
    """Messages stored with one commit during a poll (then deleted from the server)."""
    max_message_bytes: int = 50 * 1024 * 1024
    """Octets of one POP3 message at most (RETR answer as sent, LIST size too): a larger
    one is not retrieved, or its RETR is cut off there; it stays on the server, and the
    reason is recorded on its channel."""
    smtp_connections: int = 4
    """SMTP connections at once per server while the outbox sends (each reused for many
    messages): the server's reply to each message's final dot is waited for in parallel."""
    idle_connections: int = 20
    """IMAP IDLE connections `postroom run` holds at most (new mail polled within seconds);
    0: every channel on its interval only."""
    message_seconds: float = 10.0
    """Time budget for parsing one message (plus 0.5 s per MiB); past it, quarantine."""
    listen: str = "127.0.0.1:8025"
    """``HOST:PORT`` the web service listens on (`postroom web`, ``POSTROOM_LISTEN``)."""
    metrics_public: bool = False
    """`/metrics` answers without a token (for a Prometheus inside a trusted network)."""
    log_format: Literal["text", "json"] = "text"
    """`postroom run`'s log lines (``POSTROOM_LOG_FORMAT``; ``--log-format``): text for a
    terminal, or one JSON object per line for a log collector."""

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'postroom.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    def handler_settings(self) -> HandlerSettings:
        return HandlerSettings(
            match_thread=self.match_thread,
            match_plus=self.match_plus,
            match_subject=self.match_subject,
            match_body=self.match_body,
            unrouted_policy=self.unrouted_policy,
            autoreply_limit=self.autoreply_limit,
            autoreply_window=timedelta(hours=1),
        )


def setting_names() -> frozenset[str]:
    return frozenset(SettingsValues.__annotations__)


def environment() -> dict[str, str] | None:
    """The ``POSTROOM_…`` variables that name a setting, by setting (names compared without
    case, as the model compares them); None when two name the same one."""
    names = setting_names()
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        if len(key) > len(PREFIX) and key[: len(PREFIX)].upper() == PREFIX:
            name = key[len(PREFIX) :].lower()
            if name in names:
                if name in found:
                    return None
                found[name] = value
    return found


def read_settings() -> SettingsValues:
    """The settings from the environment: without pydantic when it sets only the data
    folder, the database URL or the key (and each can be taken as it is), else through the
    model (`settings.load_settings`: its rules, its error messages)."""
    quick = _unvalidated(environment())
    if quick is not None:
        return quick
    from postroom.settings import load_settings

    return load_settings()


def _unvalidated(given: dict[str, str] | None) -> SettingsValues | None:
    if given is None or not given.keys() <= UNVALIDATED:
        return None
    values = SettingsValues()
    home = given.get("home")
    if home == "":  # what the model makes of an empty path is its to say
        return None
    values.home = Path(home) if home is not None else default_home()
    try:
        values.database_url = driver_url(given.get("database_url"))
    except ValueError:  # the model words it (which variable, the fix)
        return None
    for name in ("secret_key", "default_sender", "listen"):
        if name in given:
            setattr(values, name, given[name])
    return values
