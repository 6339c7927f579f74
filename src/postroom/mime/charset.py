"""Turning bytes that claim a charset into text, whatever the claim is worth.

Mail in the wild lies about its charset: labels Python does not know
(``x-unknown``, ``utf8``, ``unicode-1-1-utf-7``), windows-1252 text labelled
``iso-8859-1``, 8-bit bytes with no label at all, Shift_JIS labelled
``shift_jis`` but using Microsoft's extensions. The rules, in order:

1. The label is mapped to the codec a mail reader would really use: the
   superset codecs browsers settled on (WHATWG Encoding Standard), e.g.
   ``iso-8859-1`` and ``us-ascii`` decode as windows-1252, ``gb2312`` as
   gb18030, ``shift_jis`` as cp932, ``ks_c_5601-1987`` as cp949.
2. If the declared codec is unknown or the bytes are not valid in it, try
   UTF-8, then windows-1252, then latin-1 (which never fails).
3. Whenever a fallback was used, say so: the caller records the defect.
"""

from __future__ import annotations

import codecs

# Labels whose real-world content is a superset codec (WHATWG Encoding §4.2).
_SUPERSETS: dict[str, str] = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
}

_FALLBACKS = ("utf-8", "cp1252")

# Codecs that are not text encodings (rot13, base64 …) must never be used
# for a label found in a message.
_TEXT_CODEC_CACHE: dict[str, str | None] = {}


_MAX_LABEL = 64
"""Longer labels are unknown: IANA names are at most 40 characters, and a
label from a message must not grow the cache (or feed codecs.lookup) unbounded."""


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a charset label, or None when unknown."""
    if not label or len(label) > _MAX_LABEL:
        return None
    key = label.strip().strip("\"'").lower()
    cached = _TEXT_CODEC_CACHE.get(key)
    if cached is not None or key in _TEXT_CODEC_CACHE:
        return cached
    name: str | None = _SUPERSETS.get(key)
    if name is None:
        try:
            info = codecs.lookup(key)
        except (LookupError, ValueError):
            name = None
        else:
            name = info.name if getattr(info, "_is_text_encoding", True) else None
    if len(_TEXT_CODEC_CACHE) < 512:
        _TEXT_CODEC_CACHE[key] = name
    return name


def decode_text(data: bytes, label: str | None, what: str = "text") -> tuple[str, str | None]:
    """Decode ``data`` declared as ``label``; return the text and a defect or None.

    ``what`` names the thing being decoded in the defect message (a header
    name, "body"), so an operator reading the defect knows where to look.
    """
    # ASCII decodes the same under every charset we accept except the
    # 7-bit escapes (ISO-2022-*, UTF-7), which need their codec.
    if data.isascii() and (label is None or not _is_escape_charset(label)):
        return data.decode("ascii"), None
    codec = codec_for(label)
    shown = (label or "")[:_MAX_LABEL]
    if codec is not None:
        try:
            return data.decode(codec), None
        except (UnicodeDecodeError, LookupError):
            if codec == "cp1252" and label and label.lower() != "windows-1252":
                # A true ISO-8859-1 byte that windows-1252 leaves undefined
                # (0x81, 0x8D …): latin-1 is then exactly what was declared.
                return data.decode("latin-1"), None
        problem = f"{what}: bytes not valid in declared charset {shown!r}"
    elif label:
        problem = f"{what}: unknown charset {shown!r}"
    else:
        problem = f"{what}: 8-bit data without a charset"
    for fallback in _FALLBACKS:
        if fallback == codec:
            continue
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        return text, f"{problem}; decoded as {_DISPLAY.get(fallback, fallback)}"
    return data.decode("latin-1"), f"{problem}; decoded as latin-1"


_DISPLAY = {"cp1252": "windows-1252"}


def _is_escape_charset(label: str) -> bool:
    lowered = label.lower()
    return lowered.startswith(("iso-2022", "iso2022", "utf-7", "unicode-1-1-utf-7", "hz"))
