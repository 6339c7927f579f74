"""Files packed inside other content: TNEF (``winmail.dat``) and uuencoded text.

1. TNEF (MS-OXTNEF) is how Outlook sends rich-text mail with its files:
   one ``winmail.dat`` holding them. ``tnef_files`` lists the files inside
   (each starts with an attAttachRendData attribute; its name is the MAPI
   long filename, else attAttachTitle; its size that of attAttachData), on
   at most ``MAX_TNEF`` bytes, ``MAX_OBJECTS`` attributes and ``MAX_FILES``
   files; a blob that cannot be read stays one ``winmail.dat``, with a defect.
2. uuencoding (POSIX ``uuencode``) is how old mailers and some scanners put a
   file into a text body: a ``begin MODE NAME`` line, lines whose first
   character gives their length, and an ``end`` line. ``uuencoded`` finds
   such blocks line by line (each line read once), at most ``MAX_FILES``,
   sizes each from its length characters and returns the text without them.
"""

from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass

MAX_TNEF = 25 * 1024 * 1024
"""Bytes of a winmail.dat unpacked at most."""
MAX_FILES = 100
"""Files taken out of one winmail.dat, or uuencoded blocks out of one body, at most."""

_BEGIN = re.compile(r"begin +[0-7]{3,4} +([^\n]{1,255})")


@dataclass(frozen=True, slots=True)
class Packed:
    name: str
    size: int


def tnef_files(data: bytes, defects: list[str]) -> list[Packed] | None:
    """The files inside a TNEF blob, or None when it cannot be read (rule 1).

    The attribute stream is walked here, by offsets (tnefparse's own walk copies
    the rest of the blob for every attribute: quadratic); tnefparse only decodes
    the MAPI properties of one attachment (its long filename), at most
    ``MAX_MAPI`` bytes of them.
    """
    if len(data) > MAX_TNEF:
        defects.append(f"winmail.dat larger than {MAX_TNEF // 1048576} MB: not unpacked")
        return None
    if len(data) < 6 or _U32.unpack_from(data)[0] != _TNEF_SIGNATURE:
        defects.append("winmail.dat could not be unpacked (no TNEF signature)")
        return None
    names: list[str] = []
    sizes: list[int] = []
    codepage = "cp1252"
    offset = 6
    objects = 0
    try:
        while offset + 11 <= len(data) and objects < MAX_OBJECTS:
            objects += 1
            level = data[offset]
            name = _U16.unpack_from(data, offset + 1)[0]
            length = _U32.unpack_from(data, offset + 5)[0]
            start = offset + 9
            stop = min(len(data), start + length)
            offset = stop + 2
            if name == _OEM_CODEPAGE and stop - start >= 4:
                codepage = _codepage(_U32.unpack_from(data, start)[0])
            if level != _LEVEL_ATTACHMENT:
                continue
            if name == _RENDERING:
                if len(names) >= MAX_FILES:
                    defects.append(
                        f"winmail.dat holds more than {MAX_FILES} files; rest not listed"
                    )
                    break
                names.append("")
                sizes.append(0)
            elif not names:
                continue
            elif name == _TITLE and not names[-1]:
                names[-1] = data[start:stop].rstrip(b"\x00").decode(codepage, "replace")
            elif name == _DATA:
                sizes[-1] = stop - start
            elif name == _MAPI and stop - start <= MAX_MAPI:
                long_name = _long_filename(data[start:stop], codepage)
                if long_name:
                    names[-1] = long_name
    except Exception as exc:  # noqa: BLE001 - a broken winmail.dat stays one attachment
        defects.append(f"winmail.dat could not be unpacked ({type(exc).__name__})")
        return None
    found = [Packed(n.strip("\x00 ")[:255], size) for n, size in zip(names, sizes, strict=True)]
    named = [packed for packed in found if packed.name]
    if not named:
        defects.append("winmail.dat holds no file: listed as it is")
    return named or None


MAX_OBJECTS = 10_000
"""TNEF attributes read at most (a real winmail.dat has some ten plus five a file)."""
MAX_MAPI = 1024 * 1024
"""Bytes of one attachment's MAPI properties decoded for its long filename at most."""
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TNEF_SIGNATURE = 0x223E9F78
_LEVEL_ATTACHMENT = 0x02
_RENDERING = 0x9002
_TITLE = 0x8010
_DATA = 0x800F
_MAPI = 0x9005
_OEM_CODEPAGE = 0x9007
_LONG_FILENAME = 0x3707


def _codepage(number: int) -> str:
    name = f"cp{number}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


def _long_filename(mapi: bytes, codepage: str) -> str | None:
    from tnefparse.mapi import decode_mapi  # imported here: rare

    for prop in decode_mapi(mapi, codepage):
        if prop.name == _LONG_FILENAME:
            value = prop.data
            if isinstance(value, bytes):
                value = value.decode(codepage, "replace")
            return str(value).strip("\x00 ") or None
    return None


def uuencoded(text: str, defects: list[str]) -> tuple[str, list[Packed]]:
    """``text`` without its uuencoded blocks, and the files they hold (rule 2)."""
    if "begin " not in text:
        return text, []
    lines = text.split("\n")
    kept: list[str] = []
    found: list[Packed] = []
    index = 0
    while index < len(lines):
        match = _BEGIN.fullmatch(lines[index].rstrip("\r "))
        if match is None or len(found) >= MAX_FILES:
            kept.append(lines[index])
            index += 1
            continue
        size, stop, ended = _block(lines, index + 1)
        if not ended:  # not a uuencoded block after all: keep what was looked at
            kept.extend(lines[index:stop])
            index = stop
            continue
        found.append(Packed(match.group(1).strip().rsplit("/", 1)[-1] or "attachment.bin", size))
        index = stop + 1
    if found:
        defects.append(f"{len(found)} uuencoded file(s) taken out of the text body")
        return "\n".join(kept), found
    return text, []


def _block(lines: list[str], start: int) -> tuple[int, int, bool]:
    """The decoded size of a block starting at ``start``, the index of its ``end`` line
    (or of the first line that cannot be in a block), and whether ``end`` was found.
    The scan goes on from that index either way, so every line is looked at once."""
    size = 0
    for index in range(start, len(lines)):
        line = lines[index].rstrip("\r")
        if line.strip() == "end":
            return size, index, True
        if not line:
            continue
        length = (ord(line[0]) - 32) & 0x3F
        if length > 45 or len(line) < 1 + (length * 4 + 2) // 3:
            return size, max(index, start), False
        size += length
    return size, len(lines), False
