"""Files packed inside other content: TNEF (``winmail.dat``) and uuencoded text.

1. TNEF (MS-OXTNEF) is how Outlook sends rich-text mail with its files:
   one ``winmail.dat`` holding them. ``tnef_files`` lists the files inside
   with ``tnefparse``, on at most ``MAX_TNEF`` bytes and ``MAX_FILES``
   files; anything tnefparse cannot read leaves the ``winmail.dat`` as it is,
   with a defect.
2. uuencoding (POSIX ``uuencode``) is how old mailers and some scanners put a
   file into a text body: a ``begin MODE NAME`` line, lines whose first
   character gives their length, and an ``end`` line. ``uuencoded`` finds
   such blocks line by line (each line read once), at most ``MAX_FILES``,
   sizes each from its length characters and returns the text without them.
"""

from __future__ import annotations

import re
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
    """The files inside a TNEF blob, or None when it cannot be read (rule 1)."""
    if len(data) > MAX_TNEF:
        defects.append(f"winmail.dat larger than {MAX_TNEF // 1048576} MB: not unpacked")
        return None
    try:
        from tnefparse import TNEF  # imported here: rare, and it pulls in its MAPI tables

        parsed = TNEF(data, do_checksum=False)
        found: list[Packed] = []
        for attachment in parsed.attachments[:MAX_FILES]:
            name = attachment.long_filename() or attachment.name
            if isinstance(name, bytes):
                name = name.decode("cp1252", "replace")
            name = str(name or "").strip("\x00 ")
            if name:
                found.append(Packed(name, len(attachment.data or b"")))
    except Exception as exc:  # noqa: BLE001 - a broken winmail.dat stays one attachment
        defects.append(f"winmail.dat could not be unpacked ({type(exc).__name__})")
        return None
    if len(parsed.attachments) > MAX_FILES:
        defects.append(f"winmail.dat holds more than {MAX_FILES} files; the rest not listed")
    return found


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
