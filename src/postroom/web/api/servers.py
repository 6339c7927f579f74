"""``/api/v1/smtp-servers`` (admin only): as ``smtp add/list/show/set/remove/check/enable/
disable``, in the shapes of `postroom.render.config`.

The password is write-only (``has_password`` says whether one is stored). A server is used
only once its connection check passes: an add whose check fails is still made (201,
disabled, the failed check in ``last_check``); an enable whose check fails is a 409
problem carrying the check.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from postroom.credentials import Secret
from postroom.render.config import server_detail_json, server_json
from postroom.services.servers import NewServer, ServerChange
from postroom.web.api.admission import AdmissionProblem
from postroom.web.api.budget import Budget
from postroom.web.api.checks import CheckOut
from postroom.web.api.connection_door import ApiDoor
from postroom.web.api.fields import NAME, PRINTABLE
from postroom.web.api.wording import worded
from postroom.web.auth import Admin, Postroom
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, ProblemError, responses

router = APIRouter(prefix="/api/v1/smtp-servers", tags=["smtp-servers"], responses=API_PROBLEMS)
DOOR = ApiDoor("/api/v1/smtp-servers", "SMTP server", server_detail_json)

Name = Annotated[str, Path(min_length=1, max_length=200, pattern=NAME)]


class ServerOut(BaseModel):
    """`smtp list --json`: never the password, only whether one is stored."""

    model_config = ConfigDict(extra="allow")

    name: str
    url: str
    authzid: str | None
    ca_file: str | None
    send_as: bool
    default: bool
    enabled: bool
    has_password: bool
    last_check_ok: bool | None
    auth: str
    """``password`` or ``oauth2:PROVIDER`` (microsoft, google, custom)."""
    token_expires: str | None
    """OAuth2: when the stored access token expires (null: none stored, or a password)."""


class ServerDetail(ServerOut):
    """`smtp show --json`: the server and the report of its last connection check."""

    last_check: dict[str, Any] | None


class ServerIn(BaseModel):
    """`smtp add`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    url: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)
    """smtps://USER@HOST:PORT, submission://… (STARTTLS) or smtp://… (a relay)"""
    password: SecretStr | None = Field(default=None, min_length=1, max_length=1024)
    """Write-only: stored encrypted, never in an answer. Needed when the URL has a user."""
    authzid: str | None = Field(default=None, max_length=320, pattern=PRINTABLE)
    ca_file: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    send_as: bool = False
    """It may send for any From address."""
    default: bool = False
    """The server-wide server."""
    force: bool = False
    """Use it even when its check fails."""


class ServerPatch(BaseModel):
    """`smtp set`: what is given changes; an empty ``authzid`` removes it. A changed
    connection setting is checked again before the server is used again."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    password: SecretStr | None = Field(default=None, min_length=1, max_length=1024)
    """Write-only."""
    authzid: str | None = Field(default=None, max_length=320, pattern=PRINTABLE)
    ca_file: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    send_as: bool | None = None
    default: bool | None = None


class ServerCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_to: str | None = Field(default=None, min_length=3, max_length=320, pattern=PRINTABLE)
    """Send a test message to this address."""


@router.get("", response_model=list[ServerOut])
def list_servers(
    _: Admin, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Every SMTP server, by name (``smtp list --json``), paged."""
    servers = page(app.servers.list(), lambda s: s.name, paging, request, response)
    return [worded(server_json(s)) for s in servers]


@router.post("", status_code=201, response_model=ServerDetail, responses=responses(409, 504))
def add_server(body: ServerIn, _: Admin, app: Postroom, budget: Budget) -> dict[str, Any]:
    """A new SMTP server (``smtp add``): stored, checked, and used once its check passes
    (``force``: anyway). 201 even when the check fails (kept disabled, the check in
    ``last_check``); 409 if the name is taken."""
    new = NewServer(
        name=body.name,
        url=body.url,
        password=Secret(body.password.get_secret_value()) if body.password else None,
        authzid=body.authzid,
        ca_file=FilePath(body.ca_file) if body.ca_file is not None else None,
        send_as=body.send_as,
        default=body.default,
    )
    DOOR.run(
        budget,
        body.name,
        lambda: app.servers.add(new, force=body.force),
        f"the check of the new SMTP server {body.name}",
    )
    return DOOR.shown(app.servers, body.name)


@router.get("/{name}", response_model=ServerDetail, responses=responses(404))
def show_server(name: Name, _: Admin, app: Postroom) -> dict[str, Any]:
    """One SMTP server and its last check (``smtp show --json``)."""
    return DOOR.shown(app.servers, name)


@router.patch("/{name}", response_model=ServerDetail, responses=responses(404, 504))
def change_server(
    name: Name, body: ServerPatch, _: Admin, app: Postroom, budget: Budget
) -> dict[str, Any]:
    """Change a server in place (``smtp set``). A changed connection setting switches it
    off and checks it again: it is used again once the check passes. The answer is the
    server as it is then."""
    if not body.model_dump(exclude_unset=True, exclude_none=True):
        raise ProblemError(
            422, "nothing to change: give url, password, authzid, ca_file, send_as or default"
        )
    change = ServerChange(
        url=body.url,
        password=Secret(body.password.get_secret_value()) if body.password else None,
        authzid=body.authzid,
        ca_file=FilePath(body.ca_file) if body.ca_file is not None else None,
        send_as=body.send_as,
        default=body.default,
    )
    DOOR.run(budget, name, lambda: app.servers.set(name, change))
    return DOOR.shown(app.servers, name)


@router.delete("/{name}", status_code=204, responses=responses(404))
def remove_server(name: Name, _: Admin, app: Postroom) -> Response:
    """Forget a server (``smtp remove``): queued mail goes through the server chosen for
    its From address when it is sent, or waits for one."""
    app.servers.remove(name)
    return Response(status_code=204)


@router.post("/{name}/check", response_model=CheckOut, responses=responses(404, 504))
def check_server(
    name: Name, _: Admin, app: Postroom, budget: Budget, body: ServerCheckIn | None = None
) -> dict[str, Any]:
    """Run the connection check with the stored settings (``smtp check --json``), given
    ``send_to`` sending a test message there, and keep its report; 200 whatever the
    server answered: ``ok`` says."""
    send_to = body.send_to if body is not None else None
    return DOOR.check(budget, name, lambda: app.servers.check(name, send_to))


@router.post(
    "/{name}/enable",
    response_model=ServerDetail,
    responses={**responses(404, 504), **AdmissionProblem.responses()},
)
def enable_server(
    name: Name,
    _: Admin,
    app: Postroom,
    budget: Budget,
    force: Annotated[bool, Query(description="enable without a passing check")] = False,
) -> Any:
    """Use it once its connection check passes (``smtp enable``); 409 with the failed
    check (``check``) when it does not."""
    return DOOR.enable(budget, app.servers, name, force=force)


@router.post("/{name}/disable", response_model=ServerDetail, responses=responses(404))
def disable_server(name: Name, _: Admin, app: Postroom) -> dict[str, Any]:
    """Stop using it (``smtp disable``): its mail waits or goes through another server."""
    return DOOR.disable(app.servers, name)
