"""Where the new part of a reply ends, and where its signature starts.

The timeline folds quoted earlier mail; the text itself is kept whole, only
offsets into it are given (``ParsedMail.quote_start``, ``signature_start``).

A quote starts at the first of these lines, looked for after the first
non-blank line (a message that is all quote has no new part to mark):

1. an attribution line ending in ``wrote:`` and its translations
   (``schrieb:``, ``a écrit :``, ``escribió:`` …), the line above joining it
   when the attribution was wrapped;
2. an Outlook separator: ``-----Original Message-----`` and its
   translations, or a line of underscores followed by a ``From:`` line, or a
   ``From:`` line directly followed by ``Sent:``/``Date:``;
3. a run of two or more ``>`` lines.

A signature starts at the last ``-- `` line (RFC 3676 §4.3) before the quote,
else at a "Sent from my …" line.

At most ``MAX_SCANNED`` characters are looked at; each line once, with
anchored patterns that have no two quantifiers matching the same text.
"""

from __future__ import annotations

import re

MAX_SCANNED = 200_000

# An attribution line ends in ":" and holds the verb ("wrote:", "Am … schrieb
# Bob <b@example.com>:", "Le … a écrit :"): checked with ``in``, no pattern.
_VERBS = (
    *("wrote", "schrieb", "a écrit", "escribió", "scrisse", "ha scritto", "schreef"),
    *("escreveu", "napisał", "написал", "kirjoitti", "skrev", "írta"),
)
MAX_ATTRIBUTION = 400
"""Characters of an attribution line at most (two wrapped lines of a name and a date)."""
_ORIGINAL = re.compile(
    r"[\s>]*-{2,}\s?(?:original message|ursprüngliche nachricht|message d'origine"
    r"|mensaje original|messaggio originale|oorspronkelijk bericht|forwarded message"
    r"|weitergeleitete nachricht)\s?-{2,}",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"_{10,}\s*")
_HEADER_FROM = re.compile(r"\*?(?:from|von|de|da|van)\*?\s?:", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"\*?(?:sent|date|gesendet|datum|envoyé|enviado|inviato|verzonden)\*?\s?:", re.IGNORECASE
)
_MOBILE = re.compile(r"(?:sent from my|von meinem|envoyé de mon|enviado desde mi)\s", re.I)


def markers(text: str) -> tuple[int | None, int | None]:
    """(offset of the quote, offset of the signature) in ``text``; None where there is none."""
    scanned = text[:MAX_SCANNED]
    lines = scanned.split("\n")
    offsets: list[int] = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    quote_line = _quote_line(lines)
    end = quote_line if quote_line is not None else len(lines)
    signature = None
    for index in range(end - 1, 0, -1):
        line = lines[index].rstrip("\r")
        if line in ("-- ", "--"):
            signature = offsets[index]
            break
    if signature is None:
        for index in range(1, end):
            if _MOBILE.match(lines[index]):
                signature = offsets[index]
                break
    return (offsets[quote_line] if quote_line is not None else None), signature


def _quote_line(lines: list[str]) -> int | None:
    seen_text = False
    for index, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if not seen_text:
            seen_text = bool(line.strip()) and not line.startswith(">")
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _attribution(line):
            above = lines[index - 1].strip() if index > 0 else ""
            if above and len(line.strip()) < 25 and index > 1:
                return index - 1  # "On Mon … John Smith <j@example.com>" / "wrote:"
            return index
        if "--" in line[:12] and _ORIGINAL.match(line):
            return index
        if line.startswith("__") and _UNDERSCORES.fullmatch(line) and _HEADER_FROM.match(following):
            return index
        if ":" in line[:10] and _HEADER_FROM.match(line) and _HEADER_NEXT.match(following):
            return index
        if line.startswith(">") and following.startswith(">"):
            return index
    return None


def _attribution(line: str) -> bool:
    """An attribution line (rule 1): ends in ":" and holds one of ``_VERBS``."""
    if len(line) > MAX_ATTRIBUTION or not line.rstrip().endswith(":"):
        return False
    lowered = line.lower()
    return any(verb in lowered for verb in _VERBS)
