"""The services word their errors and hints for the command line (``--ca-file FILE``);
a person in the browser fixes the same thing in a form field. `for_the_web` names the
field instead of the option, so a message names the fix where it is made.

Plain substring replacements, longest first (`web.wording.replaced`).
"""

from __future__ import annotations

from postroom.web.wording import replaced

_FIELDS = (
    (
        "`postroom smtp add NAME --url URL --default` or `channel set-smtp`",
        "a default server on the SMTP servers page",
    ),
    (
        "--password-stdin (or --password-env VAR, --authzid ADDRESS)",
        "the Password field (or the Authorization identity field)",
    ),
    ("--password-env/--password-stdin", "Password"),
    ("with --password-env VAR or --password-stdin", "in the Password field"),
    ("--password-env VAR or --password-stdin", "the Password field"),
    ("with --password-env VAR", "in the Password field"),
    ("(--password-env VAR)", "(the Password field)"),
    ("with --password-env or --password-stdin", "in the Password field"),
    (
        "--ca-file FILE (the CA that signed the server's certificate)",
        "the CA file field (the CA that signed the server's certificate)",
    ),
    ("give --ca-file a PEM file", "give the CA file field a PEM file on the server"),
    ("with --ca-file", "in the CA file field"),
    ("--ca-file FILE", "the CA file field"),
    ("--ca-file", "CA file"),
    ("--url URL", "the URL field"),
    ("--url", "URL"),
    ("--authzid ADDRESS", "the Authorization identity field"),
    ("--authzid", "Authorization identity"),
    ("--interval", "Interval"),
    ("--max-failures", "Max failures"),
    (" (postroom channel set NAME --folder F)", ""),
    (" (postroom channel set NAME --after move:FOLDER)", ""),
    ("--after move:FOLDER", "After: move:FOLDER"),
    ("--after", "After"),
    ("--folder", "Folder"),
    ("(channel add --address)", "(an address)"),
    ("give --to ADDRESS", "give the To field"),
    ("(use --to/--cc)", "(use To and Cc)"),
    ("--mechanism", "the login mechanism"),
    ("--timeout", "timeout"),
    ("--send-to address", "test-send address"),
    ("--send-as/--no-send-as", "Send as"),
    ("--default/--no-default", "Default"),
    ("--context", "Context"),
    ("--category", "Category"),
    ("--queue", "Queue"),
)


def for_the_web(text: str) -> str:
    """``text`` with each command-line option replaced by the form field that sets it."""
    return replaced(text, _FIELDS)
