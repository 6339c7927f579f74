"""Delivery reports: what a bounce says about the message it bounces.

Two sources, tried in order:

1. A standard DSN (RFC 3464 / RFC 6533): ``multipart/report;
   report-type=delivery-status`` whose ``message/delivery-status`` part
   holds one per-message block and one block per recipient (§2.2, §2.3),
   and whose third part (``message/rfc822`` or ``text/rfc822-headers``,
   RFC 6522 §3) quotes the original message, from which we take its
   Message-ID.
2. Non-standard bounces (qmail "failure notice", Exim, Yahoo, Exchange and
   Office 365 text, Gmail's "wasn't delivered") that are plain text: when
   the sender or subject looks like a bounce, we read quoted
   ``Message-ID:`` lines, recipient lines (``<bob@example.com>:``, indented
   addresses after a "failed" sentence, "Your message to … couldn't be
   delivered") and the first enhanced status code (RFC 3463) from the text.
3. Hard or soft (``kind``): a report that says ``Action: delayed`` is soft;
   else the enhanced status code's class (RFC 3463 §3.1: 5 permanent = hard,
   4 persistent transient = soft), else the SMTP reply code's first digit
   (RFC 5321 §4.2.1), else the words of the text ("user unknown", "does not
   exist" … hard; "mailbox full", "try again", "delayed" … soft).

The bounce text is remote and may be one endless line, so it is read in
linear time: at most ``MAX_REPORT_TEXT`` characters, the "failed" sentence
and its address lines are found line by line (issue 10: one pattern that
spanned both took 43 s for 50 KB of ``following address failed``), every
pattern has no two quantifiers that can match the same characters one
after the other, and an address may start only where a word starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from postroom.domain.mail import Address, DeliveryReport
from postroom.mime.fields import first_message_id
from postroom.mime.headers import HeaderBlock, parse_header_block

_WS = re.compile(r"\s+")

MAX_REPORT_TEXT = 200_000
"""Characters of a plain-text bounce searched for ids and recipients."""
MAX_STATUS_STEPS = 5_000
"""Lines or blocks of a delivery-status body read before giving up."""


def dsn_report(status_bodies: list[bytes], originals: list[HeaderBlock]) -> DeliveryReport:
    """A DeliveryReport from delivery-status bodies and the quoted original headers."""
    recipients: list[HeaderBlock] = []
    for body in status_bodies:
        recipients.extend(
            block
            for block in _blocks(body)
            if block.get("final-recipient") or block.get("original-recipient")
        )
    failed = [block for block in recipients if _is_failure(block)]
    chosen = failed[0] if failed else (recipients[0] if recipients else None)
    status = _clean(chosen.get("status")) if chosen else None
    diagnostic = _diagnostic(chosen.get("diagnostic-code")) if chosen else None
    action = _clean(chosen.get("action"), lower=True) if chosen else None
    delayed = [block for block in recipients if (block.get("action") or "").strip() == "delayed"]
    listed = failed or delayed
    return DeliveryReport(
        original_message_ids=_original_ids(originals),
        failed_recipients=tuple(_dedupe(_recipient(block) for block in listed)),
        status=status,
        diagnostic=diagnostic,
        action=action,
        kind=classify(status, diagnostic, action, ""),
    )


_HARD_WORDS = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|address)|does not exist"
    r"|doesn't exist|couldn't be found|could not be found|not found|address rejected"
    r"|invalid (?:recipient|address|mailbox)|mailbox unavailable|unrouteable|disabled"
    r"|permanent(?:ly)? (?:error|fail)|account (?:has been )?(?:disabled|deleted|closed)",
    re.IGNORECASE,
)
_SOFT_WORDS = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota exceeded|insufficient (?:system )?storage"
    r"|try again|temporar|delayed|will (?:be )?retr|still being retried|deferred"
    r"|has not yet been delivered|greylist",
    re.IGNORECASE,
)
_REPLY_CODE = re.compile(r"(?<!\d)([245])\d\d(?![\d.])")


def classify(
    status: str | None, diagnostic: str | None, action: str | None, text: str
) -> str | None:
    """``hard``, ``soft`` or None (rule 3)."""
    if action == "delayed":
        return "soft"
    if status and status[:1] in "45" and status[1:2] == ".":
        return "hard" if status[0] == "5" else "soft"
    if diagnostic:
        code = _REPLY_CODE.search(diagnostic[:1000])
        if code is not None and code.group(1) in "45":
            return "hard" if code.group(1) == "5" else "soft"
    sample = f"{diagnostic or ''}\n{text[:MAX_CLASSIFIED]}"
    soft = _SOFT_WORDS.search(sample)
    hard = _HARD_WORDS.search(sample)
    if soft and (hard is None or soft.start() < hard.start()):
        return "soft"
    if hard:
        return "hard"
    return None


MAX_CLASSIFIED = 20_000
"""Characters of a bounce's text searched for hard and soft words."""


