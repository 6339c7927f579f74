"""Finding work item references in free text and in plus addresses (docs/handler.md §1).

People write references in every shape: ``[101203-T]``, ``Ref-101203-T``,
``re: 101203-t.``; mail systems wrap them in plus addresses
(``support+101203-T@example.com``).  The handler needs them all, in the order
they appear, and must not see one inside a longer token such as an order
number ``x101203-Ty``.

The rules, in order:

1. A reference is ``<digits>-T``, ``<digits>-C`` or ``<digits>-C-A<digits>``,
   in any letter case.
2. At each place where one starts, the longest form is taken: ``101203-C-A2``
   is the Action, never the Case ``101203-C`` followed by noise.
3. That longest form must stand as a word of its own: the characters just
   before and after it are not letters or digits (any script).  When it does
   not, there is no reference at that place at all; a shorter form is not
   tried, so ``101203-C-A2x`` names nothing.
4. An Action numbered 0 does not exist (Actions count from 1); the form is
   skipped as a whole.
5. A number has at most 18 digits (it fits a 64-bit integer); a longer run
   of digits is no reference, just as rule 3 says of a longer word.  Text is
   remote: converting a long digit run costs quadratic time, and Python
   refuses one of more than 4,300 digits.

The pattern is linear: it can start only where a digit run starts (the
look-behind), and every quantifier is bounded.
"""

from __future__ import annotations

import re

from postroom.domain.workitems import ItemType, Reference

REFERENCE_FORM = r"([0-9]{1,18})-(?:(T)|(C)(?:-A([0-9]{1,18}))?)"
"""The one written shape of a reference (rules 1 and 5), in every pattern that looks for one;
its groups are the number, ``T``, ``C`` and the Action's number. Compile it with IGNORECASE.
Digits are ASCII on purpose: a reference is typed by people and printed by us in ASCII."""

# The boundaries ([^\W_] = a letter or digit of any script) are not ASCII.
# The atomic group keeps rule 2: once the longest form matched, the engine may
# not back off to a shorter one to satisfy the trailing boundary (rule 3).
_FIND = re.compile(rf"(?<![^\W_])(?>{REFERENCE_FORM})(?![^\W_])", re.IGNORECASE)

# A cheap first look: every reference has a hyphen and T or C in a row. Most mail
# has none, and the full pattern (with its look-behind at every position) costs far
# more. The hint starts with its literal hyphen, which the engine jumps to (a 3.4 KB
# body: 1.3 us); starting with the digit, it was tried at every character (21 us).
_HINT = re.compile(r"-[TtCc]")


def find_references(text: str, limit: int | None = None) -> tuple[Reference, ...]:
    """Every reference in ``text``, in order of appearance, repeats included.

    With ``limit``, only references that end within the first ``limit``
    characters count (the body rule).  The text is not cut first: cutting
    could turn ``101203-Tx`` at the edge into a reference, or an Action into
    its Case.
    """
    if not _HINT.search(text):
        return ()
    found: list[Reference] = []
    for m in _FIND.finditer(text):
        if limit is not None and m.end() > limit:
            break
        ref = _reference(m)
        if ref is not None:
            found.append(ref)
    return tuple(found)


def parse_reference(text: str) -> Reference:
    """Exactly one reference (surrounding white space allowed); `ValueError` on anything else."""
    m = _FIND.fullmatch(text.strip())
    ref = _reference(m) if m else None
    if ref is None:
        bare = text.strip()
        if bare.isascii() and bare.isdigit() and len(bare) <= 12:
            number = int(bare)
            raise ValueError(
                f"not a work item reference: {text!r}: give its type too, "
                f"{number:06d}-T (the Ticket) or {number:06d}-C (its Case)"
            )
        raise ValueError(
            f"not a work item reference: {text!r} (written 100001-T, 100001-C or 100001-C-A1)"
        )
    return ref


def _reference(m: re.Match[str]) -> Reference | None:
    number = int(m.group(1))
    if m.group(2):
        return Reference(number, ItemType.TICKET)
    if m.group(4) is not None:
        action = int(m.group(4))
        if action < 1:
            return None
        return Reference(number, ItemType.ACTION, action)
    return Reference(number, ItemType.CASE)


def split_plus_address(address: str) -> tuple[str, str | None]:
    """``Support+Tag@Example.com`` → (``support@example.com``, ``Tag``).

    The base address is lowercased for comparison with routes and channel
    addresses; the tag keeps its case.  An address without a ``+`` in its
    local part is its own base with no tag.
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower(), None
    base_local, plus, tag = local.partition("+")
    base = f"{base_local}@{domain}".lower()
    return base, (tag if plus else None)


def base_address(address: str) -> str:
    """The address without its plus tag, lowercased: what routes are keyed by."""
    return split_plus_address(address)[0]


def plus_reference(address: str) -> tuple[str, Reference] | None:
    """The reference carried in a plus address, with the base address.

    The tag must be a reference and nothing else (``support+101203-T@…``);
    ``support+sales@…`` carries none.
    """
    base, tag = split_plus_address(address)
    if not tag:
        return None
    m = _FIND.fullmatch(tag)
    ref = _reference(m) if m else None
    return (base, ref) if ref is not None else None
