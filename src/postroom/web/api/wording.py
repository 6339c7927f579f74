"""The services word their errors and a check's hints for the command line
(``--ca-file FILE``); an API client sets the same thing by a field name (``ca_file``).
`for_the_api` names the field instead of the option, as `ui.wording.for_the_web` names
the form field for the pages. An OAuth2 sign-in (``postroom channel authorize NAME``)
stays a command: the API cannot sign in.

Plain substring replacements, longest first (`web.wording.replaced`).
"""

from __future__ import annotations

from typing import Any

from postroom.web.wording import replaced

_NAMES = (
    (
        "`postroom smtp add NAME --url URL --default` or `channel set-smtp`",
        "POST /api/v1/smtp-servers with default true",
    ),
    ("--password-stdin (or --password-env VAR, --authzid ADDRESS)", "password (or authzid)"),
    ("--password-env/--password-stdin", "password"),
    ("with --password-env VAR or --password-stdin", "in the password field"),
    ("--password-env VAR or --password-stdin", "password"),
    ("with --password-env VAR", "in the password field"),
    ("(--password-env VAR)", "(password)"),
    ("with --password-env or --password-stdin", "in the password field"),
    ("give --ca-file a PEM file", "give ca_file a PEM file on the server"),
    ("--ca-file FILE", "ca_file"),
    ("--ca-file", "ca_file"),
    ("--url URL", "url"),
    ("--url", "url"),
    ("--authzid ADDRESS", "authzid"),
    ("--authzid", "authzid"),
    ("--interval", "interval"),
    ("--max-failures", "max_failures"),
    ("(postroom channel set NAME --folder F)", "(PATCH the channel's folder)"),
    ("(postroom channel set NAME --after move:FOLDER)", "(PATCH the channel's after)"),
    ("--after move:FOLDER", "after move:FOLDER"),
    ("--after", "after"),
    ("--folder NAME", "folder"),
    ("--folder", "folder"),
    ("--mechanism", "mechanism"),
    ("--timeout", "timeout"),
    ("--send-to address", "send_to address"),
    ("--send-as/--no-send-as", "send_as"),
    ("--default/--no-default", "default"),
    ("(channel add --address)", "(address)"),
    ("--address", "address"),
    ("give --to ADDRESS", "give to"),
    ("(use --to/--cc)", "(use to and cc)"),
    ("--context", "context"),
    ("--category", "category"),
    ("--queue", "queue"),
)


def for_the_api(text: str) -> str:
    """``text`` with each command-line option replaced by the API field that sets it."""
    return replaced(text, _NAMES)


def worded(answer: dict[str, Any]) -> dict[str, Any]:
    """A channel's, a server's (render.config) or an outbox message's JSON with what the
    services worded for the command line in the API's field names: its last error, why
    it is off, and each step's error and hint of its last check."""
    worded_answer = dict(answer)
    for key in ("last_error", "disabled_reason"):
        if isinstance(answer.get(key), str):
            worded_answer[key] = for_the_api(answer[key])
    check = answer.get("last_check")
    if isinstance(check, dict) and isinstance(check.get("steps"), list):
        worded_answer["last_check"] = {**check, "steps": [worded_step(s) for s in check["steps"]]}
    return worded_answer


def worded_step(step: dict[str, Any]) -> dict[str, Any]:
    """A check step's JSON with its error and hint in the API's field names."""
    worded_step = dict(step)
    for key in ("error", "hint"):
        if isinstance(step.get(key), str):
            worded_step[key] = for_the_api(step[key])
    return worded_step
