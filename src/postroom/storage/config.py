"""Routes and users: the configuration the handler and the item commands read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from postroom.domain.routes import Route
from postroom.errors import NotFoundError, UserError
from postroom.records.config import UserRecord
from postroom.storage.tables import routes, users

_USER_COLUMNS = (users.c.id, users.c.name, users.c.email, users.c.role, users.c.created_at)
"""A user as `UserRecord` holds it: never the password hash."""


class ConfigRepository:
    """Routes and users of one unit of work (`uow.config`): plain values in, records out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_route(self, route: Route, now: datetime) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(routes).values(
                        address=route.address,
                        context=route.context,
                        category=route.category,
                        queue=route.queue,
                        acknowledge=route.acknowledge,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            raise UserError(f"a route for {route.address} exists already") from exc

    def remove_route(self, address: str) -> None:
        found = self._conn.execute(
            delete(routes).where(routes.c.address == address.strip().lower())
        ).rowcount
        if not found:
            raise NotFoundError(f"no route for {address}")

    def set_route(self, route: Route) -> None:
        """Replace the route for ``route.address``; NotFoundError if there is none."""
        found = self._conn.execute(
            update(routes)
            .where(routes.c.address == route.address)
            .values(
                context=route.context,
                category=route.category,
                queue=route.queue,
                acknowledge=route.acknowledge,
            )
        ).rowcount
        if not found:
            raise NotFoundError(f"no route for {route.address} (see: postroom route list)")

    def routes(self) -> list[Route]:
        """Every route, by address."""
        return [
            Route(r.address, r.context, r.category, r.queue, bool(r.acknowledge))
            for r in self._conn.execute(select(routes).order_by(routes.c.address))
        ]

    def add_user(self, name: str, email: str | None, role: str, now: datetime) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(users).values(name=name, email=email, role=role, created_at=now)
                )
        except IntegrityError as exc:
            raise UserError(f"user {name} exists already") from exc

    def user(self, name: str) -> UserRecord:
        row = self._conn.execute(select(*_USER_COLUMNS).where(users.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no user {name!r} (add one with: postroom user add {name})")
        return UserRecord(**row._mapping)

    def users(self) -> list[UserRecord]:
        """Every user, by name."""
        rows = self._conn.execute(select(*_USER_COLUMNS).order_by(users.c.name))
        return [UserRecord(**row._mapping) for row in rows]
