"""Remote text made safe to print on a terminal.

Every Subject, address, Message-ID, server banner or error text Postroom prints for a person
was chosen by someone else. A terminal obeys control characters in what it is given: ESC
starts sequences that set the window title (OSC 0), make hyperlinks whose target differs from
their text (OSC 8), clear the screen (CSI 2J) or move the cursor; a bare CR returns to the
start of the line and lets later text overwrite earlier text; BEL rings; the C1 controls
(U+0080–U+009F) are 8-bit forms of the same sequences (U+009B is CSI); the bidirectional
controls reorder what follows (``U+202E`` shows ``exe.txt`` for ``txt.exe``); U+2028/2029
break lines. And a lone surrogate (bytes that were not UTF-8, decoded with
``surrogateescape``) makes the output's encoder raise.

`for_terminal` shows each of them as an escape (``\\x1b``, ``\\u202e``; ``\\t``, ``\\n``
and ``\\r`` for the three everyone reads) and leaves every other
character alone, accents, scripts and emoji included. The same table serves every
human-readable output (the CLI, `postroom check`); JSON output never goes through it: it is
exact, and ``json.dumps`` escapes the C0 controls itself (RFC 8259 §7).

Decisions:
- A field (a Subject, an error text) is one line of a list or a table: a TAB or a line break
  in it is escaped too, so it can neither shift columns nor fake a line of output. Text
  whose tabs and line breaks are the program's own layout (a whole report, a traceback in a
  log) passes ``layout=True``, which keeps TAB and LF and escapes everything else, CR
  included. No command prints a message body; one that will should pass its lines
  separately, or ``layout=True`` if a multi-line body is what it means to show.
- A backslash is left as it is: an escape is then only ever added, never doubled, so the
  function can be applied to a field and again to the line it is part of (idempotent), and
  paths and regular expressions stay readable. A person told "\\x1b" cannot tell whether the
  sender typed those four characters; the JSON output can.
- One ``str.translate`` over the text: linear in its length, no regular expression.
"""

from __future__ import annotations

_C0 = range(0x00, 0x20)
_C1_AND_DEL = range(0x7F, 0xA0)
_SPOOFING = (
    0x061C,  # ARABIC LETTER MARK
    0x200E,  # LEFT-TO-RIGHT MARK
    0x200F,  # RIGHT-TO-LEFT MARK
    0x2028,  # LINE SEPARATOR
    0x2029,  # PARAGRAPH SEPARATOR
    *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
    *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI
)
_SURROGATES = range(0xD800, 0xE000)
_LAYOUT = frozenset((0x09, 0x0A))
"""TAB and LF: kept with ``layout=True``."""


_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(code: int) -> str:
    if code in _SHORT:
        return _SHORT[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_FIELD: dict[int, str] = {
    code: _escape(code) for code in (*_C0, *_C1_AND_DEL, *_SPOOFING, *_SURROGATES)
}
_TEXT: dict[int, str] = {code: text for code, text in _FIELD.items() if code not in _LAYOUT}


def for_terminal(value: object, *, layout: bool = False) -> str:
    """``value`` as text with every control character escaped (see the module docstring);
    with ``layout`` TAB and LF are kept, the program's own columns and lines."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to escape
    return text.translate(_TEXT if layout else _FIELD)
