"""``/api/v1/channels`` (admin only): as ``channel add/list/show/set/remove/check/enable/
disable`` and ``poll --channel``, in the shapes of `postroom.render.config`.

The password is write-only: taken by POST and PATCH, sealed by the service, never in an
answer (the shapes have no field for it) nor in a log line. A channel is enabled only
once its connection check passes (services/enabling.py): an add whose check fails is
still made (201, disabled, with the failed check in ``last_check``); an enable whose
check fails is a 409 problem carrying the check.
"""

from __future__ import annotations

import contextlib
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from postroom.credentials import Secret
from postroom.errors import StorageUnavailableError
from postroom.net.sasl import AuthMechanism
from postroom.render.config import channel_detail_json, channel_json
from postroom.services.channels import ChannelChange, NewChannel
from postroom.web.api.admission import AdmissionProblem
from postroom.web.api.budget import Budget
from postroom.web.api.checks import CheckOut
from postroom.web.api.connection_door import ApiDoor
from postroom.web.api.fields import NAME, PRINTABLE
from postroom.web.api.refusals import judged
from postroom.web.api.wording import worded
from postroom.web.auth import Admin, Postroom
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, ProblemError, responses

router = APIRouter(prefix="/api/v1/channels", tags=["channels"], responses=API_PROBLEMS)
DOOR = ApiDoor("/api/v1/channels", "channel", channel_detail_json)

Name = Annotated[str, Path(min_length=1, max_length=200, pattern=NAME)]
MAX_INTERVAL = 7 * 24 * 3600
"""Seconds between polls at most (a week): bounded, so the number fits any column."""


class ChannelOut(BaseModel):
    """`channel list --json`: a channel with its health, never its password."""

    model_config = ConfigDict(extra="allow")

    name: str
    url: str
    address: str | None
    authzid: str | None
    ca_file: str | None
    interval: int
    max_failures: int
    enabled: bool
    disabled_reason: str | None
    failure_count: int
    last_error_class: str | None
    last_error: str | None
    last_error_at: str | None
    last_success: str | None
    last_poll: str | None
    next_poll: str | None
    last_check_ok: bool | None
    smtp_url: str | None
    auth: str
    """``password`` or ``oauth2:PROVIDER`` (microsoft, google, custom)."""
    token_expires: str | None
    """OAuth2: when the stored access token expires (null: none stored, or a password)."""


class ChannelDetail(ChannelOut):
    """`channel show --json`: the channel and the report of its last connection check."""

    last_check: dict[str, Any] | None


class ChannelAdded(ChannelDetail):
    warning: str | None
    """No route covers the mailbox's address: what its mail will get."""


class ChannelIn(BaseModel):
    """`channel add`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    url: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)
    """pop3://USER@HOST:PORT (STLS), pop3s://…, imap://… or imaps://…"""
    password: SecretStr = Field(min_length=1, max_length=1024)
    """Write-only: stored encrypted, never in an answer."""
    authzid: str | None = Field(default=None, max_length=320, pattern=PRINTABLE)
    ca_file: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    """A PEM file on the server's machine whose CA certificates are trusted."""
    interval: int = Field(default=60, ge=5, le=MAX_INTERVAL)
    max_failures: int = Field(default=10, ge=1, le=10_000)
    address: str | None = Field(default=None, min_length=3, max_length=320, pattern=PRINTABLE)
    mechanism: AuthMechanism = AuthMechanism.AUTO
    timeout: int = Field(default=30, ge=1, le=300)
    folder: str | None = Field(default=None, min_length=1, max_length=300, pattern=PRINTABLE)
    """IMAP: the folder to poll (INBOX)."""
    after: str | None = Field(default=None, min_length=1, max_length=310, pattern=PRINTABLE)
    """``delete`` (default), ``keep`` or (IMAP) ``move:FOLDER``."""
    check: bool = True
    """False: add it disabled, without a check."""
    force: bool = False
    """Enable it even when its check fails."""


class ChannelPatch(BaseModel):
    """`channel set`: what is given changes; an empty ``authzid`` removes it. A changed
    connection setting (url, password, authzid, ca_file) is checked again before the
    channel polls again."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    password: SecretStr | None = Field(default=None, min_length=1, max_length=1024)
    """Write-only."""
    authzid: str | None = Field(default=None, max_length=320, pattern=PRINTABLE)
    ca_file: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    interval: int | None = Field(default=None, ge=5, le=MAX_INTERVAL)
    max_failures: int | None = Field(default=None, ge=1, le=10_000)
    folder: str | None = Field(default=None, min_length=1, max_length=300, pattern=PRINTABLE)
    """IMAP: poll this folder from the next poll on."""
    after: str | None = Field(default=None, min_length=1, max_length=310, pattern=PRINTABLE)
    """``delete``, ``keep`` or (IMAP) ``move:FOLDER`` from the next poll on."""


class PollOut(BaseModel):
    """`poll --channel NAME --json`: what one poll did."""

    model_config = ConfigDict(extra="allow")

    channel: str
    fetched: int
    handled: int
    quarantined: int
    duplicates: int
    deleted_known: int
    remaining: int
    left_too_large: list[str]
    errors: list[str]
    error_class: str | None
    switched_off: bool
    skipped: str | None
    seconds: float


@router.get("", response_model=list[ChannelOut])
def list_channels(
    _: Admin, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Every channel with its health, by name (``channel list --json``), paged."""
    channels = page(app.channels.list(), lambda c: c.name, paging, request, response)
    return [worded(channel_json(c)) for c in channels]


