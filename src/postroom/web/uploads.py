"""Files a person sends with a reply (a ``multipart/form-data`` request), as `Attachment`
values a reply carries: bounded in number and in total size, read no further than the
bound, each name reduced to a safe file name and each type to ``type/subtype``.

A name comes from the sender's machine: it may hold a path (``C:\\x\\a.pdf``,
``../../a``), control or direction-changing characters (``\\u202e`` turns ``fdp.exe``
round), or be empty. `safe_name` keeps its last path segment without those characters,
at most `NAME_LIMIT` characters, ``attachment`` when nothing is left.
"""

from __future__ import annotations

import re
import unicodedata

from starlette.datastructures import UploadFile

from postroom.errors import UserError
from postroom.mime.compose import Attachment

NAME_LIMIT = 255
_TYPE = re.compile(r"[\w.+-]{1,63}/[\w.+-]{1,63}")


def safe_name(given: str | None) -> str:
    """``given``'s last path segment, without control, format or separator characters."""
    last = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in last if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    name = " ".join(kept.split()).strip(". ")[:NAME_LIMIT]
    return name or "attachment"


def safe_type(given: str | None) -> str:
    """``type/subtype`` of an upload (parameters dropped), ``application/octet-stream``
    for anything else."""
    kind = (given or "").split(";", 1)[0].strip().lower()
    return kind if _TYPE.fullmatch(kind) else "application/octet-stream"


async def read_attachments(
    files: list[UploadFile], max_count: int, max_bytes: int
) -> tuple[Attachment, ...]:
    """The uploads as attachments (a part without a file name is not one: an empty file
    input); `UserError` past ``max_count`` files or ``max_bytes`` bytes in all."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > max_count:
        raise UserError(f"at most {max_count} attachments (got {len(chosen)})")
    out: list[Attachment] = []
    left = max_bytes
    for upload in chosen:
        data = await upload.read(left + 1)
        if len(data) > left:
            raise UserError(f"the attachments are larger than {max_bytes} bytes in all")
        left -= len(data)
        out.append(Attachment(safe_name(upload.filename), safe_type(upload.content_type), data))
    return tuple(out)
