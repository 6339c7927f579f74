"""Typed settings from the environment (``POSTROOM_…``); built once by an entrypoint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from postroom.domain.ports import HandlerSettings, UnroutedPolicy


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
    message_seconds: float = Field(default=10.0, gt=0, le=3600)
    """Time budget for parsing one message (plus 0.5 s per MiB); past it, quarantine."""
    listen: str = "127.0.0.1:8025"
    """``HOST:PORT`` the web service listens on (`postroom web`, ``POSTROOM_LISTEN``)."""
    metrics_public: bool = False
    """`/metrics` answers without a token (for a Prometheus inside a trusted network)."""

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
