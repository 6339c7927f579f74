"""The FastAPI application of the web door: `create_app(app)`.

OpenAPI 3.1 at ``/api/v1/openapi.json`` (no other documentation URL), one router per
concern (`web/api/*`), problem details for every error (`web/problems.py`), the security
headers and body limits of `web/security.py`. The `bootstrap.App` it is given is the
caller's: the lifespan disposes of nothing (whoever built the App owns its engine).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from postroom.bootstrap import App
from postroom.web import problems
from postroom.web import ui as pages
from postroom.web.api import (
    channels,
    checks,
    communications,
    health,
    items,
    messages,
    outbox,
    quarantine,
    routes,
    servers,
    session,
    tokens,
    users,
)
from postroom.web.metrics import registry
from postroom.web.security import Guard
from postroom.web.signup import router as signup_router
from postroom.web.throttle import SignInThrottle
from postroom.web.token_cache import TokenCache

OPENAPI_URL = "/api/v1/openapi.json"


def create_app(app: App) -> FastAPI:
    """The web service over ``app``'s services."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield  # nothing of its own to open or close: the App is the caller's

    web = FastAPI(
        title="Postroom",
        version="1",
        summary="The email gateway's REST API (docs/web.md)",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    web.state.postroom = app
    web.state.throttle = SignInThrottle()
    web.state.tokens = TokenCache()
    web.state.metrics = registry(lambda: app.overview)
    problems.install(web)
    # Ahead of every router: the path a mail system calls per message (api/messages.py).
    web.add_route("/api/v1/messages", messages.post_message, ["POST"], include_in_schema=False)
    for module in (health, session, routes, users, tokens):
        web.include_router(module.router)
    for module in (items, communications, messages):
        web.include_router(module.router)
    for module in (channels, servers, checks, outbox, quarantine):
        web.include_router(module.router)
    web.include_router(signup_router)
    pages.install(web)  # the web UI's pages, static files and browser error pages
    web.add_middleware(Guard, max_message_bytes=app.settings.max_message_bytes)
    web.openapi = lambda: _openapi(web)  # type: ignore[method-assign]
    return web


def _openapi(web: FastAPI) -> dict[str, Any]:
    """The document, made once: every path needs the bearer token (or the session cookie)
    unless it says otherwise; the Problem schema is in it even where FastAPI would only
    name it."""
    if web.openapi_schema is None:
        schema = get_openapi(
            title=web.title,
            version=web.version,
            summary=web.summary,
            routes=web.routes,
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            problems.Problem.model_json_schema()
        )
        web.openapi_schema = schema
    return web.openapi_schema
