"""The Email Handler's decision as plain data (docs/handler.md §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from postroom.domain.routes import Route
from postroom.domain.workitems import Reference


class Outcome(StrEnum):
    UPDATED = "updated"
    NEW_TICKET = "new_ticket"
    UNHANDLED = "unhandled"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


class Rule(StrEnum):
    A1 = "A1"
    A2 = "A2"
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"
    D1 = "D1"
    D2 = "D2"
    D3 = "D3"
    Q1 = "Q1"


class MatchedBy(StrEnum):
    THREAD = "thread"
    PLUS_ADDRESS = "plus-address"
    SUBJECT = "subject"
    BODY = "body"


class AutoReplyKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    ADDRESS_NOT_CONFIGURED = "address-not-configured"


@dataclass(frozen=True, slots=True)
class ItemUpdate:
    """Attach the communication to an existing item and change it as the rule says."""

    reference: Reference
    requeue: bool = True
    """Put back in queue: state To Do in the item's queue, new-information flag set."""
    reopen: bool = False
    """The item was Resolved (T1, C2): record the reopening."""
    assign_to_owner: bool = False
    """C1/C2: assign to the Case owner if one is set."""


@dataclass(frozen=True, slots=True)
class NewTicket:
    """Open a Ticket for the communication."""

    route: Route | None
    """N1's route; None for N2 (no queue, context or category)."""
    recipient: str | None
    """The address the Ticket was routed by (N1) or written to (N2)."""
    linked_to: Reference | None = None
    """C3/T2: the closed item the new Ticket is associated with."""
    resolve: bool = False
    """N2: resolve the Ticket immediately."""


@dataclass(frozen=True, slots=True)
class AutoReply:
    kind: AutoReplyKind
    to: str
    """Reply-To, else From, of the message answered."""
    sender: str | None
    """The address the message was routed by / written to; None = installation default."""
    ticket_index: int = 0
    """Which entry of ``Decision.new_tickets`` the reply is about."""


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    rule: Rule
    path: tuple[Rule, ...]
    matched_by: MatchedBy | None = None
    reason: str = ""
    """One readable sentence: why this decision."""
    updates: tuple[ItemUpdate, ...] = ()
    new_tickets: tuple[NewTicket, ...] = ()
    auto_replies: tuple[AutoReply, ...] = ()
    suppressed_auto_reply: str | None = None
    """Why an automated reply that the rule asks for was not sent (automatic mail, rate limit)."""
    duplicate_of: int | None = None
    """D1: the id of the stored message this one duplicates."""
    bounced_outbound: int | None = None
    """D3: the id of the outbound communication the report is about."""
    routes: tuple[str, ...] = ()
    """The route addresses this copy of the message was handled for: its routed recipients,
    less those an earlier copy was handled for (empty for D1, D2 and unrouted mail). Storage
    keeps them with the message, so that a later copy is a duplicate only for these."""
    trace: tuple[str, ...] = field(default=())
    """Every strategy and rule tried, hit or miss, in order (for `explain`)."""

    @property
    def auto_reply_kind(self) -> AutoReplyKind | None:
        return self.auto_replies[0].kind if self.auto_replies else None
