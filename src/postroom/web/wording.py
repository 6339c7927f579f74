"""The services word their errors and a check's hints for the command line
(``--ca-file FILE``); each part of the web door names the same setting its own way: the
pages by the form field (`ui.wording`), the API by the field name (`api.wording`).
`replaced` is how either turns one into the other.

Plain substring replacements, longest first (no regular expression: linear on any text).
"""

from __future__ import annotations

from collections.abc import Iterable


def replaced(text: str, words: Iterable[tuple[str, str]]) -> str:
    """``text`` with each command-line option of ``words`` replaced by its own word."""
    for option, word in words:
        if option in text:
            text = text.replace(option, word)
    return text
