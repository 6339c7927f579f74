"""What the channel and SMTP server pages share: the steps a check of a URL will run, a
CA file field as a path, a refused enable in one line with the field to change, a name
as a path segment, and whether a check was asked for as JSON (``static/check.js``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request

from postroom.diagnostics import step_names
from postroom.errors import UserError
from postroom.net.connection import MailUrl
from postroom.render.fixes import field_fix
from postroom.services.enabling import Admission
from postroom.web.ui.check_steps import pending_steps
from postroom.web.ui.form_fields import optional
from postroom.web.ui.wording import for_the_web

ERROR_LIMIT = 120
"""Characters of a failed step's error in a one-line message (it quotes the server)."""


def steps_for(url: str) -> list[dict[str, str]]:
    """The steps a check of ``url`` runs, in order (none for a URL that cannot parse)."""
    try:
        return pending_steps([s.value for s in step_names(MailUrl.parse(url))])
    except UserError:
        return []


def ca_path(text: str) -> Path | None:
    value = optional(text, "CA file")
    return Path(value) if value else None


def refusal(admission: Admission) -> str:
    """``step: error. Change: FIELD.`` of a failed check, in the form's words, short
    enough for a flash (`ERROR_LIMIT`): the steps on the page give the hint."""
    report = admission.report
    failed = [s for s in report.steps if s.ok is False] if report is not None else []
    if not failed:
        return "its check did not pass."
    error = for_the_web((failed[0].error or "failed")[:ERROR_LIMIT])
    fix = field_fix(admission.remedy)
    return f"{failed[0].name.value}: {error}." + (f" Change: {fix}." if fix else "")


def protocol(url: str) -> str:
    """The URL's scheme, as the lists show it."""
    return url.partition("://")[0] if "://" in url else "?"


def segment(name: str) -> str:
    """``name`` as one path segment."""
    return quote(name, safe="")


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept
