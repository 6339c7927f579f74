"""Routes as use cases: which Context, Category and Queue a new Ticket written to an
address gets, and whether its requester is acknowledged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from postroom.clock import utcnow
from postroom.domain.routes import Route
from postroom.errors import NotFoundError
from postroom.services.addresses import required, route_address
from postroom.storage.unit import Storage


class RouteService:
    def __init__(self, storage: Storage, clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self._clock = clock

    def add(
        self, address: str, context: str, category: str, queue: str, acknowledge: bool = False
    ) -> Route:
        """A route for new Tickets written to ``address``; UserError if it has one."""
        route = _route(address, context, category, queue, acknowledge)
        with self.storage.writing() as uow:
            uow.config.add_route(route, self._clock())
        return route

    def set(
        self,
        address: str,
        context: str | None = None,
        category: str | None = None,
        queue: str | None = None,
        acknowledge: bool | None = None,
    ) -> Route:
        """Change the route for ``address`` (None keeps a value); NotFoundError if there is
        none."""
        wanted = route_address(address)
        with self.storage.writing() as uow:
            found = {r.address: r for r in uow.config.routes()}.get(wanted)
            if found is None:
                raise NotFoundError(f"no route for {wanted} (see: postroom route list)")
            route = _route(
                wanted,
                found.context if context is None else context,
                found.category if category is None else category,
                found.queue if queue is None else queue,
                found.acknowledge if acknowledge is None else acknowledge,
            )
            uow.config.set_route(route)
        return route

    def list(self) -> list[Route]:
        """Every route, by address."""
        with self.storage.reading() as uow:
            return uow.config.routes()

    def remove(self, address: str) -> None:
        """Forget the route for ``address``; NotFoundError if there is none. The address is
        not judged: a route stored before today's rules can still be removed."""
        with self.storage.writing() as uow:
            uow.config.remove_route(address.strip().lower())


def _route(address: str, context: str, category: str, queue: str, acknowledge: bool) -> Route:
    return Route(
        route_address(address),
        required(context, "context"),
        required(category, "category"),
        required(queue, "queue"),
        acknowledge,
    )
