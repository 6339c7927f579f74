"""Typed settings from the environment (``POSTROOM_…``); built once by an entrypoint.

The model holds the rules and the error messages; the values and defaults are
postroom/settings_values.py's, which reads an environment with nothing to validate (the
data folder, the database URL) without importing pydantic (`read_settings`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from postroom.domain.ports import UnroutedPolicy
from postroom.errors import SetupError
from postroom.settings_values import (
    DATABASE_SCHEMES,
    SettingsValues,
    default_home,
    driver_url,
)

__all__ = ["DATABASE_SCHEMES", "Settings", "SettingsError", "load_settings"]

SECRET_SETTINGS = frozenset({"secret_key", "database_url"})
"""Settings whose value is never shown in an error (a key, a URL with a password)."""
_V = SettingsValues
"""The defaults (postroom/settings_values.py), read from there, never written twice."""

with warnings.catch_warnings():
    # Each field shadows its default in SettingsValues on purpose (pydantic warns of it).
    warnings.filterwarnings("ignore", message="Field name .* shadows an attribute")

    class Settings(BaseSettings, SettingsValues):
        """The settings with their rules: bounds, the allowed values, the database URL's
        scheme. `settings_values.read_settings` comes here for any value to validate."""

        model_config = SettingsConfigDict(env_prefix="POSTROOM_", extra="ignore")

        home: Path = Field(default_factory=default_home)
        database_url: str | None = _V.database_url
        secret_key: str | None = _V.secret_key
        match_thread: bool = _V.match_thread
        match_plus: bool = _V.match_plus
        match_subject: bool = _V.match_subject
        match_body: bool = _V.match_body
        unrouted_policy: UnroutedPolicy = _V.unrouted_policy
        autoreply_limit: int = Field(default=_V.autoreply_limit, ge=0)
        default_sender: str = _V.default_sender
        feedback_days: int = Field(default=_V.feedback_days, ge=0)
        templates_dir: Path | None = _V.templates_dir
        poll_batch: int = Field(default=_V.poll_batch, ge=1, le=1000)
        max_message_bytes: int = Field(default=_V.max_message_bytes, ge=64 * 1024)
        smtp_connections: int = Field(default=_V.smtp_connections, ge=1, le=64)
        idle_connections: int = Field(default=_V.idle_connections, ge=0, le=1000)
        message_seconds: float = Field(default=_V.message_seconds, gt=0, le=3600)
        listen: str = _V.listen
        metrics_public: bool = _V.metrics_public
        log_format: Literal["text", "json"] = _V.log_format

        @field_validator("database_url")
        @classmethod
        def _known_database(cls, url: str | None) -> str | None:
            return driver_url(url)


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
