"""Attachment names: as written, however the sender wrote them, or made from the type.

1. The name is the ``filename`` of Content-Disposition, else the ``name`` of
   Content-Type (RFC 2183 §2.3; ``name`` is RFC 1341's, still Outlook's only
   one). RFC 2231 continuations and charsets are joined by ``params``. Old
   mailers and scanners put it only in Content-Description: taken from there
   when it looks like a file name (one word of a name, a dot, an extension).
2. RFC 2047 encoded-words in it are decoded (RFC 2047 §5 forbids them there;
   Outlook, Thunderbird and webmailers write them anyway).
3. A name that came through in unlabelled 8-bit bytes was read by the header
   guess (``guess``); here it is only cleaned: no directory part, no control
   characters, at most ``MAX_NAME`` characters.
4. A part with no name that is still an attachment gets one from its type
   (``attachment.pdf``, ``image.png``; an attached message is named after its
   subject, as mail readers save it, else ``message.eml``), and a defect says so.
"""

from __future__ import annotations

import re

from postroom.mime.headers import decode_words

MAX_NAME = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_UNSAFE_STEM = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]+")

_EXTENSIONS: dict[str, str] = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/gzip": ".gz",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/rtf": ".rtf",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/ics": ".ics",
    "application/ms-tnef": ".dat",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/x-vcard": ".vcf",
    "text/vcard": ".vcf",
    "text/rfc822-headers": ".txt",
    "text/xml": ".xml",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "video/mp4": ".mp4",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
}
_STEMS = {"image": "image", "audio": "audio", "video": "video"}
_STEM_BY_TYPE = {
    "message/delivery-status": "delivery-status",
    "message/global-delivery-status": "delivery-status",
    "message/disposition-notification": "disposition-notification",
    "text/rfc822-headers": "headers",
    "text/calendar": "invite",
    "application/ics": "invite",
    "application/pgp-signature": "signature",
    "application/pkcs7-signature": "smime",
    "application/x-pkcs7-signature": "smime",
    "application/pkcs7-mime": "smime",
    "application/x-pkcs7-mime": "smime",
}


def clean_name(value: str | None, defects: list[str] | None = None) -> str | None:
    """A filename for display (rules 2–3), or None when nothing is left."""
    if not value:
        return None
    name = decode_words(value[: MAX_NAME * 8], defects, "filename")
    name = _CONTROL.sub(" ", name).strip().strip('"').replace("\\", "/")
    name = name.rsplit("/", 1)[-1].strip()
    return name[:MAX_NAME] or None


_DESCRIBED = re.compile(r"[^/\\:*?\"<>|\x00-\x1f]{1,200}\.[A-Za-z0-9]{1,5}")


def described_name(value: str | None, defects: list[str] | None = None) -> str | None:
    """A Content-Description that is a file name (``scan_0042.pdf``), else None (rule 1)."""
    if not value or len(value) > 1000:
        return None
    name = clean_name(value, defects)
    if name is None or not _DESCRIBED.fullmatch(name):
        return None
    if defects is not None:
        defects.append(f"attachment named from its Content-Description: {name[:80]!r}")
    return name


def name_from_type(content_type: str, subject: str | None = None) -> str:
    """The name a nameless attachment of ``content_type`` is shown with (rule 4)."""
    extension = _EXTENSIONS.get(content_type, ".bin")
    if extension == ".eml" and subject:
        stem = _UNSAFE_STEM.sub(" ", subject).strip(" .")[:100].strip()
        if stem:
            return stem + extension
        return "message.eml"
    if extension == ".eml":
        return "message.eml"
    major = content_type.partition("/")[0]
    stem = _STEM_BY_TYPE.get(content_type) or _STEMS.get(major, "attachment")
    return stem + extension
