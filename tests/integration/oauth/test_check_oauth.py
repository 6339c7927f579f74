"""`postroom check --mechanism xoauth2|oauthbearer` against Dovecot with a token from the test
OAuth2 server: every step passes with a good token; an expired one fails at the login, and
the token is in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.mailstack import Mailstack
from support.oauth_server import OAuthServer

pytestmark = pytest.mark.servers
POSTROOM = str(Path(sys.executable).with_name("postroom"))


def check(stack: Mailstack, address: str, token: str, mechanism: str) -> tuple[int, str, str]:
    url = f"imaps://{address}@{stack.host}:{stack.imaps_port}"
    done = subprocess.run(
        [POSTROOM, "check", url, "--mechanism", mechanism, "--password-env", "TOKEN",
         "--ca-file", str(stack.ca_file), "--json"],
        env={**os.environ, "TOKEN": token}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_check_logs_in_with_a_token_and_fails_at_auth_once_it_expired(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: str
) -> None:
    address, _ = mailstack.new_user("check")
    mailstack.fill(address, 2, size_kb=1)
    token = oauth_server.access_token(address)

    code, out, err = check(mailstack, address, token, mechanism)

    assert code == 0, out + err
    steps = {s["name"]: s for s in json.loads(out)["steps"]}
    assert steps["auth"]["ok"] is True
    assert all(s["ok"] for s in steps.values())
    assert token not in out + err

    oauth_server.expire(token)
    code, out, err = check(mailstack, address, token, mechanism)

    assert code == 1, out + err
    steps = {s["name"]: s for s in json.loads(out)["steps"]}
    assert steps["auth"]["ok"] is False
    assert token not in out + err
