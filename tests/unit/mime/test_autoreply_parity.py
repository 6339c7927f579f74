"""The fast writer of automated replies reads back like the email package's (issue 12, item 2).

`compose_automated` writes headers by hand; `compose` goes through the email
package.  For many generated replies (non-ASCII subjects and names, long
subjects and words, CR/LF and control characters, very long ids, 100
References, long body lines) both are parsed with ``policy.default`` and must
give the same field values and the same body text.  The Message-ID is random
in each: compared by form.  Display names are kept short enough for one encoded
word: between two encoded words of a phrase, the email package reads a space
that RFC 2047 §6.2 says is not there (`test_long_display_names_decode_per_rfc_2047`).

Where the email package itself is wrong the fast writer must be right instead:
a subject word that looks like an encoded word (``=?utf-8?q?hi?=``) is decoded
by the email package on the way in, and display names with punctuation are
mangled by `formataddr`; the fast writer keeps the text (and `compose` writes
its address fields with it too: the email package encodes a UTF-8 address).
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, message_from_string
from email.errors import NonASCIILocalPartDefect
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.domain.ports import OWN_MESSAGE_ID_PREFIX
from postroom.mime.autoreply import compose_automated
from postroom.mime.compose import compose
from postroom.mime.header_text import header_text
from postroom.mime.outgoing import Composed
from support.headers import header_fields

SENDER = "support@example.test"
NOW = datetime(2026, 3, 4, 12, 0)

_WORDS = [
    "Invoice",
    "Re:",
    "Fwd:",
    "[101203-T]",
    "Chloé",
    "Müller",
    "naïve",
    "日本語の件名",
    "Привет",
    "مرحبا",
    "😀👍",
    "e\u0301",  # combining accent
    "x" * 80,
    "y" * 200,
    "é" * 90,
    "a.b@c",
    '"quoted"',
    "back\\slash",
    "(comment)",
    "semi;colon",
    "<angle>",
    "=",
    "?",
    "_under_",
    "=?",
    "?=",
    "\u00a0",
    "\u3000",
    "\r\n",
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x1b[2J",
    "\x0b",
    "\x85",
    "\u2028",
]
_BODY_LINES = [
    "Hello Chloé,",
    "",
    "Thank you for your message. We have opened 101203-T for it",
    "x" * 120,
    "é" * 60,
    "日本語 " * 30,
    "trailing space ",
    "=3D looks encoded",
    ".",
    "From the start",
    "tab\there",
    "carriage\rreturn",
    "\x00nul",
]


def _id(rng: random.Random, length: int) -> str:
    right = "EXCH.PROD.OUTLOOK.COM"
    left = "".join(rng.choice(string.ascii_letters + string.digits + "-.$") for _ in range(length))
    return f"<{left.strip('.') or 'a'}@{right}>"


def _plain_name(text: str) -> bool:
    """No ASCII punctuation: the email package's `formataddr` mangles names with specials
    (a colon makes a group, parentheses a comment; quotes and backslashes are lost)."""
    return all(c.isalnum() or c == " " or not c.isascii() for c in text)


def _generated(rng: random.Random) -> dict[str, Any]:
    """One reply's inputs, drawn from the tricky cases above (no ``=?`` quirk: see below)."""
    words = [rng.choice(_WORDS) for _ in range(rng.randint(0, 40))]
    subject = " ".join(w for w in words if "=?" not in w)
    names = [w for w in _WORDS if len(w) < 10 and _plain_name(w)]
    sender_name = " ".join(rng.choice(names) for _ in range(rng.randint(0, 3)))
    references = tuple(_id(rng, rng.choice((5, 40, 300, 990))) for _ in range(rng.randint(0, 100)))
    parent = rng.choice([None, "", _id(rng, 30), _id(rng, 996), "<bad id@x>", *references[-1:]])
    body = "\n".join(rng.choice(_BODY_LINES) for _ in range(rng.randint(0, 15)))
    zone = rng.choice([None, UTC, timezone(timedelta(hours=-5, minutes=-30))])
    now = NOW.replace(tzinfo=zone) + timedelta(seconds=rng.randint(0, 10**8))
    return {
        "sender": SENDER,
        "to": rng.choice([["carol@customer.test"], ["jos\u00e9@customer.test"], ["all-staff"]]),
        "subject": subject,
        "body": body,
        "now": now,
        "in_reply_to": parent,
        "references": references,
        "sender_name": sender_name,
    }


def _read(composed: Composed) -> tuple[dict[str, list[str]], str, EmailMessage]:
    # An SMTPUTF8 message is UTF-8 text (RFC 6532), read as such.
    parsed = message_from_string(composed.raw.decode("utf-8"), policy=default)
    assert isinstance(parsed, EmailMessage)
    assert not parsed.defects, parsed.defects
    values: dict[str, list[str]] = {}
    for name, value in parsed.items():
        # The email package knows RFC 5322 only: a UTF-8 local part is RFC 6532's.
        defects = [d for d in value.defects if not isinstance(d, NonASCIILocalPartDefect)]
        assert not defects, (name, value.defects)
        values.setdefault(name.lower(), []).append(str(value))
    message_id = values.pop("message-id")
    assert message_id == [composed.message_id]
    assert composed.message_id.startswith(OWN_MESSAGE_ID_PREFIX)
    assert composed.message_id.endswith("@example.test>")
    return values, parsed.get_content(), parsed


