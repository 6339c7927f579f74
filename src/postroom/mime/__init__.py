"""The MIME layer: raw RFC 5322 bytes in, a ``ParsedMail`` out (defects recorded, never raised).

The names below are imported on first use (PEP 562): a process that only hands mail to
a parser child (`postroom ingest`, `mime.isolated`) or writes mail (`mime.autoreply`)
does not load the parser and the HTML reader for nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported at once (small): its module has the function's name, and a submodule imported
# later would otherwise leave the module under that name here.
from postroom.mime.content_hash import content_hash

if TYPE_CHECKING:
    from postroom.mime.html import html_to_text, sanitize_html
    from postroom.mime.parser import parse

__all__ = ["content_hash", "html_to_text", "parse", "sanitize_html"]

_HOMES = {
    "html_to_text": "postroom.mime.html",
    "sanitize_html": "postroom.mime.html",
    "parse": "postroom.mime.parser",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
