"""Fakes for the configuration services: storage on SQLite in memory and a connection
check that answers what the test says, remembering what it was asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.fernet import Fernet

from postroom.credentials import Secret, SecretBox
from postroom.diagnostics import CheckReport, Step, StepName
from postroom.services.checks import Checkable
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage

NOW = datetime(2026, 11, 2, 9, 30)


def memory_storage(blob_dir: str) -> Storage:
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(blob_dir))


def secret_box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(minutes=1)


def passing(url: str) -> CheckReport:
    return CheckReport(url, [Step(StepName.DNS, True), Step(StepName.AUTH, True)])


def failing_auth(url: str) -> CheckReport:
    return CheckReport(
        url,
        [
            Step(StepName.DNS, True),
            Step(StepName.AUTH, False, error="authentication failed", hint="check the password"),
        ],
    )


@dataclass
class CannedCheck:
    """The `ConnectionCheck` port: ``passes`` decides; each call is remembered."""

    passes: bool = True
    calls: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def __call__(
        self, target: Checkable, password: Secret | None, send_to: str | None
    ) -> CheckReport:
        self.calls.append((target.url, password.reveal() if password else None, send_to))
        return passing(target.url) if self.passes else failing_auth(target.url)
