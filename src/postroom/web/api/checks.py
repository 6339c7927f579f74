"""``POST /api/v1/check`` (admin only): `postroom check URL` through the API, answered in
the ``check --json`` shape (`render.checks.check_json`); and that shape as an OpenAPI
schema, which the channel and SMTP server checks answer with too.

The password is write-only: it goes to the server being checked and nowhere else (the
report is scrubbed of it by the check itself, and validation errors never quote a value).
A check's time is bounded: ``timeout`` seconds per answer, at most `MAX_TIMEOUT`, and the
whole as every check through the API (web/api/budget.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from postroom.diagnostics import CheckReport
from postroom.errors import UserError
from postroom.net.connection import MailUrl
from postroom.render.checks import check_json
from postroom.services.probe import check_url
from postroom.web.api.budget import Budget
from postroom.web.api.fields import PRINTABLE
from postroom.web.api.refusals import judged
from postroom.web.api.wording import worded_step
from postroom.web.auth import Admin
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/check", tags=["checks"], responses=API_PROBLEMS)

MAX_TIMEOUT = 30.0
"""Seconds per answer at most: a check through the API holds a worker thread."""


class CheckStep(BaseModel):
    name: str
    ok: bool | None
    """True passed, False failed, None not run (an earlier step failed)."""
    detail: dict[str, Any]
    error: str | None
    hint: str | None


class CheckOut(BaseModel):
    """The ``check --json`` shape (docs/cli.md, "Connection testing")."""

    url: str
    """The URL without secrets."""
    ok: bool
    steps: list[CheckStep]
    complete: bool
    """False when the login was not tested (no password given)."""
    untested: list[str]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)
    """pop3[s]://, imap[s]://, smtp[s]://, submission:// USER@HOST:PORT"""
    password: SecretStr | None = Field(default=None, min_length=1, max_length=1024)
    """Write-only: never in an answer."""
    authzid: str | None = Field(default=None, max_length=320, pattern=PRINTABLE)
    ca_file: str | None = Field(default=None, min_length=1, max_length=1000, pattern=PRINTABLE)
    """A PEM file on the server's machine whose CA certificates are trusted."""
    send_to: str | None = Field(default=None, min_length=3, max_length=320, pattern=PRINTABLE)
    """SMTP only: send a test message to this address."""
    timeout: float = Field(default=10.0, gt=0, le=MAX_TIMEOUT)
    """Seconds to wait for each answer."""


def check_out(report: CheckReport) -> dict[str, Any]:
    """What a check answers (`CheckOut`), each step's error and hint in the API's field
    names (`for_the_api`)."""
    answer: dict[str, Any] = check_json(report)
    return {**answer, "steps": [worded_step(step) for step in answer["steps"]]}


@router.post("", response_model=CheckOut, responses=responses(504))
def check(body: CheckIn, _: Admin, budget: Budget) -> dict[str, Any]:
    """Test a mail server step by step, storing nothing (``postroom check URL --json``):
    DNS, TCP, TLS, certificate, greeting, capabilities, login, mailbox (or, given
    ``send_to``, a test message). 200 whatever the server answered: ``ok`` says."""
    with judged():
        url = MailUrl.parse(body.url)
        if body.send_to is not None and url.protocol != "smtp":
            raise UserError("send_to needs an smtp://, submission:// or smtps:// URL")
        ca_file = Path(body.ca_file) if body.ca_file is not None else None
        if ca_file is not None and not ca_file.is_file():
            raise UserError(f"no CA file {body.ca_file} (give ca_file a PEM file on the server)")
        password = body.password.get_secret_value() if body.password is not None else None
        report = budget.run(
            lambda: check_url(url, password, body.authzid, ca_file, body.send_to, body.timeout),
            "the check",
        )
    return check_out(report)
