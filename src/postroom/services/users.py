"""Users as use cases: the agents and administrators who can own and work on items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from postroom.clock import utcnow
from postroom.records.config import Role, UserRecord
from postroom.services.addresses import checked_address, required
from postroom.storage.unit import Storage


class UserService:
    def __init__(self, storage: Storage, clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self._clock = clock

    def add(self, name: str, email: str | None = None, role: Role = Role.AGENT) -> UserRecord:
        """A new user; UserError if the name is taken or the address is not one."""
        name = required(name, "name")
        mail = checked_address(email) if email else None
        with self.storage.writing() as uow:
            uow.config.add_user(name, mail, role.value, self._clock())
            return uow.config.user(name)

    def list(self) -> list[UserRecord]:
        """Every user, by name."""
        with self.storage.reading() as uow:
            return uow.config.users()
