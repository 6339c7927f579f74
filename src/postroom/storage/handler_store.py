"""`HandlerContext` over the database: the read-only questions the Email Handler asks.

`HandlerStore` is a unit of work's ``uow.handler``: it reads what a long-running ingest
caches (routes, own addresses, channel addresses) and makes the context of one message,
which within a batch's unit also sees the messages handled earlier in the batch
(`BatchSeen`, owned by the unit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from postroom.domain.ports import OWN_MESSAGE_ID_PREFIX
from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView
from postroom.records.statuses import MessageStatus
from postroom.storage.batch_copies import first_copies
from postroom.storage.channels import ChannelRepository
from postroom.storage.deferred import DeferredWrites
from postroom.storage.tables import channels, communications, messages, outbox, routes
from postroom.storage.workitems import ItemRepository

_OWN_ID = select(outbox.c.id).where(outbox.c.message_id == bindparam("mid")).limit(1)
_OUTBOUND = (
    select(communications.c.id)
    .where(communications.c.message_id == bindparam("mid"), communications.c.direction == "out")
    .order_by(communications.c.id)
    .limit(1)
)
_AUTOMATED = ("acknowledgement", "address-not-configured")
"""The outbox kinds the loop guard counts (`auto_replies_since`)."""
_AUTO_REPLIES = select(func.count()).where(
    outbox.c.first_recipient == bindparam("address"),
    outbox.c.kind.in_(_AUTOMATED),
    outbox.c.created_at >= bindparam("since"),
)
_AUTO_REPLIES_TO = (
    select(outbox.c.first_recipient, func.count())
    .where(
        outbox.c.first_recipient.in_(bindparam("addresses", expanding=True)),
        outbox.c.kind.in_(_AUTOMATED),
        outbox.c.created_at >= bindparam("since"),
    )
    .group_by(outbox.c.first_recipient)
)
_IN_CHUNK = 500
"""Addresses per ``IN (...)``: well under every engine's limit of bound parameters."""
_DUP_BASE = select(messages.c.id).where(
    messages.c.content_hash == bindparam("hash"),
    messages.c.id != bindparam("exclude"),
    messages.c.status != MessageStatus.QUARANTINED.value,
)
_DUP_WITH_ID = (
    _DUP_BASE.where(messages.c.message_id == bindparam("mid")).order_by(messages.c.id).limit(1)
)
_DUP_WITHOUT_ID = _DUP_BASE.where(messages.c.message_id.is_(None)).order_by(messages.c.id).limit(1)
_KEYS_BASE = select(messages.c.dedupe_key).where(
    messages.c.content_hash == bindparam("hash"),
    messages.c.id != bindparam("exclude"),
    messages.c.dedupe_key.is_not(None),
)
_KEYS_WITH_ID = _KEYS_BASE.where(messages.c.message_id == bindparam("mid"))
_KEYS_WITHOUT_ID = _KEYS_BASE.where(messages.c.message_id.is_(None))
_ARRIVAL = (
    select(channels.c.address)
    .select_from(messages.join(channels, messages.c.channel_id == channels.c.id))
    .where(messages.c.id == bindparam("row"))
)

_ROUTE_DIGEST = 12
"""Hex characters of SHA-256 per route address in a `dedupe_key`."""
_KEY_ROUTES = (1100 - 65) // (_ROUTE_DIGEST + 1)
"""Routes a key lists at most; past that it says ``*`` (every route). The column is text
now (migration 0004), but keys written with this bound, and ``*`` in them, stay readable."""


