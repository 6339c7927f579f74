"""What the item page's timeline loads for one communication, for a signed-in browser:

- ``/communications/{id}/frame``: the mail's HTML as the document of the item page's
  ``<iframe sandbox>`` (`MailFrames`: sanitised, ``cid:`` images pointing at ``parts``,
  remote images only with ``?remote=1``), under the frame's own Content-Security-Policy
  (`frame_policy`: no script, no form, images from Postroom only unless remote ones were
  asked for, sandboxed even when opened on its own).
- ``/communications/{id}/parts/{n}?t=…``: an inline image of the mail, shown in the frame:
  only a raster image type (never SVG, which can hold script), ``nosniff``; anything else
  404. The sandboxed frame has no origin of its own, so the browser sends it no session
  cookie (SameSite=Strict): the frame's document, served to a signed-in visitor, names each
  image with a token sealed by the installation's key (`part_token`: this communication,
  this part, valid `PART_TTL` seconds), which is what the image's answer checks.
- ``/communications/{id}/raw`` and ``…/attachments/{n}``: downloads, as the API sends them
  (``Content-Disposition: attachment``, ``nosniff``, a type that cannot run script).
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from postroom.bootstrap import App
from postroom.credentials import Secret
from postroom.errors import NotFoundError, UserError
from postroom.services.communications import CommunicationService
from postroom.services.mail_frame import MailFrames, frame_policy
from postroom.web.api.communications import download
from postroom.web.auth import Postroom
from postroom.web.fields import RowId
from postroom.web.ui.pages import Browser

router = APIRouter(include_in_schema=False)

Index = Annotated[int, Path(ge=0, le=100_000)]
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
"""Inline parts shown in the frame; every other type is only a download."""
PART_TTL = 3600
"""Seconds an inline image's token is good for (a frame left open longer is reloaded)."""


def part_token(app: App, communication_id: int, index: int, now: float) -> str:
    """The sealed token of part ``index`` of a communication, good for `PART_TTL` s."""
    return app.secrets.seal(Secret(f"part {communication_id} {index} {int(now) + PART_TTL}"))


def _token_fits(app: App, token: str, communication_id: int, index: int, now: float) -> bool:
    try:
        kind, cid, part, until = app.secrets.open(token).reveal().split(" ")
    except (UserError, ValueError):
        return False
    return (
        (kind, cid, part) == ("part", str(communication_id), str(index))
        and until.isdigit()
        and now <= int(until)
    )


@router.get("/communications/{communication_id}/frame", response_class=HTMLResponse)
def frame(
    communication_id: RowId,
    app: Postroom,
    _: Browser,
    remote: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:
    now = time.time()
    document = MailFrames(CommunicationService(app.storage, app.messages)).document(
        communication_id,
        lambda index: (
            f"/communications/{communication_id}/parts/{index}"
            f"?t={quote(part_token(app, communication_id, index, now), safe='')}"
        ),
        remote=bool(remote),
    )
    if document is None:
        raise NotFoundError(f"communication {communication_id} has no HTML part")
    return HTMLResponse(
        document.html,
        headers={
            "Content-Security-Policy": frame_policy(remote=bool(remote)),
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/communications/{communication_id}/parts/{index}")
def part(
    communication_id: RowId,
    index: Index,
    app: Postroom,
    t: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    if not _token_fits(app, t, communication_id, index, time.time()):
        raise NotFoundError(
            f"no such image of communication {communication_id}: open it from its item page"
        )
    found = CommunicationService(app.storage, app.messages).attachment(communication_id, index)
    kind = found.content_type.lower()
    if kind not in IMAGES:
        raise NotFoundError(
            f"part {index} of communication {communication_id} is {kind}, not an image "
            "to show: download it from the item page"
        )
    return Response(
        found.data,
        media_type=kind,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.get("/communications/{communication_id}/raw")
def raw(communication_id: RowId, app: Postroom, _: Browser) -> Response:
    data = CommunicationService(app.storage, app.messages).raw(communication_id)
    return download(data, "message/rfc822", f"communication-{communication_id}.eml")


@router.get("/communications/{communication_id}/attachments/{index}")
def attachment(communication_id: RowId, index: Index, app: Postroom, _: Browser) -> Response:
    found = CommunicationService(app.storage, app.messages).attachment(communication_id, index)
    return download(found.data, found.content_type, found.name)
