"""Sign-in as use cases: passwords, API tokens, browser sessions, the first admin's sign-up.

What a door asks is "who is this?" (`verify_password`, `principal_for_token`,
`principal_for_session`), and the answer is a `Principal` or None, never a reason a caller
could probe with. The guarantees:

- No secret is stored: passwords as Argon2id hashes (`services/passwords.py`), API tokens,
  session cookies and sign-up tokens as their SHA-256; each secret is 256 random bits, so a
  plain hash is enough (nothing to guess), and a lookup by hash is one indexed read.
- A secret from a request is judged by its length before it is hashed (at most
  `MAX_SECRET` characters), and an unknown user costs one Argon2 check like a known one.
- A revoked token, a removed user's token or session (deleted with the user), a session
  idle for 12 hours or 7 days old, an expired or used sign-up token: all refused.
- ``last_used_at`` and a session's ``last_seen_at`` are written at most once a minute, so a
  busy API client does not make every request a write.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from postroom.clock import utcnow
from postroom.errors import NotFoundError, UserError
from postroom.records.accounts import Principal, Session, TokenRecord
from postroom.records.config import Role
from postroom.services.addresses import checked_address, required
from postroom.services.passwords import Passwords
from postroom.storage.unit import Storage

TOKEN_PREFIX = "pr_"  # noqa: S105 - a prefix, not a secret
"""API tokens start so (a secret scanner, or a person, can tell one when it leaks)."""
MAX_SECRET = 200
"""Characters of a token, cookie or sign-up token looked at; longer is refused unhashed."""
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
SIGNUP_VALID = timedelta(hours=24)
TOUCH_EVERY = timedelta(minutes=1)
_CSRF_DOMAIN = b"postroom csrf\0"


def secret_hash(secret: str) -> str:
    """The stored form of a random secret (SHA-256, hex)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _looks_like_secret(secret: str) -> bool:
    return 0 < len(secret) <= MAX_SECRET


