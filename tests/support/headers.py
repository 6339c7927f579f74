"""Header fields of a message as they travel: each field with its physical lines (folds kept)."""

from __future__ import annotations


def header_fields(raw: bytes, linesep: bytes = b"\r\n") -> list[list[bytes]]:
    """The header section of ``raw`` (or a head alone) as fields, each a list of its lines."""
    head = raw.split(linesep * 2, 1)[0]
    fields: list[list[bytes]] = []
    for line in head.split(linesep):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    return fields


def field_lines(raw: bytes, name: str, linesep: bytes = b"\r\n") -> list[bytes]:
    """The physical lines of every field called ``name``, in order ([] when there is none);
    ``linesep=b"\\n"`` for a message as an MTA delivered it to a mailbox."""
    wanted = name.lower().encode()
    return [
        line
        for lines in header_fields(raw, linesep)
        if lines[0].split(b":", 1)[0].strip().lower() == wanted
        for line in lines
    ]