def _blocks(body: bytes) -> list[HeaderBlock]:
    """The blank-line separated field groups of a delivery-status body (RFC 3464 §2.1)."""
    blocks: list[HeaderBlock] = []
    pos = 0
    size = len(body)
    steps = 0
    while pos < size and len(blocks) < 500 and steps < MAX_STATUS_STEPS:
        steps += 1
        block = parse_header_block(body, pos)
        if block.fields:
            blocks.append(block)
        if block.body_start <= pos:
            nl = body.find(b"\n", pos)
            block.body_start = size if nl < 0 else nl + 1
        pos = block.body_start
    return blocks


def _is_failure(block: HeaderBlock) -> bool:
    action = (block.get("action") or "").strip().lower()
    if action:
        return action == "failed"
    return (block.get("status") or "").strip().startswith("5")


def _recipient(block: HeaderBlock) -> str:
    """``rfc822; bob@example.com`` -> ``bob@example.com`` (RFC 3464 §2.3.2)."""
    value = block.get("final-recipient") or block.get("original-recipient") or ""
    _kind, _sep, address = value.rpartition(";")
    return address.strip().strip("<>").strip()


def _diagnostic(value: str | None) -> str | None:
    """``smtp; 550 5.1.1 …`` -> ``550 5.1.1 …`` (RFC 3464 §2.3.6)."""
    if not value:
        return None
    kind, sep, text = value.partition(";")
    if sep and re.fullmatch(r"\s*[A-Za-z][\w-]*\s*", kind):
        value = text
    return _clean(value)


def _clean(value: str | None, lower: bool = False) -> str | None:
    if value is None:
        return None
    cleaned = _WS.sub(" ", value).strip()
    if not cleaned:
        return None
    return cleaned.lower() if lower else cleaned


def _original_ids(originals: list[HeaderBlock]) -> tuple[str, ...]:
    found = (first_message_id(block.get("message-id")) for block in originals)
    return tuple(_dedupe(found))


def _dedupe(values: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|failure|has failed)|failure notice|"
    r"returned mail|mail delivery failed|delivery failure|non.?delivery|nicht zustellbar|"
    r"unzustellbar|message not delivered|delivery delayed|delayed mail|non remis|"
    r"non recapitabile|no se puede entregar",
    re.I,
)
_QUOTED_ID = re.compile(r"^[ \t>]*message-id:[ \t]*(<[^<>\s]+>|\S+@\S+)", re.I | re.M)
_ANGLE_RECIPIENT = re.compile(r"^[ \t]*<([^<>\s@]+@[^<>\s]+)>:?", re.M)
# The sentences that introduce a list of failed recipients (qmail, Exim,
# Exchange): "following address(es) ... failed" on one line, or the others.
_FOLLOWING = re.compile(r"following (?:address|recipient)", re.I)
_FAILED_WORD = re.compile(r"failed|deferred|delayed|fatal error", re.I)
_INTRO = re.compile(
    r"delivery has failed to these recipients|could not be delivered to"
    r"|unable to deliver your message to the following|wasn't delivered to the following"
    r"|couldn't be delivered to the following|message was undeliverable",
    re.I,
)
# One-line statements naming the recipient: Gmail ("wasn't delivered to
# bob@example.com because …"), Office 365 ("Your message to bob@example.com
# couldn't be delivered."). The address runs stop at "@" and at whitespace.
_NAMED = re.compile(
    r"(?:wasn't delivered to|was not delivered to|your message to|delivery to)"
    r"[ \t]+<?([^\s<>@,]+@[^\s<>@,]+)>?(?![^\s,])",
    re.IGNORECASE,
)
# An enhanced status code after a reply code ("550 5.1.1", "550-5.1.1", "550 #5.1.0").
_CODE_LINE = re.compile(r"^[^\n]{0,200}?\b[45]\d\d[ -]#?[245]\.\d{1,3}\.\d{1,3}[^\n]*", re.M)
# A listed recipient: an indented line whose first word holds an "@" inside
# it (``match`` only: the one backtrack is the first \S+ giving back to an
# "@"), or a line that is one such word and nothing else.
_INDENTED_ADDRESS = re.compile(r"[ \t]+\S+@\S")
_BARE_ADDRESS = re.compile(r"[^\s@]+@[^\s@]+\s*(?:\([^()\n]{0,320}\)\s*)?")
_ADDRESS = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_LINE = re.compile(r"^.*\b[45]\d\d[ -][^\n]*$", re.M)


