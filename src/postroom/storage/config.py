"""Routes and users: the configuration the handler and the item commands read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select
from sqlalchemy.exc import IntegrityError

from postroom.domain.routes import Route
from postroom.errors import NotFoundError, UserError
from postroom.records.config import UserRecord
from postroom.storage.tables import routes, users


class ConfigRepository:
    """Routes and users of one unit of work (`uow.config`): plain values in, records out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_route(self, route: Route, now: datetime) -> None:
        add_route(self._conn, route, now)

    def remove_route(self, address: str) -> None:
        remove_route(self._conn, address)

    def routes(self) -> list[Route]:
        """Every route, by address."""
        return list_routes(self._conn)

    def add_user(self, name: str, email: str | None, role: str, now: datetime) -> None:
        add_user(self._conn, name, email, role, now)

    def user(self, name: str) -> UserRecord:
        return UserRecord(**get_user(self._conn, name)._mapping)

    def users(self) -> list[UserRecord]:
        """Every user, by name."""
        return [UserRecord(**row._mapping) for row in list_users(self._conn)]


def add_route(conn: Connection, route: Route, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
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


def remove_route(conn: Connection, address: str) -> None:
    result = conn.execute(delete(routes).where(routes.c.address == address.strip().lower()))
    if result.rowcount == 0:
        raise NotFoundError(f"no route for {address}")


def list_routes(conn: Connection) -> list[Route]:
    return [
        Route(r.address, r.context, r.category, r.queue, bool(r.acknowledge))
        for r in conn.execute(select(routes).order_by(routes.c.address))
    ]


def add_user(conn: Connection, name: str, email: str | None, role: str, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(insert(users).values(name=name, email=email, role=role, created_at=now))
    except IntegrityError as exc:
        raise UserError(f"user {name} exists already") from exc


def get_user(conn: Connection, name: str) -> Row[Any]:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user {name!r} (add one with: postroom user add {name})")
    return row


def list_users(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(users).order_by(users.c.name)))
