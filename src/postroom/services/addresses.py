"""What configuration accepts as an email address or a required text, for every door.

An address is judged by the same rules as the addresses Postroom writes mail to
(`postroom.domain.automatic.address_problem`: the DNS label rules, RFC 6531's non-ASCII
local parts and IDNA U-labels, which travel in an SMTPUTF8 message), so configuration never
holds an address the sender would refuse. A display name (``Support <help@x.test>``) is
refused with the bare address to give instead.
"""

from __future__ import annotations

from encodings import idna

from postroom.domain.automatic import address_problem
from postroom.errors import UserError

_MAX_TEXT = 1000
"""Longer than any address (254 octets): judged no further, and never quoted whole."""


def checked_address(text: str) -> str:
    """One plain address (no display name), lower-cased; UserError saying why it is not
    one (and, for ``Name <address>``, which address to give)."""
    address = text.strip()
    if len(address) > _MAX_TEXT:
        raise UserError(f"not an email address: longer than {_MAX_TEXT} characters")
    bare = _bracketed(address)
    if bare is not None:
        raise UserError(f"give the bare address without a display name: {bare!r} (not {address!r})")
    problem = address_problem(address, qualified=False)
    if problem is not None:
        raise UserError(f"not an email address: {address!r}: {problem}")
    return address.lower()


def route_address(text: str) -> str:
    """An address a route matches (`checked_address`), with an ASCII domain: mail names an
    internationalised domain either as its U-label or as its ``xn--`` form, and a route
    matches the address as written, so a route takes the one form every mail system can
    write and says which."""
    address = checked_address(text)
    local, _, domain = address.partition("@")
    if not domain.isascii():
        try:
            labels = [idna.ToASCII(label).decode("ascii") for label in domain.split(".")]
            ascii_domain = ".".join(labels)
        except UnicodeError:
            ascii_domain = "its xn-- form"
        raise UserError(
            f"a route's domain must be ASCII: give {local}@{ascii_domain} (mail to the "
            f"non-ASCII form {domain} is not matched to a route yet)"
        )
    return address


def _bracketed(text: str) -> str | None:
    """The address inside ``Name <address>`` (or ``<address>``), or None."""
    if not text.endswith(">") or "<" not in text:
        return None
    inner = text[text.rindex("<") + 1 : -1].strip()
    return inner if inner and address_problem(inner, qualified=False) is None else None


def required(value: str, name: str) -> str:
    """``value`` stripped; UserError naming the option when nothing is left."""
    if not value.strip():
        raise UserError(f"--{name} must not be empty")
    return value.strip()
