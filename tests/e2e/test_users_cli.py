"""`postroom user …` and `postroom token …` as a person at a shell uses them: passwords
only from a variable or stdin (never echoed), a token shown once, revoked, listed."""

from __future__ import annotations

import pytest

from e2e.cli import Shell
from postroom.bootstrap import App

pytestmark = pytest.mark.usefixtures("postroom_env")


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    return Shell(capsys)


def test_a_user_with_a_password_can_sign_in(sh: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALICE_PW", "correct horse")
    assert sh.ok("user", "add", "alice", "--role", "admin", "--password-env", "ALICE_PW") == (
        "user alice (admin)"
    )
    out = sh.ok(
        "user", "add", "bob", "--email", "Bob@Example.com", "--password-stdin", stdin=b"pw b\n"
    )
    assert out == "user bob (agent)"
    assert "cannot sign in" in sh.ok("user", "add", "carol")
    assert sh.json("user", "list") == [
        {"name": "alice", "email": None, "role": "admin"},
        {"name": "bob", "email": "bob@example.com", "role": "agent"},
        {"name": "carol", "email": None, "role": "agent"},
    ]
    accounts = App().accounts
    assert accounts.verify_password("alice", "correct horse") is not None
    assert accounts.verify_password("bob", "pw b") is not None
    assert accounts.verify_password("carol", "") is None
    sh.ok("user", "set", "carol", "--role", "admin", "--password-stdin", stdin=b"pw c\n")
    carol = App().accounts.verify_password("carol", "pw c")
    assert carol is not None and carol.role == "admin"


@pytest.mark.parametrize("given", ["hunter2!", "correct horse battery", "p@ss"])
def test_a_password_given_for_the_variable_name_is_never_echoed(sh: Shell, given: str) -> None:
    sh.ok("db", "upgrade")  # `user list` only reads: it creates no schema
    result = sh("user", "add", "alice", "--password-env", given)
    assert result.code == 2  # what was given cannot be used (README, "Exit status")
    assert "give the variable's name" in result.err
    assert given not in result.err + result.out
    assert sh.json("user", "list") == []


def test_an_unset_variable_is_not_named_back(sh: Shell) -> None:
    result = sh("user", "add", "alice", "--password-env", "Hunter2")
    assert result.code == 2 and "give the variable's name" in result.err
    assert "Hunter2" not in result.err


def test_token_create_shows_the_secret_once_list_never(sh: Shell) -> None:
    sh.ok("user", "add", "alice", "--role", "admin")
    result = sh("token", "create", "alice", "--name", "ci")
    assert result.code == 0
    secret = result.out.strip()
    assert secret.startswith("pr_") and "shown once" in result.err
    created = sh.json("token", "create", "alice")
    assert set(created) == {
        "id",
        "user",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
        "token",
    }
    listed = sh.json("token", "list")
    assert [(t["id"], t["user"], t["name"]) for t in listed] == [
        (1, "alice", "ci"),
        (2, "alice", None),
    ]
    assert secret not in sh.ok("token", "list") and created["token"] not in str(listed)
    assert App().accounts.principal_for_token(secret) is not None
    assert sh.ok("token", "revoke", "1") == "revoked token 1 of alice"
    assert App().accounts.principal_for_token(secret) is None
    assert sh.json("token", "list")[0]["revoked_at"] is not None
    missing = sh("token", "revoke", "42")
    assert (missing.code, missing.err.strip()) == (
        1,
        "postroom: no token 42 (see: postroom token list)",
    )
    assert sh("token", "create", "nobody").code == 1


def test_user_remove_ends_its_tokens_and_keeps_the_last_admin(sh: Shell) -> None:
    sh.ok("user", "add", "root", "--role", "admin")
    sh.ok("user", "add", "bob")
    secret = sh.json("token", "create", "bob")["token"]
    assert sh.ok("user", "remove", "bob") == "removed user bob"
    assert App().accounts.principal_for_token(secret) is None
    assert sh.json("token", "list") == []
    last = sh("user", "remove", "root")
    assert last.code == 1 and "last admin" in last.err
    assert sh("user", "set", "root").code == 1  # nothing to change


def test_a_password_on_stdin_over_the_limit_is_refused_unechoed(sh: Shell) -> None:
    result = sh("user", "add", "alice", "--password-stdin", stdin=b"q" * 5_000_000 + b"\n")
    assert result.code == 1 and "longer than 1024 characters" in result.err
    assert "qqqq" not in result.err
    assert sh.json("user", "list") == []