def dedupe_key(message_id: str | None, content_hash: str, routes: Iterable[str]) -> str:
    """The unique key of a message the handler acted on, for the routes it acted for
    (`Decision.routes`): the same message cannot be acted on twice for the same routes,
    even by two processes at once (the second commit fails, then sees D1), while copies
    for other routes can (`postroom.domain.copies`).

    ``SHA-256(Message-ID|content hash)|d1 d2 …``: each route is a fixed-width digest of its
    address, sorted, so that a key of many routes still fits its column and any Message-ID
    does; `routes_handled` reads the routes back. Keys stored before routes were part of
    them are ``Message-ID|content hash`` and count as handled for every route.
    """
    digests = sorted({_route_digest(route) for route in routes})
    listed = " ".join(digests) if len(digests) <= _KEY_ROUTES else "*"
    return f"{_message_digest(message_id, content_hash)}|{listed}"


def _message_digest(message_id: str | None, content_hash: str) -> str:
    text = f"{message_id or ''}|{content_hash}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _route_digest(route: str) -> str:
    text = route.strip().lower().encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:_ROUTE_DIGEST]


def _routes_in_key(key: str, message_id: str | None, content_hash: str) -> frozenset[str] | None:
    """The route digests a key lists; None when it stands for every route (an old key, a
    key of too many routes, or one this version cannot read)."""
    prefix = f"{_message_digest(message_id, content_hash)}|"
    if not key.startswith(prefix) or key == f"{prefix}*":
        return None
    return frozenset(key[len(prefix) :].split())


class BatchSeen:
    """The messages handled earlier in a batch, whose rows do not carry their Message-ID,
    content hash and `dedupe_key` before the batch's outcomes are written."""

    def __init__(self) -> None:
        self._first: dict[tuple[str | None, str], int] = {}
        self._keys: dict[tuple[str | None, str], list[str]] = {}
        self._before: dict[tuple[str | None, str], int] = {}
        self._looked_up: frozenset[str] = frozenset()
        """Content hashes whose stored copies are known (`batch_copies`)."""

    def stored_before(
        self, hashes: frozenset[str], found: dict[tuple[str | None, str], int]
    ) -> None:
        """The stored copies of ``hashes`` before the batch (`batch_copies.first_copies`)."""
        self._looked_up = hashes
        self._before = found

    def looked_up(self, content_hash: str) -> bool:
        return content_hash in self._looked_up

    def before(self, message_id: str | None, content_hash: str) -> int | None:
        return self._before.get((message_id, content_hash))

    def record(
        self, message_id: str | None, content_hash: str, row_id: int, key: str | None
    ) -> None:
        self._first.setdefault((message_id, content_hash), row_id)
        if key is not None:
            self._keys.setdefault((message_id, content_hash), []).append(key)

    def first(self, message_id: str | None, content_hash: str) -> int | None:
        return self._first.get((message_id, content_hash))

    def keys(self, message_id: str | None, content_hash: str) -> list[str]:
        return self._keys.get((message_id, content_hash), [])


class AutoReplyCounts:
    """The automated replies sent to a batch's addresses before the batch, counted by one
    query instead of one per reply; the batch's own replies are added from its
    `DeferredWrites`. The query runs when the loop guard first asks (most batches of
    routed mail without acknowledgements never do), and only while the batch has queued
    no reply (else it would count some of them twice): after that, None, and the guard
    asks per address."""

    def __init__(
        self, conn: Connection, deferred: DeferredWrites, since: datetime, addresses: list[str]
    ) -> None:
        self.since = since
        self._conn = conn
        self._deferred = deferred
        self._addresses = addresses
        self._counts: dict[str, int] | None = None
        self._too_late = False

    def before_batch(self, address: str, since: datetime) -> int | None:
        """The count for this address and window; None when not counted here."""
        if since != self.since:
            return None
        if self._counts is None:
            if self._too_late or self._deferred.queued_any:
                self._too_late = True
                return None
            self._counts = self._count()
        return self._counts.get(address)

    def _count(self) -> dict[str, int]:
        counts = dict.fromkeys(self._addresses, 0)
        for start in range(0, len(self._addresses), _IN_CHUNK):
            chunk = self._addresses[start : start + _IN_CHUNK]
            params = {"addresses": chunk, "since": self.since}
            counts.update(
                (str(address), int(n))
                for address, n in self._conn.execute(_AUTO_REPLIES_TO, params)
            )
        return counts