@router.post("", status_code=201, response_model=ChannelAdded, responses=responses(409, 504))
def add_channel(body: ChannelIn, _: Admin, app: Postroom, budget: Budget) -> dict[str, Any]:
    """A new input channel (``channel add``): stored, checked, and enabled once its check
    passes (``force``: anyway; ``check`` false: left disabled, unchecked). 201 even when
    the check fails: the channel is kept, disabled, its check in ``last_check``. 409 if
    the name is taken."""
    new = NewChannel(
        name=body.name,
        url=body.url,
        password=Secret(body.password.get_secret_value()),
        authzid=body.authzid,
        ca_file=FilePath(body.ca_file) if body.ca_file is not None else None,
        interval=body.interval,
        max_failures=body.max_failures,
        address=body.address,
        mechanism=body.mechanism,
        timeout=body.timeout,
        folder=body.folder,
        after=body.after,
    )
    added = DOOR.run(
        budget,
        body.name,
        lambda: app.channels.add(new, force=body.force, check=body.check),
        f"the check of the new channel {body.name}",
    )
    warning = added.unrouted
    if warning is not None:
        warning = f"{warning.partition('; add one:')[0]}; add one with POST /api/v1/routes"
    return {**DOOR.shown(app.channels, body.name), "warning": warning}


@router.get("/{name}", response_model=ChannelDetail, responses=responses(404))
def show_channel(name: Name, _: Admin, app: Postroom) -> dict[str, Any]:
    """One channel with its health and its last check (``channel show --json``)."""
    return DOOR.shown(app.channels, name)


@router.patch("/{name}", response_model=ChannelDetail, responses=responses(404, 504))
def change_channel(
    name: Name, body: ChannelPatch, _: Admin, app: Postroom, budget: Budget
) -> dict[str, Any]:
    """Change a channel in place (``channel set``). A changed connection setting switches
    it off and checks it again: it polls again once the check passes (one a person
    switched off stays off). The answer is the channel as it is then."""
    given = body.model_dump(exclude_unset=True, exclude_none=True)
    if not given:
        raise ProblemError(
            422,
            "nothing to change: give url, password, authzid, ca_file, interval, max_failures, "
            "folder or after",
        )
    change = ChannelChange(
        url=body.url,
        password=Secret(body.password.get_secret_value()) if body.password else None,
        authzid=body.authzid,
        ca_file=FilePath(body.ca_file) if body.ca_file is not None else None,
        interval=body.interval,
        max_failures=body.max_failures,
        folder=body.folder,
        after=body.after,
    )
    DOOR.run(budget, name, lambda: app.channels.set(name, change))
    return DOOR.shown(app.channels, name)


@router.delete("/{name}", status_code=204, responses=responses(404, 409))
def remove_channel(name: Name, _: Admin, app: Postroom) -> Response:
    """Forget a channel (``channel remove``); 409 for one that stored mail (its ledger
    keeps the mail from being taken twice): disable it instead."""
    with judged(state=True):
        app.channels.remove(name)
    return Response(status_code=204)


@router.post("/{name}/check", response_model=CheckOut, responses=responses(404, 504))
def check_channel(name: Name, _: Admin, app: Postroom, budget: Budget) -> dict[str, Any]:
    """Run the connection check with the stored settings (``channel check --json``) and
    keep its report; 200 whatever the server answered: ``ok`` says."""
    return DOOR.check(budget, name, lambda: app.channels.check(name))


@router.post(
    "/{name}/enable",
    response_model=ChannelDetail,
    responses={**responses(404, 504), **AdmissionProblem.responses()},
)
def enable_channel(
    name: Name,
    _: Admin,
    app: Postroom,
    budget: Budget,
    force: Annotated[bool, Query(description="enable without a passing check")] = False,
) -> Any:
    """Poll it again once its connection check passes (``channel enable``); 409 with the
    failed check (``check``) when it does not."""
    return DOOR.enable(budget, app.channels, name, force=force)


@router.post("/{name}/disable", response_model=ChannelDetail, responses=responses(404))
def disable_channel(name: Name, _: Admin, app: Postroom) -> dict[str, Any]:
    """Stop polling it, saying that a person did (``channel disable``)."""
    return DOOR.disable(app.channels, name)


@router.post("/{name}/poll", response_model=PollOut, responses=responses(404))
def poll_channel(name: Name, _: Admin, app: Postroom) -> dict[str, Any]:
    """Poll it now, enabled or not: one round (at most `PollService.MAX_MESSAGES` messages
    or `MAX_SECONDS`; ``remaining`` says what is left for the next), answered as
    ``poll --channel NAME --json`` prints it; 200 whether or not it worked: ``errors``
    says. A poll under way elsewhere is not doubled (``skipped`` says so)."""
    report = app.poller.poll(app.channels.show(name))
    with contextlib.suppress(StorageUnavailableError):
        app.poller.settle_owed()  # what an outage kept from the database, if it is back
    return report.to_json()
