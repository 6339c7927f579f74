"""`postroom check pop3s://… --mechanism xoauth2|oauthbearer` (and pop3:// with STLS) against
Dovecot with a token from the test OAuth2 server: every step passes with a good token; an
expired one fails at the login quoting the server's status; the token is in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.mailstack import Mailstack
from support.oauth_server import OAuthServer
from support.scripted_pop3 import ScriptedPop3

pytestmark = pytest.mark.servers
POSTROOM = str(Path(sys.executable).with_name("postroom"))


def check(
    stack: Mailstack, address: str, token: str, mechanism: str, scheme: str
) -> tuple[int, dict[str, Any], str]:
    port = stack.pop3s_port if scheme == "pop3s" else stack.pop3_port
    url = f"{scheme}://{address}@{stack.host}:{port}"
    done = subprocess.run(
        [POSTROOM, "check", url, "--mechanism", mechanism, "--password-env", "TOKEN",
         "--ca-file", str(stack.ca_file), "--json"],
        env={**os.environ, "TOKEN": token}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert token not in done.stdout + done.stderr
    steps = {s["name"]: s for s in json.loads(done.stdout)["steps"]} if done.stdout else {}
    return done.returncode, steps, done.stdout + done.stderr


@pytest.mark.parametrize("scheme", ["pop3s", "pop3"])
@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_check_logs_in_over_pop3_with_a_token_and_fails_at_auth_once_it_expired(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: str, scheme: str
) -> None:
    address, _ = mailstack.new_user("checkpop")
    mailstack.fill(address, 2, size_kb=1)
    token = oauth_server.access_token(address)

    code, steps, said = check(mailstack, address, token, mechanism, scheme)

    assert code == 0, said
    assert all(s["ok"] for s in steps.values()), said
    assert steps["auth"]["detail"]["mechanism"] == f"AUTH {mechanism.upper()}"
    assert steps["mailbox"]["detail"]["messages"] == 2

    oauth_server.expire(token)
    code, steps, said = check(mailstack, address, token, mechanism, scheme)

    assert code == 1, said
    assert steps["auth"]["ok"] is False
    error = steps["auth"]["error"]
    assert "the server refused the access token" in error
    assert "Authentication failed" in error and '"status":' in error
    assert "get a new one" in (steps["auth"]["hint"] or "")


def test_check_of_a_pop3_server_without_the_mechanism_fails_at_auth_unsent() -> None:
    server = ScriptedPop3().start()  # CAPA lists no SASL
    try:
        done = subprocess.run(
            [POSTROOM, "check", server.url, "--mechanism", "oauthbearer", "--password-env",
             "TOKEN", "--json"],
            env={**os.environ, "TOKEN": "ya29.never-sent"}, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.close()

    assert done.returncode == 1, done.stdout + done.stderr
    steps = {s["name"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["auth"]["error"] == "the server does not offer SASL OAUTHBEARER"
    assert server.auth_lines == []


def test_check_takes_no_other_mechanism_for_pop3() -> None:
    done = subprocess.run(
        [POSTROOM, "check", "pop3s://a@127.0.0.1:1", "--mechanism", "plain"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "POP3 takes --mechanism xoauth2|oauthbearer" in done.stderr