def looks_like_bounce(sender: Address | None, subject: str) -> bool:
    """A plain-text message from a mail system about a failed delivery?"""
    if sender is not None and _BOUNCE_SENDER.match(sender.address):
        return True
    return bool(_BOUNCE_SUBJECT.search(subject))


def text_report(body_text: str, originals: list[HeaderBlock]) -> DeliveryReport | None:
    """Best-effort report from a non-standard bounce's text; None if nothing is found."""
    text = body_text[:MAX_REPORT_TEXT]
    ids = list(_original_ids(originals))
    for match in _QUOTED_ID.finditer(text):
        quoted = first_message_id(match.group(1))
        if quoted and quoted not in ids:
            ids.append(quoted)
    copy = _COPY.search(text)
    report_text = text[: copy.start()] if copy else text
    recipients = [match.group(1) for match in _ANGLE_RECIPIENT.finditer(report_text)]
    for line in _failed_listings(report_text):
        recipients.extend(_ADDRESS.findall(line.split("(", 1)[0]))
    recipients.extend(match.group(1).rstrip(".") for match in _NAMED.finditer(report_text))
    failed = _dedupe(recipients)
    if not ids and not failed:
        return None
    found = _STATUS.search(report_text)
    status = found.group(1) if found else None
    smtp = _CODE_LINE.search(report_text) or _SMTP_LINE.search(report_text)
    diagnostic = _clean(smtp.group(0)) if smtp else None
    kind = classify(status, diagnostic, None, report_text)
    delayed = kind == "soft" and _SOFT_WORDS.search(report_text[:MAX_CLASSIFIED]) is not None
    return DeliveryReport(
        original_message_ids=tuple(ids),
        failed_recipients=tuple(failed),
        status=status,
        diagnostic=diagnostic,
        action=("delayed" if delayed else "failed") if failed else None,
        kind=kind,
    )


# Where the bounce's own words end and its copy of the bounced message begins
# (qmail, Exim, Yahoo, Postfix text): nothing below it is about the delivery.
_COPY = re.compile(
    r"^[ \t-]*(?:below this line is a copy of the message|this is a copy of the message"
    r"|original message follows|original message headers|the header of the original message)",
    re.IGNORECASE | re.MULTILINE,
)


def _failed_listings(text: str) -> list[str]:
    """The address lines listed under each "failed" sentence.

    A listing follows the sentence's line after optional blank lines and
    ends at the first line that is not an address line; blank lines may
    follow a line that is a bare address. Only complete (line-ended)
    lines count: a bounce cut in the middle of an address says nothing.
    """
    lines = text.split("\n")
    ended = len(lines) - 1  # the last piece has no line break after it
    found: list[str] = []
    index = 0
    while index < ended:
        if not _introduces_failures(lines[index]):
            index += 1
            continue
        cursor = index + 1
        while cursor < ended and not lines[cursor].strip(" \t"):
            cursor += 1
        listed = 0
        while cursor < ended:
            line = lines[cursor]
            if _INDENTED_ADDRESS.match(line):
                cursor += 1
            elif _BARE_ADDRESS.fullmatch(line):
                cursor += 1
                while cursor < ended and not lines[cursor].strip():
                    cursor += 1
            else:
                break
            found.append(line)
            listed += 1
        index = cursor if listed else index + 1
    return found


def _introduces_failures(line: str) -> bool:
    if _INTRO.search(line):
        return True
    following = _FOLLOWING.search(line)
    if following is None:
        return False
    return _FAILED_WORD.search(line, following.end()) is not None
