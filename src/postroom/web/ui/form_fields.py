"""What a configuration form posts, judged before a service sees it: one line of
printable text (a NUL would be a 500 from PostgreSQL), bounded, and whole numbers in
range. Each refusal is a `UserError` naming the field and what it takes, shown above the
form, which keeps what was typed (but a password)."""

from __future__ import annotations

from postroom.errors import UserError


def one_line(value: str, label: str, limit: int = 1000) -> str:
    """``value`` stripped, when it is one line of printable text of at most ``limit``."""
    value = value.strip()
    if len(value) > limit:
        raise UserError(f"{label} is longer than {limit} characters: shorten it")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise UserError(f"{label} holds a control character: type it on one line")
    return value


def optional(value: str, label: str, limit: int = 1000) -> str | None:
    """`one_line`, None when left empty."""
    return one_line(value, label, limit) or None


def whole_number(value: str, label: str, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high``."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
        raise UserError(f"{label} must be a whole number from {low} to {high}")
    return int(text)


def secret(value: str, label: str = "Password", limit: int = 1024) -> str | None:
    """A password as typed (not stripped: spaces may belong to it); None when empty."""
    if len(value) > limit:
        raise UserError(f"{label} is longer than {limit} characters")
    if "\x00" in value:
        raise UserError(f"{label} holds a NUL character: type it again")
    return value or None
