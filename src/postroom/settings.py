"""Typed settings from the environment (``POSTROOM_…``); built once by an entrypoint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from postroom.domain.ports import HandlerSettings, UnroutedPolicy
from postroom.errors import SetupError

DATABASE_SCHEMES = {
    "sqlite": "sqlite",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
"""The schemes ``POSTROOM_DATABASE_URL`` may take, and the SQLAlchemy driver each means:
PostgreSQL through psycopg 3, the driver installed with Postroom (``postgres://`` is the
form Heroku and libpq tools print)."""
SECRET_SETTINGS = frozenset({"secret_key", "database_url"})
"""Settings whose value is never shown in an error (a key, a URL with a password)."""


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "postroom"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTROOM_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    secret_key: str | None = None
    """Fernet key for stored passwords; by default read from (or made in) ``home/secret.key``."""

    match_thread: bool = True
    match_plus: bool = True
    match_subject: bool = True
    match_body: bool = True
    unrouted_policy: UnroutedPolicy = UnroutedPolicy.AUTO_REPLY
    autoreply_limit: int = Field(default=3, ge=0)
    default_sender: str = "postroom@localhost"
    feedback_days: int = Field(default=5, ge=0)
    templates_dir: Path | None = None
    poll_batch: int = Field(default=50, ge=1, le=1000)
    """Messages stored with one commit during a poll (then deleted from the server)."""
    max_message_bytes: int = Field(default=50 * 1024 * 1024, ge=64 * 1024)
    """Octets of one POP3 message at most (RETR answer as sent, LIST size too): a larger
    one is not retrieved, or its RETR is cut off there; it stays on the server, and the
    reason is recorded on its channel."""
    smtp_connections: int = Field(default=4, ge=1, le=64)
    """SMTP connections at once per server while the outbox sends (each reused for many
    messages): the server's reply to each message's final dot is waited for in parallel."""
    idle_connections: int = Field(default=20, ge=0, le=1000)
    """IMAP IDLE connections `postroom run` holds at most (new mail polled within seconds);
    0: every channel on its interval only."""
    message_seconds: float = Field(default=10.0, gt=0, le=3600)
    """Time budget for parsing one message (plus 0.5 s per MiB); past it, quarantine."""
    listen: str = "127.0.0.1:8025"
    """``HOST:PORT`` the web service listens on (`postroom web`, ``POSTROOM_LISTEN``)."""
    metrics_public: bool = False
    """`/metrics` answers without a token (for a Prometheus inside a trusted network)."""
    log_format: Literal["text", "json"] = "text"
    """`postroom run`'s log lines (``POSTROOM_LOG_FORMAT``; ``--log-format``): text for a
    terminal, or one JSON object per line for a log collector."""

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        """``postgres://`` and ``postgresql://`` mean PostgreSQL through the installed driver;
        any other scheme is refused here, naming the ones that work."""
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


class SettingsError(SetupError):
    """A ``POSTROOM_…`` variable Postroom cannot use: its name, what it takes, the fix."""


def load_settings() -> Settings:
    """The settings from the environment; a mistake is one line naming the variable, the
    values it takes and the fix (never pydantic's report, never a secret's value)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_explained(exc)) from None


def _explained(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    variable = f"POSTROOM_{field.upper()}"
    info = Settings.model_fields.get(field)
    shown = ""
    if field not in SECRET_SETTINGS and isinstance(first.get("input"), str):
        value = first["input"]
        shown = f"={value[:60]!r}" if len(value) <= 60 else f"={value[:60]!r}…"
    reason = str(first["msg"]).removeprefix("Value error, ")
    default = info.get_default(call_default_factory=True) if info is not None else None
    if isinstance(default, UnroutedPolicy):
        default = default.value
    elif isinstance(default, bool):
        default = str(default).lower()
    elif field == "database_url":
        default = "SQLite in the data folder"
    fix = f"set {variable} to an allowed value, or unset it for the default"
    fix += f" ({default})" if default not in (None, "") else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{variable}{shown}: {reason}{_allowed(info)}; {fix}{more}"


def _allowed(info: object) -> str:
    """The values a numeric setting takes, from its bounds (pydantic names one bound)."""
    if getattr(info, "annotation", None) is bool:
        return " (allowed: true or false)"
    metadata = getattr(info, "metadata", [])
    bounds: dict[str, object] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                bounds[name] = getattr(item, name)
    if not bounds:
        return ""
    low = f"from {bounds['ge']}" if "ge" in bounds else f"above {bounds.get('gt')}"
    if "gt" not in bounds and "ge" not in bounds:
        low = ""
    high = f"to {bounds['le']}" if "le" in bounds else ""
    return f" (allowed: {' '.join(p for p in (low, high) if p)})"
