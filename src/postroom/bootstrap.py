"""The composition root: settings -> storage, adapters (chosen here), services; built once
per entrypoint (a command, a worker process).

Each part is built, and its modules imported, on first use: `postroom ingest` in an MTA
pipe starts once per message and needs the storage and the ingest service only, not the
connection checks, the mailbox and SMTP adapters or the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from postroom.errors import UserError
from postroom.settings_values import SettingsValues, read_settings
from postroom.storage import home as data_folder

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from postroom.credentials import SecretBox
    from postroom.ports.mailbox import MailboxSource
    from postroom.services.accounts import AccountService
    from postroom.services.channels import ChannelService
    from postroom.services.grants import Grants
    from postroom.services.ingest import IngestService
    from postroom.services.items import ItemService
    from postroom.services.mailbox_access import MailboxAccess, SourceFactory
    from postroom.services.messages import MessageService
    from postroom.services.outbox import OutboxService
    from postroom.services.overview import OverviewService
    from postroom.services.poll import PollService
    from postroom.services.poll_idle import IdleWatch
    from postroom.services.quarantine import QuarantineService
    from postroom.services.reply import ReplyService
    from postroom.services.routes import RouteService
    from postroom.services.scheduler import Scheduler
    from postroom.services.send import OutboxSender
    from postroom.services.servers import ServerService
    from postroom.services.users import UserService
    from postroom.storage.blobs import FileBlobStore
    from postroom.storage.unit import Storage


@dataclass
class App:
    settings: SettingsValues = field(default_factory=read_settings)
    """`Settings` (the pydantic model) or, read without it, its values (settings_values.py)."""
    migrate: bool = True
    """May create or upgrade the schema (an empty database or Postroom's own); a read-only
    command says "run: postroom db upgrade" instead (storage/database.py)."""

    @cached_property
    def home(self) -> Path:
        """The data folder: made private, or tightened when found open (storage/home.py)."""
        return data_folder.prepare(self.settings.home)

    @cached_property
    def engine(self) -> Engine:
        from postroom.storage.database import ensure_schema, make_engine

        _ = self.home
        engine = make_engine(self.settings.effective_database_url)
        # Checked always; upgraded only when this entrypoint may (storage/database.py).
        return ensure_schema(engine, may_migrate=self.migrate)

    @cached_property
    def blobs(self) -> FileBlobStore:
        from postroom.storage.blobs import FileBlobStore

        _ = self.home
        return FileBlobStore(self.settings.blob_dir)

    @cached_property
    def storage(self) -> Storage:
        """The database and the blob store behind units of work, as services hold them."""
        from postroom.storage.unit import Storage

        return Storage(self.engine, self.blobs)

    @cached_property
    def secrets(self) -> SecretBox:
        from postroom.credentials import SecretBox

        return SecretBox.for_home(self.home, self.settings.secret_key)

    # -- mail and work items (ingest, items, replies, quarantine) ---------------------------

    @cached_property
    def ingest(self) -> IngestService:
        from postroom.mime.isolated import IsolatedParser
        from postroom.services.ingest import IngestService

        return IngestService(
            self.storage,
            self.settings.handler_settings(),
            self.settings.default_sender,
            self.settings.templates_dir,
            parser=IsolatedParser(self.settings.message_seconds),
        )

    @cached_property
    def replies(self) -> ReplyService:
        from postroom.services.reply import ReplyService

        return ReplyService(self.storage, self.settings.default_sender)

    @cached_property
    def quarantine(self) -> QuarantineService:
        from postroom.services.quarantine import QuarantineService

        return QuarantineService(self.storage, self.ingest)

    @cached_property
    def messages(self) -> MessageService:
        from postroom.mime.isolated import IsolatedParser
        from postroom.services.messages import MessageService

        return MessageService(self.storage, IsolatedParser(self.settings.message_seconds, size=1))

    # -- polling and sending (the mailbox and SMTP adapters are chosen here) ---------------

    @cached_property
    def grants(self) -> Grants:
        """OAuth2 sign-ins of channels and SMTP servers (tokens over HTTP, net/oauth.py)."""
        from postroom.services.grants import Grants

        return Grants(self.storage, self.secrets)

    @cached_property
    def mailbox_sources(self) -> SourceFactory:
        """The mailbox adapter by URL scheme, an OAuth2 channel logging in with a fresh
        access token each time it connects."""
        from postroom.services.mailbox_access import with_access_tokens

        return with_access_tokens(lambda: self.grants, mailbox_source)

    @cached_property
    def poller(self) -> PollService:
        from postroom.services.poll import PollService
        from postroom.services.poll_leases import lease_owner

        return PollService(
            self.storage,
            self.ingest,
            self.secrets,
            lease_owner(),
            self.mailbox_sources,
            batch_messages=self.settings.poll_batch,
            max_message_bytes=self.settings.max_message_bytes,
        )

    def idle_watch(self) -> IdleWatch | None:
        """IMAP IDLE for fast pickup (None with ``POSTROOM_IDLE_CONNECTIONS=0``)."""
        from postroom.services.poll_idle import IdleWatch

        if not self.settings.idle_connections:
            return None
        return IdleWatch(
            self.storage,
            self.secrets,
            self.mailbox_sources,
            self.settings.idle_connections,
            self.settings.max_message_bytes,
        )

    @cached_property
    def sender(self) -> OutboxSender:
        from postroom.outbound import SmtplibConnector
        from postroom.services.send import OutboxSender

        return OutboxSender(
            self.storage,
            self.secrets,
            SmtplibConnector(),
            connections=self.settings.smtp_connections,
            tokens=lambda record: self.grants.server_token(record) if record.oauth_owner else None,
        )

    # -- configuration and the outbox (channels, SMTP servers, routes, users) --------------

    @cached_property
    def channels(self) -> ChannelService:
        from postroom.services.channels import ChannelService
        from postroom.services.checks import check_stored

        return ChannelService(
            self.storage,
            self.secrets,
            check_stored,
            unrouted=self.settings.unrouted_policy,
            grants=self.grants,
        )

    @cached_property
    def servers(self) -> ServerService:
        from postroom.services.checks import check_stored
        from postroom.services.servers import ServerService

        return ServerService(self.storage, self.secrets, check_stored, grants=self.grants)

    @cached_property
    def routes(self) -> RouteService:
        from postroom.services.routes import RouteService

        return RouteService(self.storage)

    @cached_property
    def users(self) -> UserService:
        from postroom.services.users import UserService

        return UserService(self.storage)

    @cached_property
    def accounts(self) -> AccountService:
        """Sign-in: passwords, API tokens, browser sessions, the first admin's sign-up."""
        from postroom.services.accounts import AccountService

        return AccountService(self.storage)

    @cached_property
    def outbox(self) -> OutboxService:
        from postroom.services.outbox import OutboxService

        return OutboxService(self.storage, self.sender)

    @cached_property
    def overview(self) -> OverviewService:
        """Channels, servers and queues at a glance: `postroom status`, `/metrics`."""
        from postroom.services.overview import OverviewService

        return OverviewService(self.storage)

    def upgrade_schema(self) -> str:
        """`postroom db upgrade`: the schema to its newest revision (returned), on an engine
        of its own (`engine` would make the schema first)."""
        from postroom.storage.database import ensure_schema, head_revision, make_engine

        _ = self.home  # made private (storage/home.py)
        # Only an empty database or Postroom's own is upgraded (another one is refused).
        ensure_schema(make_engine(self.settings.effective_database_url))
        return head_revision()

    def items(self, actor: str = "cli") -> ItemService:
        """Agents' changes to work items, recorded as made by ``actor``."""
        from postroom.services.items import ItemService

        return ItemService(self.storage, actor=actor)

    def scheduler(self, max_connections: int = 8, processes: int = 1) -> Scheduler:
        from postroom.services.scheduler import Scheduler

        return Scheduler(self.storage, self.poller, max_connections, processes)


def mailbox_source(access: MailboxAccess) -> MailboxSource:
    """The mailbox adapter for a channel, by its URL's scheme: where a new mailbox protocol
    (IMAP) is plugged in."""
    from postroom.mailboxes import Pop3MailboxSource

    if access.url.protocol == "pop3":
        return Pop3MailboxSource(
            access.url,
            access.password,
            authzid=access.authzid,
            mechanism=access.mechanism,
            ca_file=access.ca_file,
            timeout=access.timeout,
            max_message_bytes=access.max_message_bytes,
        )
    if access.url.protocol == "imap":
        from postroom.mailboxes.imap import ImapMailboxSource

        return ImapMailboxSource(
            access.url,
            access.password,
            authzid=access.authzid,
            mechanism=access.mechanism,
            ca_file=access.ca_file,
            timeout=access.timeout,
            max_message_bytes=access.max_message_bytes,
            folder=access.folder,
            after=access.after,
            resume=access.resume,
        )
    raise UserError("input channels take pop3://, pop3s://, imap:// or imaps:// URLs")
