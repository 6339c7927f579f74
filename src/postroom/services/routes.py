"""Routes as use cases: which Context, Category and Queue a new Ticket written to an
address gets, and whether its requester is acknowledged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from postroom.clock import utcnow
from postroom.domain.routes import Route
from postroom.services.addresses import checked_address, required
from postroom.storage.unit import Storage


class RouteService:
    def __init__(self, storage: Storage, clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self._clock = clock

    def add(
        self, address: str, context: str, category: str, queue: str, acknowledge: bool = False
    ) -> Route:
        """A route for new Tickets written to ``address``; UserError if it has one."""
        route = Route(
            checked_address(address),
            required(context, "context"),
            required(category, "category"),
            required(queue, "queue"),
            acknowledge,
        )
        with self.storage.writing() as uow:
            uow.config.add_route(route, self._clock())
        return route

    def list(self) -> list[Route]:
        """Every route, by address."""
        with self.storage.reading() as uow:
            return uow.config.routes()

    def remove(self, address: str) -> None:
        """Forget the route for ``address``; NotFoundError if there is none."""
        with self.storage.writing() as uow:
            uow.config.remove_route(checked_address(address))
