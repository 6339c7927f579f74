"""Composing Postroom's outbound mail: automated replies and agents' replies.

Every message gets a Message-ID Postroom recognises, In-Reply-To and
References to the conversation (RFC 5322 §3.6.4), the work item's reference in
the subject exactly once, and the marker header that lets Postroom recognise
its own mail (rule D2). Automated replies carry ``Auto-Submitted:
auto-replied`` (RFC 3834 §5).

Much of what goes into a header comes from mail someone else wrote, so:

1. Threading headers are written as ids, never as RFC 2047 words (RFC 2047 §5
   forbids them in a msg-id; clients then fail to thread) and folded only
   between ids.  An id that cannot be written so — longer than a line
   (RFC 5322 §2.1.1: 998 octets), with white space, control or non-ASCII
   characters, or looking like an encoded word (``=?``) — is not copied;
   References keeps the newest 20 ids that can.
2. Remote text in a header (subjects, display names) goes through
   `header_text`: no control character of any kind, bounded length.
3. An address is written only when `address_problem` accepts it: never as an
   encoded word, never a local part that needs SMTPUTF8 (not supported yet),
   never an unqualified name a relay would complete.  A recipient that cannot
   be written is left out of the headers and the envelope, with its reason
   (`Composed.left_out`); a sender that cannot be written is an error.
"""

from __future__ import annotations

import re
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postroom.domain.automatic import address_problem
from postroom.domain.ports import MARKER_HEADER, OWN_MESSAGE_ID_PREFIX
from postroom.domain.references import REFERENCE_FORM

_BUILTIN = Path(__file__).resolve().parent.parent / "templates"
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
    would reach the recipient's screen.  The input is bounded first.
    """
    text = value[: limit * 4].translate(_CLEAN)
    return _SPACES.sub(" ", text).strip()[:limit].rstrip()


# ---------------------------------------------------------------------- threading ids
_ID_FIELDS = frozenset({"message-id", "in-reply-to", "references"})
_MAX_ID = 997
"""An id alone on a folded line (`` <id>``) still fits in 998 octets (RFC 5322 §2.1.1)."""
_ID_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.@[]")
"""RFC 5322 §3.6.4 id-left and id-right: atext, dots, ``@`` and a no-fold-literal's brackets."""
_MAX_REFERENCES = 20
_SOFT_LINE = 78
_HARD_LINE = 998


def writable_id(value: str) -> bool:
    """Whether ``<id>`` can be written as is in a threading header."""
    return (
        2 < len(value) <= _MAX_ID
        and value[0] == "<"
        and value[-1] == ">"
        and _ID_CHARS.issuperset(value[1:-1])
        and "=?" not in value
    )


def _fold_ids(name: str, value: str, linesep: str) -> str:
    """``Name: <a> <b>`` folded between ids only (RFC 5322 §2.2.3, §3.6.4)."""
    head = f"{name}:"
    lines: list[str] = []
    line = head
    for ident in value.split():
        limit = _HARD_LINE if line == head else _SOFT_LINE
        if len(line) + 1 + len(ident) > limit:
            lines.append(line)
            line = ""
        line += " " + ident
    lines.append(line)
    return linesep.join(lines) + linesep


if TYPE_CHECKING:
    _Policy = EmailPolicy[EmailMessage]
else:  # not subscriptable at run time
    _Policy = EmailPolicy


