"""The envelope writes exactly the addresses the header writers may write (issue 12, item 1).

`address_problem` is the one rule of what Postroom writes; `envelope.unwritable` adds only
the transport's own rule (non-ASCII needs SMTPUTF8 from this server).  Were they to
disagree, a recipient could be written in the To field and refused in RCPT TO, or the
reverse: sent to an address no header could show.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.domain.automatic import address_problem
from postroom.outbound.envelope import NO_SMTPUTF8, unwritable

_PIECES = st.sampled_from(
    [
        "a",
        "Z",
        "9",
        "-",
        ".",
        "@",
        "+",
        "_",
        " ",
        '"',
        "\u00e9",
        "\u00df",
        "\u5f20",
        "\u202e",
        "\u200b",
        "\u00a0",
        "\u0301",
        "\r",
        "\x00",
        "example",
        "com",
        "xn--bcher-kva",
        "b\u00fccher",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_the_envelope_and_the_writers_agree(address: str) -> None:
    writable = address_problem(address, qualified=False) is None
    assert (unwritable(address, utf8=True) is None) is writable, address
    without = unwritable(address, utf8=False)
    assert (without is None) is (writable and address.isascii()), address
    if writable and not address.isascii():
        assert without == NO_SMTPUTF8


@pytest.mark.parametrize(
    "address", ["chlo\u00e9.garcia@customer.test", "\u5f20\u4f1f@\u4f8b\u5b50.\u4e2d\u56fd"]
)
def test_an_internationalised_address_goes_in_an_smtputf8_transaction(address: str) -> None:
    assert unwritable(address, utf8=True) is None
    assert unwritable(address, utf8=False) == NO_SMTPUTF8
