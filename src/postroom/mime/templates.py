"""The templates of automated replies, parsed once and kept.

A template is a file ``<kind>.txt``: an optional head with a ``Subject:``
line, a blank line, and the body; ``$reference``, ``$subject`` and the other
placeholders are filled in per reply.  A folder given by the settings
overrides the built-in ones file by file.  Each file is read and parsed once
and kept while it is unchanged (same size and modification time, looked at
once a second at most), so an operator's edit takes effect within a second,
without a restart.
"""

from __future__ import annotations

import os
import stat
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from postroom.mime.header_text import header_text

_BUILTIN = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """A template split into its subject line (None when it has none) and its body."""

    subject: string.Template | None
    body: string.Template

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        """Fill placeholders ($reference, $subject, …); returns (subject line, body).

        The head was split off before filling in, so no value can add a header
        line or end the head; values in the subject pass `header_text`.
        """
        subject = ""
        if self.subject is not None:
            clean = {
                name: header_text(values[name])
                for name in self.subject.get_identifiers()
                if name in values
            }
            subject = header_text(self.subject.safe_substitute(clean))
        return subject, self.body.safe_substitute(values).strip() + "\n"


def parse_template(text: str) -> ReplyTemplate:
    """A template's text split into subject and body (a text without a subject is all body)."""
    head, _, body = text.partition("\n\n")
    subject = ""
    for line in head.splitlines():
        if line.lower().startswith("subject:"):
            subject = line.split(":", 1)[1].strip()
    if not subject:
        return ReplyTemplate(None, string.Template(text))
    return ReplyTemplate(string.Template(subject), string.Template(body))


_parsed: dict[str, tuple[int, int, ReplyTemplate]] = {}
"""Path -> (size, mtime in ns, template): one entry per template file ever used."""
_RECHECK = 1.0
"""Seconds a template found is used without looking at its files again."""
_found: dict[tuple[str, Path | None], tuple[float, ReplyTemplate]] = {}
"""(kind, folder) -> (when its files were looked at, the template found then)."""


def load_template(kind: str, folder: Path | None) -> ReplyTemplate:
    """A template by kind; a file of the same name in ``folder`` overrides the built-in one.
    An acknowledging intake asks for the same one for every new Ticket: its files are
    looked at once a second at most (a ``stat`` each time cost a tenth of the reply)."""
    now = time.monotonic()
    found = _found.get((kind, folder))
    if found is not None and now - found[0] < _RECHECK:
        return found[1]
    template = _load(kind, folder)
    _found[(kind, folder)] = (now, template)
    return template


def _load(kind: str, folder: Path | None) -> ReplyTemplate:
    for base in (folder, _BUILTIN):
        if base is None:
            continue
        path = os.path.join(base, f"{kind}.txt")  # a str: cheaper than a Path per reply
        try:
            found = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(found.st_mode):
            continue
        kept = _parsed.get(path)
        if kept is not None and kept[:2] == (found.st_size, found.st_mtime_ns):
            return kept[2]
        template = parse_template(Path(path).read_text(encoding="utf-8"))
        _parsed[path] = (found.st_size, found.st_mtime_ns, template)
        return template
    raise FileNotFoundError(f"no template {kind}.txt")
