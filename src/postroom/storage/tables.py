"""The schema (SQLAlchemy Core). Changes here need an Alembic revision in migrations/versions.

Columns that take text from a message or a server are `RemoteText` / `RemoteJSON`
(storage/columns.py): unbounded, NUL and lone surrogates replaced on the way in, so that
PostgreSQL stores what SQLite stores. Their indexes are hash indexes on PostgreSQL, and
their unique keys are on an MD5 of the text there: a btree entry stops at ~2.7 KB.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
    text,
)

from postroom.storage.columns import RemoteJSON, RemoteText

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
_HASH_INDEXES: list[Index] = []


def _hash_index(name: str, column: str) -> Index:
    """An index that is a hash index on PostgreSQL (``postgresql_using="hash"``, as the
    migrations make it), that option given only when PostgreSQL creates it: given here, it
    would import the PostgreSQL dialect into every process, a SQLite one's too (a
    `postroom ingest` in an MTA pipe)."""
    index = Index(name, column)
    _HASH_INDEXES.append(index)
    return index


@event.listens_for(metadata, "before_create")
def _hash_on_postgresql(_metadata: MetaData, connection: object, **_kw: object) -> None:
    if getattr(getattr(connection, "dialect", None), "name", None) == "postgresql":
        for index in _HASH_INDEXES:
            index.dialect_kwargs["postgresql_using"] = "hash"


# Times are naive UTC everywhere in the database; the edges convert.

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("email", String(320)),
    Column("role", String(20), nullable=False, default="agent"),
    Column("created_at", DateTime, nullable=False),
    # Argon2id, PHC string format (argon2-cffi); NULL: the user cannot sign in.
    Column("password_hash", String(255)),
)

routes = Table(
    "routes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("context", String(300), nullable=False),
    Column("category", String(300), nullable=False),
    Column("queue", String(200), nullable=False),
    Column("acknowledge", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", String(1000), nullable=False),
    Column("address", String(320)),
    Column("password_enc", Text),
    Column("authzid", String(320)),
    Column("ca_file", String(1000)),
    Column("mechanism", String(20)),
    Column("interval_s", Integer, nullable=False, default=60),
    Column("max_failures", Integer, nullable=False, default=10),
    Column("timeout_s", Integer, nullable=False, default=30),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text),
    Column("failure_count", Integer, nullable=False, default=0),
    Column("last_error_class", String(40)),
    Column("last_error", RemoteText),
    Column("last_error_at", DateTime),
    Column("last_success", DateTime),
    Column("last_poll", DateTime),
    Column("next_poll", DateTime),
    Column("lease_owner", String(100)),
    Column("lease_until", DateTime),
    Column("last_check", RemoteJSON),
    Column("last_check_ok", Boolean),
    Column("smtp_url", String(1000)),
    Column("created_at", DateTime, nullable=False),
    Column("uidl_reuse_seen", Boolean, nullable=False, default=False, server_default=false()),
    # The POP3 server gave a known UIDL to new content: every known UIDL is verified by RETR.
    Column("folder", String(300)),
    # IMAP: the folder polled (NULL: INBOX).
    Column("after", String(1000)),
    # What a poll does with stored mail: delete (NULL), keep, or move:FOLDER (IMAP).
)

smtp_servers = Table(
    "smtp_servers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", String(1000), nullable=False),
    Column("password_enc", Text),
    Column("authzid", String(320)),
    Column("ca_file", String(1000)),
    Column("send_as", Boolean, nullable=False, default=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("timeout_s", Integer, nullable=False, default=30),
    Column("last_check", RemoteJSON),
    Column("last_check_ok", Boolean),
    Column("created_at", DateTime, nullable=False),
    Column("mechanism", String(20)),
    # xoauth2 or oauthbearer with an OAuth2 sign-in (oauth_grants); NULL: PLAIN or LOGIN.
    Column("disabled_reason", Text),
    # Why it is off: "disabled by a user" keeps it off through changes (services/servers.py).
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("raw_sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("content_hash", String(64), index=True),
    Column("message_id", RemoteText),
    Column("channel_id", Integer, ForeignKey("channels.id")),
    Column("source_uid", RemoteText),
    Column("received_at", DateTime, nullable=False),
    Column("status", String(20), nullable=False),
    # stored | handled | unhandled | duplicate | ignored | quarantined
    Column("from_address", RemoteText),
    Column("subject", RemoteText),
    Column("rule", String(4)),
    Column("path", String(100)),
    Column("matched_by", String(20)),
    Column("reason", RemoteText),
    Column("decision", RemoteJSON),
    Column("duplicate_of", Integer, ForeignKey("messages.id")),
    Column("dedupe_key", RemoteText),
    # Message-ID and content hash of a message the handler acted on (NULL otherwise):
    # two processes handling the same message at once cannot both commit (rule D1).
    Column("error", RemoteText),
    Column("attempts", Integer, nullable=False, default=0),
    _hash_index("ix_messages_message_id", "message_id"),
    # Messages today by channel (the overview) read from the index alone.
    Index("ix_messages_received_at", "received_at", "channel_id"),
    # The ledger by status and rule (and channel) read from the index alone (the overview).
    Index("ix_messages_status", "status", "rule", "channel_id"),
    UniqueConstraint("channel_id", "source_uid", "raw_sha256", name="uq_messages_arrival").ddl_if(
        dialect="sqlite"
    ),
    Index(
        "uq_messages_arrival",
        "channel_id",
        func.md5(text("source_uid")),
        "raw_sha256",
        unique=True,
    ).ddl_if(dialect="postgresql"),
    _hash_index("ix_messages_source_uid", "source_uid").ddl_if(dialect="postgresql"),
    Index("uq_messages_dedupe_key", "dedupe_key", unique=True).ddl_if(dialect="sqlite"),
    Index("uq_messages_dedupe_key", func.md5(text("dedupe_key")), unique=True).ddl_if(
        dialect="postgresql"
    ),
)

pop3_oversize = Table(
    # A message too large to retrieve (POSTROOM_MAX_MESSAGE_BYTES): left on the server, not
    # retrieved again nor deleted while listed at this size under a limit up to limit_bytes.
    "pop3_oversize",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    # On PostgreSQL the key is (channel_id, md5(source_uid)), a unique index (migration 0004).
    Column("source_uid", RemoteText, primary_key=True),
    Column("size", BigInteger, nullable=False),
    # size: the LIST size; limit_bytes: the limit it was over.
    Column("limit_bytes", BigInteger, nullable=False),
    Column("reason", RemoteText, nullable=False),
    Column("seen_at", DateTime, nullable=False),
)

imap_folders = Table(
    "imap_folders",
    metadata,
    # How far a channel that keeps its mail has read an IMAP folder: the UIDs up to
    # last_uid under this UIDVALIDITY are settled (stored, known or left for their size).
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("folder", String(300), primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

oauth_grants = Table(
    # An OAuth2 sign-in of one channel or one SMTP server (exactly one of the two ids): the
    # provider and client, and the tokens, sealed (credentials.SecretBox) like passwords.
    "oauth_grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), unique=True),
    Column(
        "smtp_server_id",
        Integer,
        ForeignKey("smtp_servers.id", ondelete="CASCADE"),
        unique=True,
    ),
    Column("provider", String(20), nullable=False),
    # microsoft, google or custom; token_url and device_url: custom's endpoints (NULL: the
    # provider's own); tenant: microsoft's directory (NULL: common).
    Column("tenant", String(200)),
    Column("token_url", String(1000)),
    Column("device_url", String(1000)),
    Column("client_id", String(500), nullable=False),
    Column("client_secret_enc", Text),
    Column("scopes", Text),
    # Space-separated; NULL: the provider's own.
    Column("refresh_token_enc", Text),
    Column("access_token_enc", Text),
    Column("expires_at", DateTime),
    Column("refreshed_at", DateTime),
    Column("created_at", DateTime, nullable=False),
)

work_items = Table(
    "work_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(40), nullable=False, unique=True),
    Column("number", Integer, nullable=False, index=True),
    Column("type", String(10), nullable=False),
    Column("action_no", Integer),
    Column("state", String(20), nullable=False),
    Column("resolution", String(100)),
    Column("queue", String(200)),
    Column("context", String(300)),
    Column("category", String(300)),
    Column("owner", String(200)),
    Column("assignee", String(200)),
    Column("case_id", Integer, ForeignKey("work_items.id")),
    Column("linked_to_id", Integer, ForeignKey("work_items.id")),
    Column("requester", RemoteText),
    Column("subject", RemoteText),
    Column("new_info", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

item_events = Table(
    "item_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("work_item_id", Integer, ForeignKey("work_items.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("field", String(40), nullable=False),
    Column("old", RemoteText),
    Column("new", RemoteText),
    Column("cause", String(20), nullable=False),
    # user | email-handler | system
    Column("actor", String(200)),
    Column("communication_id", Integer, ForeignKey("communications.id")),
    Column("note", RemoteText),
)

communications = Table(
    "communications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("work_item_id", Integer, ForeignKey("work_items.id"), nullable=False, index=True),
    Column("direction", String(10), nullable=False),
    Column("message_row_id", Integer, ForeignKey("messages.id")),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), index=True),
    Column("message_id", RemoteText),
    Column("from_address", RemoteText),
    Column("subject", RemoteText),
    Column("rule", String(4)),
    Column("matched_by", String(20)),
    Column("status", String(20)),
    Column("status_detail", RemoteText),
    Column("created_at", DateTime, nullable=False),
    _hash_index("ix_communications_message_id", "message_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("work_item_id", Integer, ForeignKey("work_items.id")),
    Column("sender", String(320), nullable=False),
    Column("recipients", RemoteJSON, nullable=False),
    Column("first_recipient", RemoteText),
    Column("subject", RemoteText, nullable=False),
    Column("message_id", String(1000), nullable=False, unique=True),
    Column("raw_sha256", String(64), nullable=False),
    # The message itself when it is small (`storage.outbox.INLINE_MAX`): an automated reply
    # is kept in its row, with no blob file to create, flush and read back. NULL: the
    # bytes are the blob named by raw_sha256 (a larger message, or one queued before 0012).
    Column("raw", LargeBinary),
    Column("status", String(20), nullable=False),
    # queued | sending | delivering | sent | failed | unknown | cancelled | bounced
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", RemoteText),
    Column("next_attempt", DateTime),
    Column("recipient_results", RemoteJSON),
    Column("smtp_server", String(200)),
    Column("lease_until", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Index("ix_outbox_due", "status", "next_attempt"),
    # The outbox by status with its attempts, and what each server sent today (the overview).
    Index("ix_outbox_status", "status", "sent_at", "smtp_server", "attempts"),
    _hash_index("ix_outbox_first_recipient", "first_recipient"),
)

settings_kv = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Sign-in (services/accounts.py): every secret is stored as its SHA-256 (hex), never itself.

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(200)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
    Column("revoked_at", DateTime),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

signup_tokens = Table(
    "signup_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
)

# Cumulative duration tallies for /metrics (storage/metrics.py): b0..b11 count the
# observations of each fixed bucket (bounds in storage/metrics.py; b11 is above them all).
BUCKETS = 12


def _buckets() -> list[Column[int]]:
    return [Column(f"b{i}", BigInteger, nullable=False, default=0) for i in range(BUCKETS)]


poll_tallies = Table(
    "poll_tallies",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("outcome", String(40), primary_key=True),
    # ok (mail moved), idle (nothing to do), or the failure's class
    Column("count", BigInteger, nullable=False, default=0),
    Column("seconds", Float, nullable=False, default=0.0),
    *_buckets(),
)

handling_tallies = Table(
    "handling_tallies",
    metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
    # the arrival's channel id (0: none), so that batches of two channels share no row
    Column("count", BigInteger, nullable=False, default=0),
    Column("seconds", Float, nullable=False, default=0.0),
    *_buckets(),
)
