"""Users as use cases: the agents and administrators who can own and work on items.

A password is hashed here (Argon2id, `services/passwords.py`) before anything is stored; a
user without one cannot sign in (an API token made with `postroom token create` still acts
for them); a new password ends the user's sessions. Removing a user deletes its API tokens
and sessions with it, so they stop working at once. Items keep what they said: an item it
owned still names it as owner (until someone sets another) and its history still names it
as the actor of what it did. The last admin cannot be removed or made an agent: nobody
could manage users and tokens any more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from postroom.clock import utcnow
from postroom.errors import UserError
from postroom.records.config import Role, UserRecord
from postroom.services.addresses import checked_address, required
from postroom.services.passwords import Passwords
from postroom.storage.unit import Storage, UnitOfWork


class UserService:
    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], datetime] = utcnow,
        passwords: Passwords | None = None,
    ) -> None:
        self.storage = storage
        self._clock = clock
        self._passwords = passwords or Passwords()

    def add(
        self,
        name: str,
        email: str | None = None,
        role: Role = Role.AGENT,
        password: str | None = None,
    ) -> UserRecord:
        """A new user; UserError if the name is taken, the address is not one or the
        password is empty or too long."""
        name = required(name, "name")
        if len(name) > 200:
            raise UserError("the user's name is longer than 200 characters: give a shorter one")
        mail = checked_address(email) if email else None
        password_hash = self._passwords.hash(password) if password is not None else None
        with self.storage.writing() as uow:
            uow.config.add_user(name, mail, Role(role).value, self._clock())
            if password_hash is not None:
                uow.accounts.set_password_hash(name, password_hash)
            return uow.config.user(name)

    def set(
        self,
        name: str,
        role: Role | None = None,
        email: str | None = None,
        password: str | None = None,
    ) -> UserRecord:
        """Changes what is given (``email=""`` clears the address); the rest stays."""
        values: dict[str, Any] = {}
        if email is not None:
            values["email"] = checked_address(email) if email.strip() else None
        if role is not None:
            values["role"] = Role(role).value
        password_hash = self._passwords.hash(password) if password is not None else None
        with self.storage.writing() as uow:
            user = uow.config.user(name)
            if role == Role.AGENT:
                _not_the_last_admin(uow, user, "made an agent")
            if values:
                uow.accounts.update_user(name, values)
            if password_hash is not None:
                uow.accounts.set_password_hash(name, password_hash)
                uow.accounts.end_sessions_of(name)
            return uow.config.user(name)

    def remove(self, name: str) -> UserRecord:
        """The user is gone, with its API tokens and sessions (see the module docstring
        for its items); the record it had is returned."""
        with self.storage.writing() as uow:
            user = uow.config.user(name)
            _not_the_last_admin(uow, user, "removed")
            uow.accounts.remove_user(name)
            return user

    def list(self) -> list[UserRecord]:
        """Every user, by name."""
        with self.storage.reading() as uow:
            return uow.config.users()


def _not_the_last_admin(uow: UnitOfWork, user: UserRecord, change: str) -> None:
    if user.role == Role.ADMIN.value and uow.accounts.admin_count() <= 1:
        raise UserError(
            f"{user.name} is the last admin and cannot be {change}:"
            " add another admin first (postroom user add NAME --role admin)"
        )
