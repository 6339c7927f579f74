"""What configuration accepts as an email address or a required text, for every door."""

from __future__ import annotations

import re

from postroom.errors import UserError

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+$")
"""Linear in the text's length: the domain is one character class, not overlapping runs."""


def checked_address(text: str) -> str:
    """One plain address (no display name), lower-cased; UserError when it is not one."""
    address = text.strip().lower()
    if not _ADDRESS.match(address) or address.count("@") != 1:
        raise UserError(f"not an email address: {text!r}")
    return address


def required(value: str, name: str) -> str:
    """``value`` stripped; UserError naming the option when nothing is left."""
    if not value.strip():
        raise UserError(f"--{name} must not be empty")
    return value.strip()
