"""Sign-in's storage (`uow.accounts`): password hashes, API tokens, web sessions, sign-up.

Secrets come in as hashes (the service hashes them) and never go out: a `TokenRecord` has
no hash, and a lookup by hash answers who it is, nothing more. A removed user's tokens and
sessions go with it, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from postroom.errors import NotFoundError
from postroom.records.accounts import Principal, TokenRecord
from postroom.records.config import Role
from postroom.storage.tables import api_tokens, signup_tokens, users, web_sessions


@dataclass(frozen=True, slots=True)
class Login:
    """A user as sign-in sees it: who, and the stored password hash (None: cannot sign in)."""

    principal: Principal
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class TokenUse:
    """A live token's holder, and when the token was last used (to touch it sparingly)."""

    token_id: int
    principal: Principal
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionUse:
    """A live session's holder and its times (the service judges expiry)."""

    session_id: int
    principal: Principal
    last_seen_at: datetime
    expires_at: datetime


_TOKEN_COLUMNS = (
    api_tokens.c.id,
    users.c.name.label("user"),
    api_tokens.c.name,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def _principal(row: Any) -> Principal:
    return Principal(user_id=row.user_id, name=row.user_name, role=Role(row.role))


_PRINCIPAL_COLUMNS = (users.c.id.label("user_id"), users.c.name.label("user_name"), users.c.role)


class AccountRepository:
    """Sign-in's rows in one unit of work: plain values and hashes in, records out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- users -------------------------------------------------------------------------

    def login(self, name: str) -> Login | None:
        row = self._conn.execute(
            select(*_PRINCIPAL_COLUMNS, users.c.password_hash).where(users.c.name == name)
        ).first()
        return None if row is None else Login(_principal(row), row.password_hash)

    def set_password_hash(self, name: str, password_hash: str | None) -> None:
        found = self._conn.execute(
            update(users).where(users.c.name == name).values(password_hash=password_hash)
        ).rowcount
        if not found:
            raise NotFoundError(f"no user {name!r} (add one with: postroom user add {name})")

    def update_user(self, name: str, values: dict[str, Any]) -> None:
        """Change ``role`` and/or ``email`` of a user; NotFoundError when there is none."""
        found = self._conn.execute(update(users).where(users.c.name == name).values(**values))
        if not found.rowcount:
            raise NotFoundError(f"no user {name!r} (see: postroom user list)")

    def remove_user(self, name: str) -> None:
        """The user, its API tokens and its sessions; NotFoundError when there is none."""
        user_id = self._conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            raise NotFoundError(f"no user {name!r} (see: postroom user list)")
        self._conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id))
        self._conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        self._conn.execute(delete(users).where(users.c.id == user_id))

    def admin_count(self) -> int:
        return int(
            self._conn.execute(
                select(func.count()).select_from(users).where(users.c.role == Role.ADMIN.value)
            ).scalar_one()
        )

    # -- API tokens --------------------------------------------------------------------

    def add_token(self, user_id: int, name: str | None, token_hash: str, now: datetime) -> int:
        return int(
            self._conn.execute(
                insert(api_tokens)
                .values(user_id=user_id, name=name, token_hash=token_hash, created_at=now)
                .returning(api_tokens.c.id)
            ).scalar_one()
        )

    def tokens(self, user: str | None = None, token_id: int | None = None) -> list[TokenRecord]:
        """Tokens (revoked ones included), oldest first; of one user or one id if given."""
        query = select(*_TOKEN_COLUMNS).join(users, users.c.id == api_tokens.c.user_id)
        if user is not None:
            query = query.where(users.c.name == user)
        if token_id is not None:
            query = query.where(api_tokens.c.id == token_id)
        rows = self._conn.execute(query.order_by(api_tokens.c.id))
        return [TokenRecord(**row._mapping) for row in rows]

    def revoke_token(self, token_id: int, now: datetime) -> None:
        """Revoked from ``now`` (a token revoked already keeps its first time)."""
        self._conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def token_use(self, token_hash: str) -> TokenUse | None:
        """The holder of a token that is not revoked (a removed user's are deleted)."""
        row = self._conn.execute(
            select(*_PRINCIPAL_COLUMNS, api_tokens.c.id, api_tokens.c.last_used_at)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        ).first()
        return None if row is None else TokenUse(row.id, _principal(row), row.last_used_at)

    def touch_token(self, token_id: int, now: datetime, unless_since: datetime) -> None:
        """``last_used_at`` = now, unless it is ``unless_since`` or later already."""
        used = api_tokens.c.last_used_at
        self._conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, or_(used.is_(None), used < unless_since))
            .values(last_used_at=now)
        )

    # -- web sessions ------------------------------------------------------------------

    def add_session(
        self, user_id: int, secret_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        self._conn.execute(
            insert(web_sessions).values(
                user_id=user_id,
                secret_hash=secret_hash,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )

    def session_use(self, secret_hash: str) -> SessionUse | None:
        row = self._conn.execute(
            select(
                *_PRINCIPAL_COLUMNS,
                web_sessions.c.id,
                web_sessions.c.last_seen_at,
                web_sessions.c.expires_at,
            )
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.secret_hash == secret_hash)
        ).first()
        if row is None:
            return None
        return SessionUse(row.id, _principal(row), row.last_seen_at, row.expires_at)

    def touch_session(self, session_id: int, now: datetime, unless_since: datetime) -> None:
        seen = web_sessions.c.last_seen_at
        self._conn.execute(
            update(web_sessions)
            .where(web_sessions.c.id == session_id, seen < unless_since)
            .values(last_seen_at=now)
        )

    def end_sessions_of(self, name: str) -> None:
        """Every session of the user (its password changed: a stolen cookie ends too)."""
        user_id = select(users.c.id).where(users.c.name == name).scalar_subquery()
        self._conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

    def end_session(self, secret_hash: str) -> None:
        self._conn.execute(delete(web_sessions).where(web_sessions.c.secret_hash == secret_hash))

    def end_sessions_idle_since(self, idle_since: datetime, now: datetime) -> None:
        """Sessions past either expiry: idle since before ``idle_since``, or expired."""
        self._conn.execute(
            delete(web_sessions).where(
                or_(web_sessions.c.last_seen_at < idle_since, web_sessions.c.expires_at <= now)
            )
        )

    # -- the first admin's sign-up -----------------------------------------------------

    def replace_signup(self, token_hash: str, now: datetime, expires_at: datetime) -> None:
        """The one sign-up token: every earlier unused one is gone."""
        self._conn.execute(delete(signup_tokens).where(signup_tokens.c.used_at.is_(None)))
        self._conn.execute(
            insert(signup_tokens).values(
                token_hash=token_hash, created_at=now, expires_at=expires_at
            )
        )

    def use_signup(self, token_hash: str, now: datetime) -> bool:
        """Marks the token used if it is unused and unexpired; whether it was."""
        used = self._conn.execute(
            update(signup_tokens)
            .where(
                and_(
                    signup_tokens.c.token_hash == token_hash,
                    signup_tokens.c.used_at.is_(None),
                    signup_tokens.c.expires_at > now,
                )
            )
            .values(used_at=now)
        ).rowcount
        return bool(used == 1)
