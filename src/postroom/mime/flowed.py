"""``format=flowed`` text (RFC 3676) unwrapped into the paragraphs it was written as.

1. A line ending in a space is "flowed": the next line of the same quote
   depth continues it (§4.2); with ``delsp=yes`` that space is removed (§4.3).
2. A line's quote depth is its count of leading ``>`` (§4.5); the marks are
   kept once, in front of the joined line, as ``> `` per level.
3. One leading space is "stuffing" (§4.4) and is removed.
4. The signature separator ``-- `` is never flowed (§4.3).

Each line is read once.
"""

from __future__ import annotations


def unflow(text: str, delsp: bool = False) -> str:
    """``text`` (format=flowed) with its soft line breaks removed."""
    out: list[str] = []
    current: list[str] = []
    current_depth = -1
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if current and depth != current_depth:
            out.append(_joined(current, current_depth))
            current = []
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        current.append(content)
        current_depth = depth
        if not flowed:
            out.append(_joined(current, depth))
            current = []
    if current:
        out.append(_joined(current, current_depth))
    return "\n".join(out)


def _joined(pieces: list[str], depth: int) -> str:
    prefix = "> " * depth if depth > 0 else ""
    return prefix + "".join(pieces)
