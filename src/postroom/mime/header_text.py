"""Remote text made fit for a header field, and the work item's reference in a subject.

Subjects and display names of outbound mail are mostly text someone else wrote:
a subject is read, not archived, so it is bounded, and no control character of
any kind reaches a header (it would end the field, or reach the reader's screen).
"""

from __future__ import annotations

import re

from postroom.domain.references import REFERENCE_FORM

# No leading \s*: tried at every offset of a subject of spaces, it would be quadratic.
_REFERENCE_TAG = re.compile(rf"\[{REFERENCE_FORM}\]", re.IGNORECASE)
_SPACES = re.compile(r" {2,}")

HEADER_TEXT_LIMIT = 1000
"""Characters of remote text kept in one header (a subject is read, not archived)."""

# C0 and C1 controls, DEL, the Unicode line and paragraph separators and lone
# surrogates: removed, except the ones that separate words, which become spaces.
_SEPARATING = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_CLEAN: dict[int, str | None] = {
    **{c: None for c in range(0x20)},
    **{c: None for c in range(0x7F, 0xA0)},
    **{c: None for c in range(0xD800, 0xE000)},
    **{ord(c): " " for c in _SEPARATING},
}


def header_text(value: str, limit: int = HEADER_TEXT_LIMIT) -> str:
    """Remote text made fit for a header field: one line, no control character.

    ``str.splitlines`` breaks on U+000B, U+001C–U+001E, U+0085 and U+2028, so
    the email package refuses them in a header value; NUL, ESC and the rest
    would reach the recipient's screen.  The input is bounded first.  The result
    has no leading, trailing or doubled space.
    """
    text = value[: limit * 4].translate(_CLEAN)
    return _SPACES.sub(" ", text).strip()[:limit].rstrip()


def subject_with_reference(subject: str, reference: str) -> str:
    """``[101203-T] subject``: any reference tag already present is replaced, never repeated."""
    bare = _SPACES.sub(" ", _REFERENCE_TAG.sub(" ", header_text(subject))).strip()
    return f"[{reference}] {bare}".strip()
