"""OAuth2 sign-ins of channels and SMTP servers as stored: the settings a person gives
(`OAuthOptions`, judged and merged with what is stored), signing in (a refresh token from
the environment, or the device-code flow), and a fresh access token at connect time.

The tokens are sealed (`SecretBox`) in storage and opened only here, to refresh or to hand
an access token to a login. A sign-in's tokens are stored in one write once it succeeded:
a sign-in interrupted (Ctrl-C) leaves the stored sign-in as it was. A refresh that rotates
the refresh token commits the new one before the access token is used (`TokenKeeper`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from postroom.clock import utcnow
from postroom.credentials import Secret, SecretBox
from postroom.errors import UserError
from postroom.net import oauth
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.oauth import DeviceCode, GrantProblem, Provider, TokenError, Tokens
from postroom.net.sasl import AuthMechanism
from postroom.records.config import ServerRecord
from postroom.records.oauth import GrantOwner, GrantRecord, GrantSettings
from postroom.services.oauth import StoredTokens, TokenKeeper
from postroom.storage.unit import Storage, UnitOfWork

OAUTH_MECHANISMS = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)
"""The login mechanisms that take an access token."""
_COMMAND = {GrantOwner.CHANNEL: "channel", GrantOwner.SMTP: "smtp"}


def sign_in_command(owner: GrantOwner, name: str) -> str:
    """The command that signs ``name`` in (the way out of a missing or revoked grant)."""
    return f"postroom {_COMMAND[owner]} authorize {name}"


def oauth_mechanism(mechanism: str | None) -> bool:
    """The stored mechanism logs in with an access token (XOAUTH2, OAUTHBEARER)."""
    return mechanism in {m.value for m in OAUTH_MECHANISMS}


@dataclass(frozen=True, slots=True)
class OAuthOptions:
    """What `--oauth2 …` and its options give (None: not given; for `set`, kept)."""

    provider: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = field(default=None, repr=False)
    tenant: str | None = None
    """``microsoft``: the directory ('' goes back to ``common``)."""
    token_url: str | None = None
    device_url: str | None = None
    scopes: tuple[str, ...] | None = None
    refresh_token: Secret | None = field(default=None, repr=False)
    """A refresh token to sign in with at once (from ``--refresh-token-env``)."""

    @property
    def given(self) -> bool:
        return any(
            value is not None
            for value in (
                self.provider,
                self.client_id,
                self.client_secret,
                self.tenant,
                self.token_url,
                self.device_url,
                self.scopes,
                self.refresh_token,
            )
        )


class Exchange(Protocol):
    """The token endpoint's side (`postroom.net.oauth`, or a stand-in in tests)."""

    def refresh(
        self, endpoint: Provider, client_id: str, client_secret: str | None, refresh_token: str
    ) -> Tokens: ...

    def start_device(self, endpoint: Provider, client_id: str) -> DeviceCode: ...

    def poll_device(
        self, endpoint: Provider, client_id: str, client_secret: str | None, device: DeviceCode
    ) -> Tokens: ...


class HttpExchange:
    """`Exchange` over HTTP (`postroom.net.oauth`)."""

    def refresh(
        self, endpoint: Provider, client_id: str, client_secret: str | None, refresh_token: str
    ) -> Tokens:
        return oauth.refresh(endpoint, client_id, client_secret, refresh_token)

    def start_device(self, endpoint: Provider, client_id: str) -> DeviceCode:
        return oauth.start_device(endpoint, client_id)

    def poll_device(
        self, endpoint: Provider, client_id: str, client_secret: str | None, device: DeviceCode
    ) -> Tokens:
        return oauth.poll_device(endpoint, client_id, client_secret, device)


class DeviceProgress(Protocol):
    """What the device-code sign-in tells the person (the CLI prints it on stderr)."""

    def code(self, verification_uri: str, user_code: str, expires_in: int) -> None:
        """Open this page and enter this code (within ``expires_in`` seconds)."""

    def waiting(self, seconds_left: int) -> None:
        """Not signed in yet; asked again shortly."""


@dataclass(frozen=True, slots=True)
class Target:
    """Whose sign-in: a channel or an SMTP server, by id and name."""

    owner: GrantOwner
    owner_id: int
    name: str

    @property
    def sign_in(self) -> str:
        return sign_in_command(self.owner, self.name)


