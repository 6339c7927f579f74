"""Sign-in as a use case, through SQLite in memory: what is stored (hashes, never a secret),
and what is refused (wrong, unknown, revoked, removed, expired, used)."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from postroom.errors import NotFoundError, UserError
from postroom.records.config import Role
from postroom.services.accounts import AccountService
from postroom.services.passwords import Passwords
from postroom.services.users import UserService
from postroom.storage.tables import api_tokens, signup_tokens, users, web_sessions
from postroom.storage.unit import Storage
from unit.services.config_fakes import Clock, memory_storage

FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
"""Argon2id with small parameters: the tests check behaviour, not strength."""


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return memory_storage(str(tmp_path))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(storage: Storage, clock: Clock) -> AccountService:
    return AccountService(storage, clock, FAST)


@pytest.fixture
def people(storage: Storage, clock: Clock) -> UserService:
    return UserService(storage, clock, FAST)


def _column(storage: Storage, column, **where: object) -> list[object]:  # type: ignore[no-untyped-def]
    with storage.engine.connect() as conn:
        query = select(column)
        for key, value in where.items():
            query = query.where(column.table.c[key] == value)
        return list(conn.execute(query).scalars())


def test_the_password_is_stored_as_an_argon2id_hash_never_itself(
    storage: Storage, accounts: AccountService, people: UserService
) -> None:
    people.add("alice", role=Role.ADMIN, password="correct horse")
    (stored,) = _column(storage, users.c.password_hash, name="alice")
    assert isinstance(stored, str) and stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    alice = accounts.verify_password("alice", "correct horse")
    assert alice is not None and (alice.name, alice.role) == ("alice", Role.ADMIN)
    assert accounts.verify_password("alice", "Correct horse") is None
    accounts.set_password("alice", "battery staple")
    assert accounts.verify_password("alice", "correct horse") is None
    assert accounts.verify_password("alice", "battery staple") is not None


def test_unknown_users_and_users_without_a_password_cannot_sign_in(
    accounts: AccountService, people: UserService
) -> None:
    people.add("bob")
    assert accounts.verify_password("bob", "") is None
    assert accounts.verify_password("bob", "anything") is None
    assert accounts.verify_password("nobody", "anything") is None
    assert accounts.verify_password("x" * 10_000, "anything") is None


def test_an_unknown_user_costs_a_hash_like_a_known_one(storage: Storage) -> None:
    slow = AccountService(storage, passwords=Passwords())
    UserService(storage, passwords=Passwords()).add("carol", password="pw")

    def took(name: str) -> float:
        start = time.perf_counter()
        for _ in range(3):
            assert slow.verify_password(name, "wrong") is None
        return time.perf_counter() - start

    took("nobody")  # the dummy hash is made once, on first use
    known, unknown = took("carol"), took("nobody")
    assert unknown > 0.5 * known, (known, unknown)


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(
    storage: Storage, people: UserService
) -> None:
    people.add("dave", password="pw")  # FAST parameters
    (before,) = _column(storage, users.c.password_hash, name="dave")
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=128, parallelism=1))
    assert AccountService(storage, passwords=stronger).verify_password("dave", "pw") is not None
    (after,) = _column(storage, users.c.password_hash, name="dave")
    assert after != before and "t=2" in str(after) and "m=128" in str(after)


@pytest.mark.parametrize(("password", "message"), [("", "empty"), ("p" * 1025, "longer than")])
def test_passwords_empty_or_too_long_are_refused(
    accounts: AccountService, people: UserService, password: str, message: str
) -> None:
    people.add("erin")
    with pytest.raises(UserError, match=message) as caught:
        accounts.set_password("erin", password)
    assert "p" * 20 not in str(caught.value)  # never echoed
    with pytest.raises(UserError, match=message):
        people.add("frank", password=password)
    with pytest.raises(NotFoundError):
        accounts.set_password("nobody", "pw")


def test_a_token_is_stored_as_its_sha256_and_shown_once(
    storage: Storage, accounts: AccountService, people: UserService
) -> None:
    people.add("alice", role=Role.ADMIN)
    record, secret = accounts.create_token("alice", "ci")
    assert secret.startswith("pr_") and len(secret) >= 40
    assert _column(storage, api_tokens.c.token_hash) == [
        hashlib.sha256(secret.encode()).hexdigest()
    ]
    assert (record.user, record.name, record.revoked_at) == ("alice", "ci", None)
    assert secret not in repr(accounts.list_tokens())
    principal = accounts.principal_for_token(secret)
    assert principal is not None and (principal.name, principal.role) == ("alice", Role.ADMIN)
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        accounts.create_token("nobody", None)


def test_unknown_revoked_and_oversized_tokens_are_refused(
    accounts: AccountService, people: UserService
) -> None:
    people.add("alice")
    record, secret = accounts.create_token("alice", None)
    assert accounts.principal_for_token(secret + "x") is None
    assert accounts.principal_for_token("") is None
    assert accounts.principal_for_token("pr_" + "a" * 1_000_000) is None
    revoked = accounts.revoke_token(record.id)
    assert revoked.revoked_at is not None
    assert accounts.principal_for_token(secret) is None
    with pytest.raises(NotFoundError, match="no token 999"):
        accounts.revoke_token(999)


def test_last_used_is_written_at_most_once_a_minute(
    storage: Storage, accounts: AccountService, people: UserService, clock: Clock
) -> None:
    people.add("alice")
    _record, secret = accounts.create_token("alice", None)
    assert accounts.principal_for_token(secret) is not None
    first = clock.now
    clock.now += timedelta(seconds=30)
    assert accounts.principal_for_token(secret) is not None
    assert accounts.list_tokens("alice")[0].last_used_at == first
    clock.now += timedelta(seconds=31)
    assert accounts.principal_for_token(secret) is not None
    assert accounts.list_tokens("alice")[0].last_used_at == clock.now


def test_a_removed_users_tokens_and_sessions_stop_working(
    storage: Storage, accounts: AccountService, people: UserService
) -> None:
    people.add("alice", role=Role.ADMIN)
    people.add("bob", password="pw")
    _record, secret = accounts.create_token("bob", None)
    bob = accounts.verify_password("bob", "pw")
    assert bob is not None
    cookie, _csrf = accounts.start_session(bob)
    assert accounts.principal_for_session(cookie) is not None
    people.remove("bob")
    assert accounts.principal_for_token(secret) is None
    assert accounts.principal_for_session(cookie) is None
    assert _column(storage, api_tokens.c.id) == [] and _column(storage, web_sessions.c.id) == []
    with pytest.raises(NotFoundError):
        people.remove("bob")


def test_the_last_admin_is_neither_removed_nor_made_an_agent(people: UserService) -> None:
    people.add("alice", role=Role.ADMIN)
    with pytest.raises(UserError, match="last admin"):
        people.remove("alice")
    with pytest.raises(UserError, match="last admin"):
        people.set("alice", role=Role.AGENT)
    people.add("zoe", role=Role.ADMIN)
    assert people.set("alice", role=Role.AGENT, email="a@example.com").role == "agent"
    assert people.set("alice", email="").email is None


def test_a_session_is_stored_hashed_and_expires_when_idle_or_old(
    storage: Storage, accounts: AccountService, people: UserService, clock: Clock
) -> None:
    people.add("alice", password="pw")
    alice = accounts.verify_password("alice", "pw")
    assert alice is not None
    cookie, csrf = accounts.start_session(alice)
    assert _column(storage, web_sessions.c.secret_hash) == [
        hashlib.sha256(cookie.encode()).hexdigest()
    ]
    assert csrf != cookie and len(csrf) >= 32
    session = accounts.principal_for_session(cookie)
    assert session is not None and (session.principal, session.csrf) == (alice, csrf)
    # used every 11 hours: never idle 12 h, but 7 days old at the end
    for _ in range(15):
        clock.now += timedelta(hours=11)
        assert accounts.principal_for_session(cookie) is not None
    clock.now += timedelta(hours=11)
    assert accounts.principal_for_session(cookie) is None  # 176 h > 7 days
    fresh, _ = accounts.start_session(alice)
    clock.now += timedelta(hours=12, seconds=1)
    assert accounts.principal_for_session(fresh) is None  # idle
    again, _ = accounts.start_session(alice)
    accounts.end_session(again)
    assert accounts.principal_for_session(again) is None
    kept, _ = accounts.start_session(alice)
    accounts.set_password("alice", "new")  # a stolen cookie ends with the old password
    assert accounts.principal_for_session(kept) is None
    kept, _ = accounts.start_session(alice)
    people.set("alice", password="newer")
    assert accounts.principal_for_session(kept) is None
    assert accounts.principal_for_session("x" * 100_000) is None


def test_signup_makes_the_first_admin_once(
    storage: Storage, accounts: AccountService, people: UserService, clock: Clock
) -> None:
    people.add("agent1")
    assert not accounts.admin_exists()
    replaced = accounts.signup_token()
    token = accounts.signup_token()
    assert replaced and token and replaced != token
    assert _column(storage, signup_tokens.c.token_hash) == [
        hashlib.sha256(token.encode()).hexdigest()
    ]
    with pytest.raises(UserError, match="not valid"):
        accounts.complete_signup(replaced, "root", "pw")
    admin = accounts.complete_signup(token, "root", "pw", "root@example.com")
    assert (admin.name, admin.role) == ("root", Role.ADMIN)
    assert accounts.admin_exists() and accounts.signup_token() is None
    assert accounts.verify_password("root", "pw") == admin
    with pytest.raises(UserError, match="an admin exists already"):
        accounts.complete_signup(token, "root2", "pw")


def test_a_used_or_expired_signup_token_is_refused(
    storage: Storage, accounts: AccountService, people: UserService, clock: Clock
) -> None:
    token = accounts.signup_token()
    assert token is not None
    clock.now += timedelta(hours=24)
    with pytest.raises(UserError, match="not valid"):
        accounts.complete_signup(token, "root", "pw")
    token = accounts.signup_token()
    assert token is not None
    with pytest.raises(UserError, match="empty"):
        accounts.complete_signup(token, "root", "")  # refused before the token is used
    first = accounts.complete_signup(token, "root", "pw")
    assert first.role == Role.ADMIN
    with pytest.raises(UserError):
        accounts.complete_signup(token, "other", "pw")