class SqlHandlerContext:
    """Answers within one transaction; ``exclude_message`` is the row being handled."""

    def __init__(
        self,
        conn: Connection,
        items: ItemRepository,
        routes: Sequence[Route],
        own_addresses: frozenset[str],
        exclude_message: int | None = None,
        batch_seen: BatchSeen | None = None,
        arrival_address: str | None = None,
        arrival_known: bool = False,
        deferred: DeferredWrites | None = None,
        counted: AutoReplyCounts | None = None,
    ) -> None:
        """With ``arrival_known``, ``arrival_address`` is the address of the channel the
        message came through (None: not through a channel), as the caller knows it;
        otherwise it is looked up by ``exclude_message`` when the handler asks.
        ``deferred``: a batch's replies not written yet; a question about one of them
        writes them first (`DeferredWrites.names`). ``counted``: the batch's addresses'
        automated replies before it (`AutoReplyCounts`)."""
        self._arrival = arrival_address
        self._arrival_known = arrival_known
        self._conn = conn
        self._items = items
        self._routes = routes
        self._own = own_addresses
        self._exclude = exclude_message
        self._batch_seen = batch_seen if batch_seen is not None else BatchSeen()
        self._deferred = deferred
        self._counted = counted

    def _see_replies(self, message_id: str | None = None, recipient: str | None = None) -> None:
        """Write the batch's waiting replies when one of them is what is asked about."""
        deferred = self._deferred
        if deferred is not None and deferred.names(
            message_id=message_id, first_recipient=recipient
        ):
            deferred.flush_replies(self._conn)

    def duplicate_of(self, message_id: str | None, content_hash: str) -> int | None:
        if not content_hash:
            return None
        if self._batch_seen.looked_up(content_hash):  # the batch's rows carry no hash yet
            found = self._batch_seen.before(message_id, content_hash)
        else:
            params = {"hash": content_hash, "exclude": self._exclude or 0, "mid": message_id}
            stmt = _DUP_WITH_ID if message_id is not None else _DUP_WITHOUT_ID
            found = self._conn.execute(stmt, params).scalar()
        if found is None:  # rows of earlier batches come first: their ids are lower
            return self._batch_seen.first(message_id, content_hash)
        return int(found)

    def routes_handled(
        self, message_id: str | None, content_hash: str, routes: Sequence[str]
    ) -> frozenset[str]:
        params = {"hash": content_hash, "exclude": self._exclude or 0, "mid": message_id}
        stmt = _KEYS_WITH_ID if message_id is not None else _KEYS_WITHOUT_ID
        keys = [*self._conn.execute(stmt, params).scalars()]
        keys += self._batch_seen.keys(message_id, content_hash)
        handled: set[str] = set()
        for key in keys:
            listed = _routes_in_key(key, message_id, content_hash)
            if listed is None:
                return frozenset(routes)
            handled.update(listed)
        return frozenset(route for route in routes if _route_digest(route) in handled)

    def arrival_address(self) -> str | None:
        if self._arrival_known:
            return self._arrival
        if not self._exclude:
            return None  # a dry run (`explain`): no arrival
        found = self._conn.execute(_ARRIVAL, {"row": self._exclude}).scalar()
        return str(found) if found else None

    def is_own_message_id(self, message_id: str) -> bool:
        if not message_id.startswith(OWN_MESSAGE_ID_PREFIX):
            return False  # every message Postroom composes has this prefix (mime.compose)
        self._see_replies(message_id=message_id)
        return self._conn.execute(_OWN_ID, {"mid": message_id}).first() is not None

    def own_addresses(self) -> frozenset[str]:
        return self._own

    def outbound_by_message_id(self, message_id: str) -> int | None:
        self._see_replies(message_id=message_id)
        found = self._conn.execute(_OUTBOUND, {"mid": message_id}).scalar()
        return int(found) if found is not None else None

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        self._see_replies(message_id=message_id)
        return [self._items.view(item) for item in self._items.by_message_id(message_id)]

    def item(self, reference: Reference) -> WorkItemView | None:
        found = self._items.find(reference)
        return self._items.view(found) if found is not None else None

    def routes(self) -> Sequence[Route]:
        return self._routes

    def auto_replies_since(self, address: str, since: datetime) -> int:
        recipient = address.strip().lower()
        since = since.replace(tzinfo=None)
        if self._counted is not None and self._deferred is not None:
            before = self._counted.before_batch(recipient, since)
            if before is not None:
                queued = self._deferred.queued_to(recipient)
                return before + sum(1 for k, at in queued if k in _AUTOMATED and at >= since)
        self._see_replies(recipient=recipient)
        params = {"address": recipient, "since": since}
        return int(self._conn.execute(_AUTO_REPLIES, params).scalar_one())


