"""OAuth2 access tokens for a mailbox: refreshed before they expire, a rotated refresh token
saved at once, a revoked grant told as the channel's ``authentication`` failure with the way
out ("sign in again").

The HTTP exchange is `postroom.net.oauth` (passed in as ``refresh``, so a test or bootstrap
chooses it); where the tokens live is a `TokenStore`, whose tokens are sealed
(`credentials.SecretBox`) by its implementation: this module sees them only as `Secret`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from postroom.clock import utcnow
from postroom.credentials import Secret
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.oauth import GrantProblem, Provider, TokenError, Tokens

REFRESH_BEFORE = timedelta(minutes=5)
"""An access token this close to its expiry is refreshed first."""


@dataclass(frozen=True, slots=True)
class StoredTokens:
    refresh_token: Secret | None = field(repr=False)
    access_token: Secret | None = field(default=None, repr=False)
    expires: datetime | None = None


class TokenStore(Protocol):
    def load(self) -> StoredTokens: ...

    def save(self, tokens: StoredTokens) -> None:
        """Keep these tokens (sealed), committed before the access token is used."""
        ...


Refresh = Callable[[Provider, str, str | None, str], Tokens]
"""`postroom.net.oauth.refresh` or a stand-in: (provider, client id, secret, refresh token)."""


class TokenKeeper:
    """The access token of one channel (or SMTP server), kept fresh."""

    def __init__(
        self,
        name: str,
        endpoint: Provider,
        client_id: str,
        client_secret: str | None,
        store: TokenStore,
        refresh: Refresh,
        clock: Callable[[], datetime] = utcnow,
        sign_in: str | None = None,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.client_id = client_id
        self._client_secret = client_secret
        self.store = store
        self._refresh = refresh
        self.clock = clock
        self.sign_in = sign_in or f"postroom channel authorize {name}"
        """The command that signs in again (in the message of a revoked grant)."""

    def __repr__(self) -> str:
        return f"<TokenKeeper {self.name} {self.endpoint.name}>"

    def access_token(self) -> Secret:
        """A valid access token: the stored one while it lasts, else a refreshed one (a
        rotated refresh token stored first). `ConnectionFailure` ``authentication`` when
        there is no grant or it was revoked."""
        now = self.clock()
        stored = self.store.load()
        if stored.access_token and stored.expires and stored.expires - now > REFRESH_BEFORE:
            return stored.access_token
        if stored.refresh_token is None:
            raise ConnectionFailure(
                FailureClass.AUTHENTICATION,
                f"{self.name}: OAuth2: no refresh token is stored (not signed in yet): "
                f"sign in: {self.sign_in}",
            )
        used = stored.refresh_token.reveal()
        try:
            tokens = self._refresh(self.endpoint, self.client_id, self._client_secret, used)
        except TokenError as exc:
            if exc.problem is GrantProblem.REVOKED:
                # Another process may have rotated the refresh token meanwhile: its access
                # token is as good as ours would have been.
                again = self.store.load()
                if (
                    again.refresh_token is not None
                    and again.refresh_token.reveal() != used
                    and again.access_token is not None
                    and again.expires is not None
                    and again.expires > self.clock()
                ):
                    return again.access_token
                raise self._sign_in(f"the grant was revoked or has expired ({exc})") from None
            raise ConnectionFailure(
                FailureClass.AUTHENTICATION,
                f"{self.name}: the token endpoint refused the refresh: {exc}; check the "
                "client id, its secret and the scopes",
            ) from None
        rotated = Secret(tokens.refresh_token) if tokens.refresh_token else stored.refresh_token
        access = Secret(tokens.access_token)
        self.store.save(
            StoredTokens(rotated, access, now + timedelta(seconds=max(0, tokens.expires_in)))
        )
        return access

    def _sign_in(self, why: str) -> ConnectionFailure:
        return ConnectionFailure(
            FailureClass.AUTHENTICATION,
            f"{self.name}: OAuth2: {why}: sign in again: {self.sign_in}",
        )
