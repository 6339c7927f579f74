"""The web UI: server-rendered HTML pages that work without JavaScript (docs/web.md).

Every page is a FastAPI route in a module of this package that calls one service and
renders a Jinja2 template of ``templates/`` on ``base.html`` (navigation by role, flash
messages, the sign-out form). Styles are the one ``static/postroom.css``; pages hold no
inline script or style (the page Content-Security-Policy of `web/security.py` forbids them).

How a page is added (say ``/channels``, in ``ui/channels.py``):

1. A router: ``router = APIRouter(include_in_schema=False)``.
2. A GET handler takes ``visitor: Browser`` (signed in; a visit without a session is sent
   to ``/login?next=…``) or ``visitor: BrowserAdmin`` (403 page for an agent), calls a
   service through ``app: Postroom`` (`web.auth`) and returns
   ``page(request, visitor, "channels.html", title="Channels", channels=…)``.
3. A form posts to a POST handler that takes ``visitor: Posted`` or ``PostedAdmin``: the
   form's hidden ``csrf`` field (``{{ csrf_field() }}`` in the template; a script sends the
   ``X-CSRF-Token`` header instead) is checked before the handler runs. It answers
   ``redirect("/channels", "Channel added")`` (303, the message shown once on the next
   page), or re-renders the page with its error.
4. The template starts ``{% extends "base.html" %}`` and fills ``{% block content %}``;
   ``{% block head %}`` adds to ``<head>`` (``<script src="/static/…" defer>`` for a small
   script that only adds to the page).
5. Add the module to `PAGES` below: its router is included and its GET paths are known
   to `pages.serves`; the navigation (`pages.NAVIGATION`) shows a link once one serves its
   path, and other pages link to it then (the dashboard to ``/channels/{name}``).

Errors: a `UserError` or an HTTP error raised while serving a browser (an ``Accept:
text/html`` request outside ``/api/``) is an HTML page with the same status; the API keeps
its problem details.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.staticfiles import StaticFiles

from postroom.web.ui import (
    channels,
    communications,
    dashboard,
    errors,
    items,
    login,
    people,
    queues,
    routes_pages,
    servers,
)

PAGES = (login, dashboard, queues, people, channels, servers, routes_pages, items, communications)
"""The modules of pages (each has a ``router``)."""


def install(web: FastAPI) -> None:
    """The pages, their static files and their error pages on ``web`` (after
    `problems.install`, whose handlers the browser error pages wrap)."""
    errors.install(web)
    web.mount("/static", StaticFiles(packages=[("postroom.web.ui", "static")]), name="static")
    for module in PAGES:
        web.include_router(module.router)
    web.state.ui_page_paths = frozenset(
        route.path
        for module in PAGES
        for route in module.router.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    )