class HandlerStore:
    """What the Email Handler reads, for one unit of work (`uow.handler`)."""

    def __init__(
        self,
        conn: Connection,
        items: ItemRepository,
        seen: BatchSeen | None,
        deferred: DeferredWrites | None = None,
    ) -> None:
        self._conn = conn
        self._items = items
        self._seen = seen
        """The batch's messages handled so far (None: not a batch's unit)."""
        self._deferred = deferred
        """The batch's writes not made yet (None: not a batch's unit)."""
        self._counted: AutoReplyCounts | None = None

    def count_auto_replies(self, addresses: Iterable[str], since: datetime) -> None:
        """Count, in one query, the automated replies sent since ``since`` to each of
        ``addresses`` (those a batch's messages may be answered at): the loop guard then
        asks no query per reply. Only in a batch's unit, before it queued any reply
        (else the count would hold some of them twice); elsewhere it does nothing. The
        query runs when the guard first asks (`AutoReplyCounts`)."""
        if self._deferred is None or self._deferred.queued_any:
            return
        wanted = sorted({a.strip().lower() for a in addresses})
        since = since.replace(tzinfo=None)
        self._counted = AutoReplyCounts(self._conn, self._deferred, since, wanted)

    def look_up_copies(self, content_hashes: Iterable[str]) -> None:
        """Find, in one query, the stored copies of a batch's messages (`batch_copies`),
        before any of them is handled; elsewhere it does nothing."""
        if self._seen is None:
            return
        hashes = frozenset(h for h in content_hashes if h)
        self._seen.stored_before(hashes, first_copies(self._conn, hashes))

    def own_addresses(self, default_sender: str) -> frozenset[str]:
        """Every address of this installation: channel addresses, route addresses, the sender."""
        conn = self._conn
        found = {default_sender.strip().lower()}
        found.update(a.lower() for a in conn.execute(select(routes.c.address)).scalars() if a)
        found.update(a.lower() for a in conn.execute(select(channels.c.address)).scalars() if a)
        return frozenset(found)

    def dedupe_key(self, message_id: str | None, content_hash: str, routes: Iterable[str]) -> str:
        """The ledger's key of a message the handler acted on for ``routes`` (`dedupe_key`)."""
        return dedupe_key(message_id, content_hash, routes)

    def channel_addresses(self) -> dict[int, str | None]:
        """Each channel's address by id (the address its messages arrive through)."""
        return ChannelRepository(self._conn).addresses()

    def context(
        self,
        routes: Sequence[Route],
        own: frozenset[str],
        exclude_message: int | None = None,
        arrival_address: str | None = None,
        arrival_known: bool = False,
    ) -> SqlHandlerContext:
        """The context of one message (``exclude_message``: its ledger row); in a batch's
        unit it sees the batch's earlier messages too."""
        return SqlHandlerContext(
            self._conn,
            self._items,
            routes,
            own,
            exclude_message=exclude_message,
            batch_seen=self._seen,
            arrival_address=arrival_address,
            arrival_known=arrival_known,
            deferred=self._deferred,
            counted=self._counted,
        )
