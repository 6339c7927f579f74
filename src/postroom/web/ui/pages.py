"""The page helper every UI page uses: who is visiting (`Browser`, `BrowserAdmin`), a form's
CSRF check (`Posted`, `PostedAdmin`), `page` to render a template on the base layout and
`redirect` to answer a form with a message shown once (a flash).

A visitor is the browser session of the ``postroom_session`` cookie (`web.auth`); a page
visited without one is answered with ``303 /login?next=PATH`` (`SignInFirst`, turned into
the redirect by `ui.errors`). A form carries the session's CSRF token in its ``csrf`` field:
the cookie alone, which a browser sends by itself, changes nothing.

The flash is a short cookie (HttpOnly, SameSite=Strict, one minute) read and cleared by
the next page; it never holds a secret (a new token is rendered in the POST's own answer).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from postroom.records.accounts import Principal
from postroom.records.config import Role
from postroom.web.auth import COOKIE, CSRF_HEADER, postroom
from postroom.web.problems import ProblemError
from postroom.web.ui.wording import for_the_web

FLASH_COOKIE = "postroom_flash"
_FLASH_LIMIT = 300
_NEXT_LIMIT = 2000

NAVIGATION: tuple[tuple[str, str, bool], ...] = (
    ("/", "Dashboard", False),
    ("/items", "Items", False),
    ("/channels", "Channels", True),
    ("/smtp-servers", "SMTP servers", True),
    ("/routes", "Routes", True),
    ("/quarantine", "Quarantine", False),
    ("/unhandled", "Unhandled", False),
    ("/outbox", "Outbox", False),
    ("/users", "Users", True),
)
"""(path, label, admins only): a link is shown once a page serves the path."""

templates = Environment(
    loader=PackageLoader("postroom.web.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["fields"] = for_the_web
"""``{{ channel.last_error|fields }}``: a stored error or hint in the form fields' words."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """A person signed in through the browser: who, and the CSRF token of their forms."""

    principal: Principal
    csrf: str

    @property
    def admin(self) -> bool:
        return self.principal.role == Role.ADMIN


class SignInFirst(Exception):
    """A page was asked for without a session: the browser is sent to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def visitor(request: Request) -> Visitor:
    """The signed-in visitor, or `SignInFirst` (back to this page after signing in)."""
    cookie = request.cookies.get(COOKIE)
    session = postroom(request).accounts.principal_for_session(cookie) if cookie else None
    if session is None:
        raise SignInFirst(_back_to(request))
    return Visitor(session.principal, session.csrf)


def _back_to(request: Request) -> str:
    """Where to go after signing in: the page asked for; for a form sent after the session
    ended, the page of its list (``/outbox`` for ``/outbox/7/retry``) rather than the
    address that only takes a POST."""
    if request.method in ("GET", "HEAD"):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return local_path(wanted)
    listing = "/" + request.url.path.lstrip("/").split("/", 1)[0]
    return listing if serves(request, listing) else "/"


def admin_visitor(who: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    if not who.admin:
        raise ProblemError(403, "only an admin may open this page")
    return who


def posted(
    request: Request,
    who: Annotated[Visitor, Depends(visitor)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Visitor:
    """The visitor of a form post whose ``csrf`` field (or, from a page's script, the
    ``X-CSRF-Token`` header) is the session's; 403 otherwise."""
    sent = csrf or request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise ProblemError(403, "the form is out of date or from another site: reload the page")
    return who


def posted_admin(who: Annotated[Visitor, Depends(posted)]) -> Visitor:
    return admin_visitor(who)


Browser = Annotated[Visitor, Depends(visitor)]
BrowserAdmin = Annotated[Visitor, Depends(admin_visitor)]
Posted = Annotated[Visitor, Depends(posted)]
PostedAdmin = Annotated[Visitor, Depends(posted_admin)]


def local_path(value: str | None) -> str:
    """``value`` when it is a path on this site (``/…``, not ``//host`` nor ``/\\host``,
    no control characters or spaces); ``/`` otherwise. Where a sign-in sends the browser."""
    if (
        not value
        or len(value) > _NEXT_LIMIT
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(ch) < 0x21 or ch in "\\\x7f" for ch in value)
    ):
        return "/"
    return value


def page(
    request: Request,
    who: Visitor | None,
    template: str,
    *,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered on the base layout for ``who`` (None: signed out), with the
    flash of the previous answer (then cleared)."""
    flash = _read_flash(request)
    html = templates.get_template(template).render(
        request_path=request.url.path,
        title=title,
        visitor=who,
        navigation=_navigation(request, who),
        flash=flash,
        csrf_field=lambda: _csrf_field(who),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if who is not None:  # a signed-in page stays out of caches (and of Back after signing out)
        response.headers["Cache-Control"] = "no-store"
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def redirect(to: str, message: str | None = None, *, error: bool = False) -> RedirectResponse:
    """``303 See Other`` to a page of this site, with ``message`` shown once there."""
    response = RedirectResponse(local_path(to), status_code=303)
    if message:
        value = quote(("error:" if error else "ok:") + message[:_FLASH_LIMIT], safe="")
        response.set_cookie(
            FLASH_COOKIE, value, max_age=60, path="/", httponly=True, samesite="strict"
        )
    return response


def _read_flash(request: Request) -> tuple[str, str] | None:
    """(``ok`` or ``error``, text) of the flash cookie, or None."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > 4 * _FLASH_LIMIT:
        return None
    kind, _, text = unquote(raw).partition(":")
    if kind not in ("ok", "error") or not text:
        return None
    return kind, text[:_FLASH_LIMIT]


def _csrf_field(who: Visitor | None) -> Markup:
    token = who.csrf if who else ""
    return Markup('<input type="hidden" name="csrf" value="{}">').format(escape(token))


def _navigation(request: Request, who: Visitor | None) -> list[tuple[str, str]]:
    if who is None:
        return []
    served = _page_paths(request)
    return [
        (path, label)
        for path, label, admin_only in NAVIGATION
        if path in served and (who.admin or not admin_only)
    ]


def _page_paths(request: Request) -> frozenset[str]:
    """The paths the UI's pages answer GET on (`ui.install` lists them)."""
    paths: frozenset[str] = getattr(request.app.state, "ui_page_paths", frozenset())
    return paths


def ago(then: datetime | None, now: datetime) -> str:
    """``then`` as a person reads it next to ``now``: "never", "just now", "5 min ago"…"""
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def stamp(when: datetime | None) -> str:
    """A stored (naive UTC) time as ``2026-12-01 22:28 UTC``."""
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


templates.globals.update(ago=ago, stamp=stamp)


def serves(request: Request, path: str) -> bool:
    """This app has a page (a GET route) at ``path`` (a route's pattern: ``/channels/{name}``)."""
    return path in _page_paths(request)
