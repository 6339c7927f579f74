"""``/api/v1/communications/{id}``: one email of an item's timeline (headers, text,
sanitised HTML, attachments), its raw message and its attachments as downloads
(admins and agents).

A download is never something a browser renders: ``Content-Disposition: attachment``
with a filename made safe (RFC 6266: an ASCII ``filename`` and the exact name in
``filename*``), ``X-Content-Type-Options: nosniff``, and a content type from a short
list of types that do not run script (anything else, HTML and SVG among them, goes as
``application/octet-stream``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from postroom.render.communications import communication_json
from postroom.services.communications import CommunicationService
from postroom.web.api.items import CommunicationOut
from postroom.web.auth import Postroom, SignedIn
from postroom.web.fields import RowId
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/communications", tags=["communications"], responses=API_PROBLEMS)

SAFE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/rtf",
        "application/ms-tnef",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "video/mp4",
        "text/plain",
        "text/csv",
        "text/calendar",
        "message/rfc822",
    }
)
"""Types a download keeps; every other one is sent as application/octet-stream."""
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()+,=@-]")
_NAME_LIMIT = 150
_DOWNLOAD = {
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}},
        "X-Content-Type-Options": {"schema": {"type": "string"}},
    }
}


class AttachmentOut(BaseModel):
    index: int
    name: str | None
    size: int
    content_type: str
    inline: bool
    content_id: str | None
    url: str
    """The download (404 for a file packed inside another: winmail.dat, uuencoded)."""


class CommunicationShown(CommunicationOut):
    reference: str
    headers: dict[str, str]
    text: str
    html: str | None
    """Sanitised: no script, style, event handler, frame or remote image."""
    attachments: list[AttachmentOut]
    defects: list[str]
    raw_url: str


@router.get("/{communication_id}", response_model=CommunicationShown, responses=responses(404))
def show(_: SignedIn, app: Postroom, communication_id: RowId) -> dict[str, Any]:
    """Headers, text, sanitised HTML and attachments (with their download URLs)."""
    return communication_json(
        CommunicationService(app.storage, app.messages).show(communication_id)
    )


@router.get(
    "/{communication_id}/raw",
    response_class=Response,
    responses={
        200: {
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            **_DOWNLOAD,
        },
        **responses(404),
    },
)
def raw(_: SignedIn, app: Postroom, communication_id: RowId) -> Response:
    """The message as received or sent, as a download (``message/rfc822``)."""
    data = CommunicationService(app.storage, app.messages).raw(communication_id)
    return download(data, "message/rfc822", f"communication-{communication_id}.eml")


@router.get(
    "/{communication_id}/attachments/{index}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            **_DOWNLOAD,
        },
        **responses(404),
    },
)
def attachment(
    _: SignedIn,
    app: Postroom,
    communication_id: RowId,
    index: int = Path(ge=0, le=100_000),
) -> Response:
    """Attachment ``index`` (as the communication lists them) as a download."""
    found = CommunicationService(app.storage, app.messages).attachment(communication_id, index)
    return download(found.data, found.content_type, found.name)


def download(data: bytes, content_type: str, name: str) -> Response:
    """``data`` as a file to save, never to render."""
    kind = content_type.lower()
    if kind not in SAFE_TYPES:
        kind = "application/octet-stream"
    return Response(
        data,
        media_type=kind,
        headers={
            "Content-Disposition": content_disposition(name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` (unsafe characters as ``_``, no path)
    and the name itself, percent-encoded, in ``filename*`` (RFC 6266 §4.3, RFC 8187)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())[:_NAME_LIMIT].strip(" .")
    if not base:
        base = "attachment"
    ascii_name = _UNSAFE_NAME.sub("_", base)
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != base:
        header += f"; filename*=UTF-8''{quote(base, safe='')}"
    return header