class Grants:
    """OAuth2 sign-ins as the channel and server services use them."""

    def __init__(
        self,
        storage: Storage,
        secrets: SecretBox,
        exchange: Exchange | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.secrets = secrets
        self.exchange = exchange or HttpExchange()
        self.clock = clock
        self._sleep = sleep
        self._monotonic = monotonic

    # -- settings ---------------------------------------------------------------------------

    def settings(
        self, before: GrantRecord | None, given: OAuthOptions
    ) -> tuple[GrantSettings, bool]:
        """The sign-in's settings with ``given`` applied to ``before`` (None: a new one),
        judged whole; and whether its tokens still hold (the same provider and client)."""
        provider = given.provider or (before.provider if before else None)
        if provider is None:
            raise UserError("give the provider: --oauth2 microsoft, google or custom")
        same = before is not None and before.provider == provider
        client_id = given.client_id or (before.client_id if before else None)
        if not client_id:
            raise UserError("--oauth2 needs --client-id ID (the application's id)")

        def kept(value: str | None, old: str | None) -> str | None:
            if value is not None:
                return value.strip() or None
            return old if same else None

        tenant = kept(given.tenant, before.tenant if before else None)
        token_url = kept(given.token_url, before.token_url if before else None)
        device_url = kept(given.device_url, before.device_url if before else None)
        scopes = (
            given.scopes if given.scopes is not None else (before.scopes if same and before else ())
        )
        _bounded(client_id, token_url, device_url, scopes)
        oauth.provider(provider, token_url, device_url, tuple(scopes), tenant)  # judged
        if given.client_secret is not None:
            secret = (
                self.secrets.seal(given.client_secret) if given.client_secret.reveal() else None
            )
        else:
            secret = before.client_secret_enc if before and same else None
        settings = GrantSettings(
            provider, client_id, tenant, token_url, device_url, secret, tuple(scopes)
        )
        keep = before is not None and (
            (before.provider, before.client_id, before.tenant, before.token_url)
            == (provider, client_id, tenant, token_url)
        )
        return settings, keep

    def store(
        self,
        uow: UnitOfWork,
        target: Target,
        settings: GrantSettings,
        *,
        keep_tokens: bool,
        refresh_token: Secret | None,
    ) -> GrantRecord:
        """Keep the settings (and a refresh token given with them) in ``uow``."""
        grant = uow.grants.put(
            target.owner, target.owner_id, settings, self.clock(), keep_tokens=keep_tokens
        )
        if refresh_token is None:
            return grant
        uow.grants.save_tokens(grant.id, self.secrets.seal(refresh_token), None, None, self.clock())
        stored = uow.grants.get(target.owner, target.owner_id)
        assert stored is not None
        return stored

    # -- tokens -----------------------------------------------------------------------------

    def access_token(self, target: Target) -> Secret:
        """A valid access token for ``target``'s login, refreshed first when it is about to
        expire (a rotated refresh token committed before it is returned). `ConnectionFailure`
        ``authentication`` (with the sign-in command) without a sign-in or after a revoked
        grant; ``connection`` when the token endpoint cannot be reached."""
        with self.storage.reading() as uow:
            grant = uow.grants.get(target.owner, target.owner_id)
        if grant is None:
            raise ConnectionFailure(
                FailureClass.AUTHENTICATION,
                f"{target.name}: OAuth2 is not set up: {_COMMAND[target.owner]} set "
                f"{target.name} --oauth2 PROVIDER --client-id ID",
            )
        keeper = TokenKeeper(
            target.name,
            self.endpoint(grant),
            grant.client_id,
            self._secret(grant),
            _GrantStore(self.storage, self.secrets, grant, self.clock),
            self.exchange.refresh,
            self.clock,
            sign_in=target.sign_in,
        )
        return keeper.access_token()

    def server_token(self, record: ServerRecord) -> Secret | None:
        """The access token that logs in to the server sending one message (a channel's
        own, or a configured one), fresh as it connects; None: it logs in by password."""
        if record.oauth_owner is None or record.oauth_owner_id is None:
            return None
        owner = GrantOwner(record.oauth_owner)
        name = record.name.partition(":")[2]
        return self.access_token(Target(owner, record.oauth_owner_id, name))

    def endpoint(self, grant: GrantRecord) -> Provider:
        return oauth.provider(
            grant.provider, grant.token_url, grant.device_url, grant.scopes, grant.tenant
        )

    def sign_in(
        self, target: Target, refresh_token: Secret | None, progress: DeviceProgress | None
    ) -> None:
        """Sign ``target`` in: with ``refresh_token`` (checked by one refresh), else by the
        device-code flow told through ``progress``. The tokens are stored once it worked."""
        with self.storage.reading() as uow:
            grant = uow.grants.get(target.owner, target.owner_id)
        if grant is None:
            raise UserError(
                f"{target.name} does not use OAuth2: {_COMMAND[target.owner]} set "
                f"{target.name} --oauth2 PROVIDER --client-id ID first"
            )
        endpoint = self.endpoint(grant)
        secret = self._secret(grant)
        given: Secret | None = refresh_token
        try:
            if refresh_token is not None:
                tokens = self._refreshed(target, endpoint, grant, secret, refresh_token)
            elif progress is None:
                raise UserError("give --refresh-token-env VAR, or sign in on a terminal")
            else:
                tokens = self._device(endpoint, grant.client_id, secret, progress)
        except ConnectionFailure as exc:
            raise UserError(
                f"the sign-in could not reach the token endpoint ({exc}); check the "
                "network and the endpoint's URL, then sign in again"
            ) from None
        except TokenError as exc:
            raise UserError(f"the token endpoint refused the sign-in: {exc}") from None
        rotated = Secret(tokens.refresh_token) if tokens.refresh_token else given
        if rotated is None:
            raise UserError(
                f"{endpoint.token_url}: the sign-in gave no refresh token: add the scope that "
                "grants one (microsoft: offline_access) with --scope"
            )
        now = self.clock()
        with self.storage.writing() as uow:
            uow.grants.save_tokens(
                grant.id,
                self.secrets.seal(rotated),
                self.secrets.seal(Secret(tokens.access_token)),
                now + timedelta(seconds=max(0, tokens.expires_in)),
                now,
            )

    def _refreshed(
        self,
        target: Target,
        endpoint: Provider,
        grant: GrantRecord,
        secret: str | None,
        refresh_token: Secret,
    ) -> Tokens:
        try:
            return self.exchange.refresh(endpoint, grant.client_id, secret, refresh_token.reveal())
        except TokenError as exc:
            if exc.problem is GrantProblem.REVOKED:
                raise UserError(
                    f"the refresh token given is revoked or expired ({exc}): sign in with "
                    f"{target.sign_in} (without --refresh-token-env)"
                ) from None
            raise UserError(f"the token endpoint refused the refresh token: {exc}") from None

    def _device(
        self, endpoint: Provider, client_id: str, secret: str | None, progress: DeviceProgress
    ) -> Tokens:
        device = self.exchange.start_device(endpoint, client_id)
        progress.code(device.verification_uri, device.user_code, device.expires_in)
        # The endpoint's figures, bounded: a sign-in waits an hour at most, a minute between
        # polls at most.
        deadline = self._monotonic() + min(device.expires_in, _MAX_SIGN_IN)
        interval = float(min(max(1, device.interval), _MAX_INTERVAL))
        while True:
            self._sleep(interval)
            try:
                return self.exchange.poll_device(endpoint, client_id, secret, device)
            except TokenError as exc:
                if exc.problem is not GrantProblem.PENDING:
                    raise UserError(f"the sign-in did not complete: {exc}") from None
                if "slow_down" in str(exc):
                    interval = min(interval + 5, _MAX_INTERVAL)  # RFC 8628 §3.5
            left = int(deadline - self._monotonic())
            if left <= 0:
                raise UserError("the sign-in code expired before it was entered: run it again")
            progress.waiting(left)

    def _secret(self, grant: GrantRecord) -> str | None:
        if grant.client_secret_enc is None:
            return None
        return self.secrets.open(grant.client_secret_enc).reveal()


def _bounded(
    client_id: str, token_url: str | None, device_url: str | None, scopes: tuple[str, ...]
) -> None:
    """What the columns hold, and no spaces or control characters inside one value."""
    if len(client_id) > _MAX_CLIENT_ID or not _word(client_id):
        raise UserError(
            f"--client-id takes the application's id: one word of at most {_MAX_CLIENT_ID} "
            "printable characters"
        )
    for option, url in (("--token-url", token_url), ("--device-url", device_url)):
        if url is not None and (len(url) > _MAX_URL or not _word(url)):
            raise UserError(f"{option} takes one URL of at most {_MAX_URL} characters")
    if len(scopes) > _MAX_SCOPES or not all(len(s) <= _MAX_SCOPE and _word(s) for s in scopes):
        raise UserError(
            f"--scope takes one scope each (no spaces; at most {_MAX_SCOPES} of "
            f"{_MAX_SCOPE} characters)"
        )


def _word(text: str) -> bool:
    return bool(text) and text.isprintable() and not any(c.isspace() for c in text)


_MAX_SIGN_IN = 3600
"""Seconds a device-code sign-in waits for the person at most."""
_MAX_INTERVAL = 60
"""Seconds between two polls of the token endpoint at most (whatever it asks)."""
_MAX_CLIENT_ID = 500
_MAX_URL = 1000
_MAX_SCOPES = 50
_MAX_SCOPE = 300


@dataclass(frozen=True, slots=True)
class _GrantStore:
    """A `TokenStore` over one stored grant: each save is its own committed write."""

    storage: Storage
    secrets: SecretBox
    grant: GrantRecord
    clock: Callable[[], datetime]

    def load(self) -> StoredTokens:
        with self.storage.reading() as uow:
            grant = uow.grants.get(self.grant.owner, self.grant.owner_id)
        if grant is None:
            return StoredTokens(None)
        return StoredTokens(
            self._open(grant.refresh_token_enc),
            self._open(grant.access_token_enc),
            grant.expires_at,
        )

    def save(self, tokens: StoredTokens) -> None:
        with self.storage.writing() as uow:
            uow.grants.save_tokens(
                self.grant.id,
                self.secrets.seal(tokens.refresh_token) if tokens.refresh_token else None,
                self.secrets.seal(tokens.access_token) if tokens.access_token else None,
                tokens.expires,
                self.clock(),
            )

    def _open(self, sealed: str | None) -> Secret | None:
        return self.secrets.open(sealed) if sealed else None