class AccountService:
    """Who is signed in, and the secrets that say so."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], datetime] = utcnow,
        passwords: Passwords | None = None,
    ) -> None:
        self.storage = storage
        self._clock = clock
        self._passwords = passwords or Passwords()

    # -- passwords ---------------------------------------------------------------------

    def set_password(self, name: str, password: str) -> None:
        """The user's new password (UserError: empty or over 1,024 characters; no user).
        The user's sessions end: whoever signed in with the old one signs in again."""
        password_hash = self._passwords.hash(password)
        with self.storage.writing() as uow:
            uow.accounts.set_password_hash(name, password_hash)
            uow.accounts.end_sessions_of(name)

    def verify_password(self, name: str, password: str) -> Principal | None:
        """Who signs in with this name and password, or None (unknown user, no password,
        wrong password: the same answer, in the same time)."""
        with self.storage.reading() as uow:
            login = uow.accounts.login(name) if _looks_like_name(name) else None
        stored = login.password_hash if login else None
        if not self._passwords.matches(stored, password) or login is None or stored is None:
            return None
        if self._passwords.needs_rehash(stored):
            fresh = self._passwords.hash(password)
            with self.storage.writing() as uow:
                uow.accounts.set_password_hash(name, fresh)
        return login.principal

    # -- API tokens --------------------------------------------------------------------

    def create_token(self, user: str, label: str | None = None) -> tuple[TokenRecord, str]:
        """A new API token for ``user``: its record and its secret, which is shown once
        (only its hash is kept)."""
        label = label.strip() if label else None
        if label and len(label) > 200:
            raise UserError("the token's name is longer than 200 characters: give a shorter one")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.storage.writing() as uow:
            login = uow.accounts.login(user)
            if login is None:
                raise NotFoundError(f"no user {user!r} (add one with: postroom user add {user})")
            token_id = uow.accounts.add_token(
                login.principal.user_id, label or None, secret_hash(secret), self._clock()
            )
            (record,) = uow.accounts.tokens(token_id=token_id)
        return record, secret

    def list_tokens(self, user: str | None = None) -> list[TokenRecord]:
        """Every token (revoked ones too, with ``revoked_at``), oldest first; or one user's."""
        with self.storage.reading() as uow:
            if user is not None and uow.accounts.login(user) is None:
                raise NotFoundError(f"no user {user!r} (see: postroom user list)")
            return uow.accounts.tokens(user=user)

    def revoke_token(self, token_id: int) -> TokenRecord:
        """The token stops working now; NotFoundError when there is no such token."""
        with self.storage.writing() as uow:
            if not uow.accounts.tokens(token_id=token_id):
                raise NotFoundError(f"no token {token_id} (see: postroom token list)")
            uow.accounts.revoke_token(token_id, self._clock())
            (record,) = uow.accounts.tokens(token_id=token_id)
        return record

    def principal_for_token(self, secret: str) -> Principal | None:
        """Who holds this API token, or None (unknown, revoked, its user removed)."""
        if not _looks_like_secret(secret):
            return None
        with self.storage.reading() as uow:
            use = uow.accounts.token_use(secret_hash(secret))
        if use is None:
            return None
        now = self._clock()
        if use.last_used_at is None or use.last_used_at <= now - TOUCH_EVERY:
            with self.storage.writing() as uow:
                uow.accounts.touch_token(use.token_id, now, now - TOUCH_EVERY)
        return use.principal

    # -- browser sessions --------------------------------------------------------------

    def start_session(self, principal: Principal) -> tuple[str, str]:
        """A new session for a signed-in user: (the cookie's secret, the CSRF token)."""
        secret = secrets.token_urlsafe(32)
        now = self._clock()
        with self.storage.writing() as uow:
            uow.accounts.end_sessions_idle_since(now - SESSION_IDLE, now)
            uow.accounts.add_session(principal.user_id, secret_hash(secret), now, now + SESSION_MAX)
        return secret, _csrf(secret)

    def principal_for_session(self, secret: str) -> Session | None:
        """The session of this cookie, or None (unknown, ended, expired, its user removed)."""
        if not _looks_like_secret(secret):
            return None
        with self.storage.reading() as uow:
            use = uow.accounts.session_use(secret_hash(secret))
        now = self._clock()
        if use is None or use.expires_at <= now or use.last_seen_at <= now - SESSION_IDLE:
            return None
        if use.last_seen_at <= now - TOUCH_EVERY:
            with self.storage.writing() as uow:
                uow.accounts.touch_session(use.session_id, now, now - TOUCH_EVERY)
        return Session(principal=use.principal, csrf=_csrf(secret))

    def end_session(self, secret: str) -> None:
        """Signs the session out (nothing happens for an unknown one)."""
        if _looks_like_secret(secret):
            with self.storage.writing() as uow:
                uow.accounts.end_session(secret_hash(secret))

    # -- the first admin ---------------------------------------------------------------

    def admin_exists(self) -> bool:
        with self.storage.reading() as uow:
            return uow.accounts.admin_count() > 0

    def signup_token(self) -> str | None:
        """While no admin exists: a new one-time sign-up token (valid 24 hours; any earlier
        one stops working). None once an admin exists."""
        secret = secrets.token_urlsafe(32)
        now = self._clock()
        with self.storage.writing() as uow:
            if uow.accounts.admin_count() > 0:
                return None
            uow.accounts.replace_signup(secret_hash(secret), now, now + SIGNUP_VALID)
        return secret

    def complete_signup(
        self, token: str, name: str, password: str, email: str | None = None
    ) -> Principal:
        """The first admin, made with the sign-up token (which is used up by it)."""
        name = required(name, "name")
        mail = checked_address(email) if email else None
        password_hash = self._passwords.hash(password)
        now = self._clock()
        with self.storage.writing() as uow:
            if uow.accounts.admin_count() > 0:
                raise UserError("an admin exists already: sign in, or ask an admin for an account")
            if not _looks_like_secret(token) or not uow.accounts.use_signup(
                secret_hash(token), now
            ):
                raise UserError(
                    "the sign-up link is not valid (used, expired or replaced):"
                    " restart postroom web for a new one"
                )
            uow.config.add_user(name, mail, Role.ADMIN.value, now)
            uow.accounts.set_password_hash(name, password_hash)
            login = uow.accounts.login(name)
        assert login is not None  # added in this transaction
        return login.principal


def _csrf(session_secret: str) -> str:
    """The CSRF token of a session: derived from its secret, so it is stored nowhere, and
    knowing it tells nothing of the cookie."""
    return hashlib.sha256(_CSRF_DOMAIN + session_secret.encode()).hexdigest()


def _looks_like_name(name: str) -> bool:
    return 0 < len(name) <= 200