def _display_name(raw: bytes) -> str:
    """The From display name read per RFC 2047 (the email package's address parser treats
    white space inside an encoded word, and between two, as its own)."""
    (lines,) = [f for f in header_fields(raw) if f[0].startswith(b"From:")]
    assert all(len(line) <= 78 for line in lines)
    value = b"".join(lines).decode("ascii")[len("From:") :]
    phrase, _, address = value.rpartition(" <")
    if not phrase:
        assert value.strip() == SENDER
        return ""
    assert address == f"{SENDER}>"
    if phrase.strip().startswith('"'):
        return phrase.strip()[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return str(make_header(decode_header(phrase.strip())))


def assert_same_reply(args: dict[str, Any]) -> None:
    old = compose(**{**args, "to": list(args["to"])}, automated=True)
    new = compose_automated(**args)
    old_fields, old_body, _ = _read(old)
    new_fields, new_body, parsed = _read(new)
    # The subject reads back as written (header_text); the email package's reading of
    # its own output may lose a space between two words it encoded separately.
    intended = header_text(args["subject"])
    (new_subject,) = new_fields.pop("subject")
    (old_subject,) = old_fields.pop("subject")
    assert new_subject == intended == str(parsed["Subject"])
    assert old_subject.replace(" ", "") == intended.replace(" ", "")
    # Likewise a display name: the email package may read a space twice or not at all
    # (and reads Unicode white space inside an encoded word in a phrase as its own).
    assert _display_name(new.raw) == header_text(args["sender_name"])
    (new_from,) = new_fields.pop("from")
    (old_from,) = old_fields.pop("from")
    assert "".join(old_from.split()) == "".join(new_from.split())
    assert new_fields == old_fields
    assert new_body == old_body
    assert new.subject == old.subject
    assert (new.recipients, new.left_out) == (old.recipients, old.left_out)
    for lines in header_fields(new.raw):
        assert all(len(line) <= 998 for line in lines)
        if not lines[0].lower().startswith((b"references", b"in-reply-to", b"message-id")):
            assert all(len(line) <= 78 for line in lines), lines
    # An SMTPUTF8 message only when an address needs it, and that address as it is.
    head = new.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() is all(a.isascii() for a in new.recipients)
    assert new.recipients == old.recipients == tuple(a for a in args["to"] if "@" in a)
    if new.recipients:
        assert [str(a.addr_spec) for a in parsed["To"].addresses] == list(new.recipients)


@pytest.mark.parametrize("seed", range(400))
def test_generated_replies_read_back_the_same(seed: int) -> None:
    assert_same_reply(_generated(random.Random(seed)))


@settings(max_examples=300, deadline=None)
@given(subject=st.text(max_size=400), name=st.text(max_size=12), body=st.text(max_size=400))
def test_any_text_reads_back_the_same(subject: str, name: str, body: str) -> None:
    # Lone surrogates cannot be encoded by either writer; "=?" and punctuation in a
    # name meet the email package's own quirks (below).
    body = body.encode("utf-8", "replace").decode("utf-8")
    subject = subject.replace("=?", "= ?")
    name = "".join(c for c in name if _plain_name(c))
    args = {"sender": SENDER, "to": ["carol@customer.test"], "subject": subject, "body": body}
    assert_same_reply({**args, "now": NOW, "sender_name": name})


@pytest.mark.parametrize(
    "subject",
    ["=?utf-8?q?hi?=", "a=?utf-8?q?hi?=b", "=?iso-8859-1?b?aGk=?= and more", "=?", "x =? y ?= z"],
)
def test_text_that_looks_encoded_is_kept_as_text(subject: str) -> None:
    composed = compose_automated(
        sender=SENDER, to=["c@customer.test"], subject=subject, body="", now=NOW
    )
    assert str(message_from_bytes(composed.raw, policy=default)["Subject"]) == subject


@pytest.mark.parametrize(
    "name",
    [
        'Chloé, "Desk"',
        'say "hi"',
        "back\\slash",
        "=?utf-8?q?x?=",
        "Desk (EMEA)",
        "é (x)",
        "Fwd: é",
        "[2J é",
        "J. Smith",
    ],
)
def test_display_names_read_back_exactly(name: str) -> None:
    composed = compose_automated(
        sender=SENDER, to=["c@customer.test"], subject="s", body="", now=NOW, sender_name=name
    )
    parsed = message_from_bytes(composed.raw, policy=default)
    (mailbox,) = parsed["From"].addresses
    assert (mailbox.display_name, mailbox.addr_spec) == (name, SENDER)


def test_long_display_names_decode_per_rfc_2047() -> None:
    name = "Chloé Müller-Lüdenscheidt, 日本語の件名 Service Desk " * 4
    composed = compose_automated(
        sender=SENDER, to=["c@customer.test"], subject="s", body="", now=NOW, sender_name=name
    )
    assert _display_name(composed.raw) == header_text(name)