class _OutboundPolicy(_Policy):
    """SMTP's policy, except that threading headers are written as the ids they are.

    The email package treats In-Reply-To and References as unstructured text:
    an id longer than a line is RFC 2047-encoded so that it can be folded.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _ID_FIELDS:
            return name, str(value)
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> Any:
        if name.lower() in _ID_FIELDS:
            return _fold_ids(name, str(value), self.linesep)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _ID_FIELDS:
            return _fold_ids(name, str(value), self.linesep).encode("ascii")
        return super().fold_binary(name, value)


_POLICY = _OutboundPolicy(linesep="\r\n")


# ---------------------------------------------------------------------- composing
@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    """``type/subtype``; ``application/octet-stream`` when unknown."""
    data: bytes


@dataclass(frozen=True, slots=True)
class Composed:
    raw: bytes
    message_id: str
    subject: str
    recipients: tuple[str, ...] = ()
    """The envelope: every To and Cc address written, each once."""
    left_out: tuple[tuple[str, str], ...] = ()
    """(address, why) for each recipient that could not be written."""

    def why_left_out(self) -> str:
        """``'address': why`` for each recipient left out (remote text: bounded and quoted)."""
        return "; ".join(f"{address[:80]!r}: {problem}" for address, problem in self.left_out)


class UnwritableSender(ValueError):
    """The From address cannot be written correctly (see `address_problem`)."""

    def __init__(self, address: str, problem: str) -> None:
        super().__init__(f"cannot send from {address[:80]!r}: {problem}")
        self.address = address
        self.problem = problem


def new_message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2]
    if address_problem(f"x@{domain}", qualified=False) is not None:
        domain = "localhost"
    return f"{OWN_MESSAGE_ID_PREFIX}{uuid.uuid4().hex}@{domain}>"


def subject_with_reference(subject: str, reference: str) -> str:
    """``[101203-T] subject``: any reference tag already present is replaced, never repeated."""
    bare = _SPACES.sub(" ", _REFERENCE_TAG.sub(" ", header_text(subject))).strip()
    return f"[{reference}] {bare}".strip()


def load_template(kind: str, folder: Path | None) -> str:
    """A template by kind; a file of the same name in ``folder`` overrides the built-in one."""
    for base in (folder, _BUILTIN):
        if base is not None and (base / f"{kind}.txt").is_file():
            return (base / f"{kind}.txt").read_text(encoding="utf-8")
    raise FileNotFoundError(f"no template {kind}.txt")


def render(template: str, values: dict[str, str]) -> tuple[str, str]:
    """Fill placeholders ($reference, $subject, …); returns (subject line, body).

    The template's head is split off before filling in, so no value can add a
    header line or end the head; values in the subject pass `header_text`.
    """
    head, _, body = template.partition("\n\n")
    subject = ""
    for line in head.splitlines():
        if line.lower().startswith("subject:"):
            subject = line.split(":", 1)[1].strip()
    if not subject:
        body = template
    else:
        clean = {name: header_text(value) for name, value in values.items()}
        subject = header_text(string.Template(subject).safe_substitute(clean))
    filled = string.Template(body).safe_substitute(values)
    return subject, filled.strip() + "\n"


def compose(
    *,
    sender: str,
    to: list[str],
    subject: str,
    body: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    automated: bool = False,
    cc: list[str] | None = None,
    sender_name: str = "",
    attachments: tuple[Attachment, ...] = (),
) -> Composed:
    problem = address_problem(sender, qualified=False)
    if problem is not None:
        raise UnwritableSender(sender, problem)
    written: dict[str, str] = {}
    left_out: dict[str, str] = {}
    to_list = _writable(to, written, left_out)
    cc_list = _writable(cc or [], written, left_out)
    subject = header_text(subject)
    msg = EmailMessage(policy=_POLICY)
    name = header_text(sender_name)
    msg["From"] = formataddr((name, sender)) if name else sender
    if to_list:
        msg["To"] = ", ".join(to_list)
    if cc_list:
        msg["Cc"] = ", ".join(cc_list)
    msg["Subject"] = subject
    # Stored times are naive UTC: say so (+0000), not "unknown zone" (-0000, RFC 5322 §3.3).
    msg["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    message_id = new_message_id(sender)
    msg["Message-ID"] = message_id
    parent = in_reply_to.strip() if in_reply_to else ""
    if writable_id(parent):
        msg["In-Reply-To"] = parent
    chain = [r for r in references if r != parent and writable_id(r)]
    if writable_id(parent):
        chain.append(parent)
    if chain:
        msg["References"] = " ".join(chain[-_MAX_REFERENCES:])
    if automated:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg[MARKER_HEADER] = "1"
    msg.set_content(body)
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        filename = header_text(item.filename) or "attachment"
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=filename)
    return Composed(
        raw=msg.as_bytes(),
        message_id=message_id,
        subject=subject,
        recipients=tuple(written.values()),
        left_out=tuple(left_out.items()),
    )


def _writable(addresses: list[str], written: dict[str, str], left_out: dict[str, str]) -> list[str]:
    """The addresses that can be written, in order; the others go to ``left_out``."""
    kept: list[str] = []
    for address in addresses:
        bare = address.strip()
        problem = address_problem(bare)
        if problem is not None:
            left_out.setdefault(address, problem)
            continue
        kept.append(bare)
        written.setdefault(bare.lower(), bare)
    return kept
