"""The door the channel and SMTP server pages share (`ui.channels`, `ui.servers`): one
`ConnectionDoor` per kind, holding its paths and words, does what both kinds' handlers
do alike: check a name for a new one, read the connection fields of an edit, show the
add page and a thing's page, run Test connection (a page, JSON, or each step as it ends),
and serve enable (gated on a passed check), disable, and remove after a confirmation
(`ConnectionDoor.routes`). Each kind keeps its own URLs, form fields and templates; the
door keeps one wording of each answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from postroom.bootstrap import App
from postroom.credentials import Secret
from postroom.diagnostics import CheckReport
from postroom.errors import UserError
from postroom.render.checks import check_json
from postroom.services.enabling import Admission
from postroom.web.api.budget import Budget, CheckBudget
from postroom.web.auth import Postroom
from postroom.web.ui.check_steps import CheckView, check_view
from postroom.web.ui.check_stream import CHECK_CSP, streamed, wants_stream
from postroom.web.ui.connection_pages import (
    ca_path,
    protocol,
    refusal,
    segment,
    steps_for,
    wants_json,
)
from postroom.web.ui.form_fields import one_line, optional, secret
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect
from postroom.web.ui.wording import for_the_web

Name = Annotated[str, Path(min_length=1, max_length=200)]
Text = Annotated[str, Form(max_length=1100)]


class ConnectionForm:
    """The connection fields both kinds' add and edit forms post (a dependency: FastAPI
    reads them from the form), as typed."""

    def __init__(
        self,
        url: Text = "",
        password: Annotated[str, Form(max_length=1100)] = "",
        authzid: Text = "",
        ca_file: Text = "",
    ) -> None:
        self.url = url
        self.password = password
        self.authzid = authzid
        self.ca_file = ca_file

    def typed(self) -> dict[str, str]:
        """What a refused form shows again (never the password)."""
        return {"url": self.url, "authzid": self.authzid, "ca_file": self.ca_file}

    def new(self) -> ConnectionEdit:
        """The settings of a new one (`ConnectionEdit`: None for a field left empty)."""
        opened = secret(self.password)
        return ConnectionEdit(
            url=one_line(self.url, "URL"),
            password=Secret(opened) if opened is not None else None,
            authzid=optional(self.authzid, "Authorization identity", 320),
            ca_file=ca_path(self.ca_file),
        )


Connection = Annotated[ConnectionForm, Depends()]


class Stored(Protocol):
    """What the pages show of a stored channel or SMTP server."""

    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def authzid(self) -> str | None: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def last_check(self) -> dict[str, Any] | None: ...


class Connections(Protocol):
    """What the door calls of `ChannelService` or `ServerService`."""

    def show(self, name: str) -> Any: ...
    def enable(self, name: str) -> Admission: ...
    def disable(self, name: str) -> Any: ...
    def remove(self, name: str) -> Any: ...


class ShownPage(Protocol):
    """A kind's own page of one (`ConnectionDoor.page` with its fields)."""

    def __call__(
        self,
        request: Request,
        app: App,
        visitor: Visitor,
        found: Any,
        *,
        ran: CheckView | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse: ...


@dataclass(frozen=True, slots=True)
class ConnectionEdit:
    """The connection fields of a form: of an edit, those that differ from the stored
    ones (None: unchanged; an empty password keeps the stored one)."""

    url: str | None
    password: Secret | None
    authzid: str | None
    ca_file: FilePath | None

    def settings(self) -> dict[str, Any]:
        """As the keywords of `NewChannel`, `ChannelChange`, `NewServer`, `ServerChange`."""
        return {
            "url": self.url,
            "password": self.password,
            "authzid": self.authzid,
            "ca_file": self.ca_file,
        }


@dataclass(frozen=True, slots=True)
class ConnectionDoor:
    """One kind's paths and words: ``Channel`` at ``/channels``, ``SMTP server`` at
    ``/smtp-servers``."""

    base: str
    """``/channels``"""
    noun: str
    """``Channel``: how a message starts."""
    kind: str
    """``channel``: how the removal page names it."""
    short: str
    """``channel``: how a refusal names it."""
    example: str
    """A name to suggest (``support``)."""
    working: str
    """What an enabled one does (``is on``)."""
    stopped: str
    """What a disabled one no longer does (``it is not polled``)."""
    forgets: str
    """What removing one does."""
    template: str
    """Its page (``channel.html``)."""
    new_template: str
    """The add page (``channel_new.html``)."""
    new_title: str
    fields: tuple[str, ...]
    """The add form's fields, password aside."""

    @property
    def later(self) -> str:
        """Where a check that outlasts the budget shows its result."""
        return f"its result will show on this {self.short}'s page"

    def where(self, name: str) -> str:
        return f"{self.base}/{segment(name)}"

    def new_name(self, name: str) -> str:
        """The name of a new one, refused when it cannot be one path segment."""
        chosen = one_line(name, "Name", 200)
        if not chosen or "/" in chosen:
            raise UserError(f"give the {self.short} a name without a slash (e.g. {self.example})")
        if chosen == "new":
            raise UserError(f"choose another name: {self.base}/new is the page that adds one")
        return chosen

    def added_later(self, name: str) -> str:
        return f"its result will show on {self.where(name)}"

    def edit(self, before: Stored, form: ConnectionForm) -> ConnectionEdit:
        """The connection fields of an edit that changed (`ConnectionEdit`)."""
        new_url = one_line(form.url, "URL")
        new_authzid = one_line(form.authzid, "Authorization identity", 320)
        new_ca = one_line(form.ca_file, "CA file")
        if before.ca_file and not new_ca:
            raise UserError(
                f"a CA file cannot be removed here: give another, or remove the {self.short}"
            )
        opened = secret(form.password)
        return ConnectionEdit(
            url=new_url if new_url != before.url else None,
            password=Secret(opened) if opened is not None else None,
            authzid=new_authzid if new_authzid != (before.authzid or "") else None,
            ca_file=FilePath(new_ca) if new_ca and new_ca != before.ca_file else None,
        )

    def new_page(
        self,
        request: Request,
        visitor: Visitor,
        typed: dict[str, str],
        *,
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        """The add page with what was typed (never the password)."""
        form = {key: typed.get(key, "") for key in self.fields}
        return page(
            request,
            visitor,
            self.new_template,
            title=self.new_title,
            form=form,
            error=error,
            status=status,
        )

    def page(
        self,
        request: Request,
        visitor: Visitor,
        found: Stored,
        stored: dict[str, str],
        *,
        form: dict[str, str] | None = None,
        ran: CheckView | None = None,
        error: str | None = None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """One's page: its settings in the form (``stored`` adds the kind's own), the
        check just run (``ran``) and the last one kept, the steps a check runs."""
        form_fields = {
            "url": found.url,
            "authzid": found.authzid or "",
            "ca_file": found.ca_file or "",
        }
        shown = page(
            request,
            visitor,
            self.template,
            title=f"{self.noun} {found.name}",
            status=status,
            segment=segment(found.name),
            protocol=protocol(found.url),
            form=form or (form_fields | stored),
            error=error,
            ran=ran,
            last=check_view(found.last_check) if found.last_check else None,
            steps=steps_for(found.url),
            **context,
        )
        shown.headers["Content-Security-Policy"] = CHECK_CSP
        return shown

    def check(
        self,
        request: Request,
        budget: CheckBudget,
        name: str,
        run: Callable[[], CheckReport],
        shown: Callable[[CheckView], HTMLResponse],
    ) -> Response:
        """Test connection: each step as it ends (NDJSON), the steps as JSON, or the page
        ``shown`` with them."""
        what = f"the check of {name}"
        if wants_stream(request):
            return streamed(budget, run, what, self.later)
        report = check_view(check_json(budget.run(run, what, self.later)))
        if wants_json(request):
            return JSONResponse(report.to_json(), headers={"Cache-Control": "no-store"})
        return shown(report)

    def enable(
        self,
        budget: CheckBudget,
        service: Connections,
        name: str,
        shown: Callable[[CheckView | None, str], HTMLResponse],
    ) -> Response:
        """Enable it when its check passes; else its page (``shown`` with the check and
        why, a 409) with the failed step and the field to change."""
        admission = budget.run(lambda: service.enable(name), f"the check of {name}", self.later)
        if admission.enabled:
            return redirect(
                self.where(name), f"{self.noun} {name} {self.working}: its check passed."
            )
        ran = check_view(check_json(admission.report)) if admission.report else None
        return shown(ran, f"{self.noun} {name} stays off: {refusal(admission)}")

    def disable(self, service: Connections, name: str) -> Response:
        service.disable(name)
        return redirect(self.where(name), f"{self.noun} {name} is off: {self.stopped}.")

    def confirm_removal(
        self, request: Request, visitor: Visitor, service: Connections, name: str
    ) -> HTMLResponse:
        found: Stored = service.show(name)
        return page(
            request,
            visitor,
            "remove.html",
            title=f"Remove {self.kind} {found.name}",
            kind=self.kind,
            name=found.name,
            action=f"{self.where(found.name)}/remove",
            back=self.where(found.name),
            consequence=self.forgets,
        )

    def remove(self, service: Connections, name: str) -> Response:
        try:
            service.remove(name)
        except UserError as exc:
            return redirect(self.where(name), for_the_web(str(exc)), error=True)
        return redirect(self.base, f"{self.noun} {name} removed.")

    def routes(
        self, router: APIRouter, service: Callable[[App], Connections], shown: ShownPage
    ) -> None:
        """Serve ``…/{name}/enable``, ``…/disable`` and ``…/remove`` (the confirmation
        page and its form) on ``router``, with the kind's ``service`` and its page."""

        @router.post(f"{self.base}/{{name}}/enable")
        def enable(
            request: Request, app: Postroom, visitor: PostedAdmin, budget: Budget, name: Name
        ) -> Response:
            def refused(ran: CheckView | None, error: str) -> HTMLResponse:
                found = service(app).show(name)
                return shown(request, app, visitor, found, ran=ran, error=error, status=409)

            return self.enable(budget, service(app), name, refused)

        @router.post(f"{self.base}/{{name}}/disable")
        def disable(app: Postroom, _: PostedAdmin, name: Name) -> Response:
            return self.disable(service(app), name)

        @router.get(f"{self.base}/{{name}}/remove", response_class=HTMLResponse)
        def confirm_removal(
            request: Request, app: Postroom, visitor: BrowserAdmin, name: Name
        ) -> HTMLResponse:
            return self.confirm_removal(request, visitor, service(app), name)

        @router.post(f"{self.base}/{{name}}/remove")
        def remove(app: Postroom, _: PostedAdmin, name: Name) -> Response:
            return self.remove(service(app), name)
