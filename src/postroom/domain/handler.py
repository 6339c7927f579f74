"""The Email Handler: one inbound message in, one Decision out (docs/handler.md).

``decide`` is a pure function of the parsed mail, a read-only view of the
world (``HandlerContext``), the settings and the clock.  It changes nothing;
the service applies the Decision in one transaction and stores it, with its
reason and trace, next to the communication.  Keeping the decision apart from
its application is what makes the table testable row by row, and lets
``explain`` replay a message without side effects.

Order: D1 duplicate, D2 own mail, D3 bounce of our mail; then matching
(thread, plus address, Subject, body) and the rules for the matched item
(A1–A2, C1–C3, T1–T4); without a match, or for a closed Case or Ticket, the
new-Ticket rules (N1–N3).  Q1 belongs to the service, which catches what this
module never means to raise.

Copies and routes (decided for issue 10; docs/handler.md §4 states D1 for one route): the
address of the mailbox a message was fetched from counts as an address it was delivered
for, and D1 holds per route.  A copy of a stored message that arrives for a route no copy
was handled for (a Bcc to two routed mailboxes) opens that route's Ticket, just as one
message with both routes in To and Cc opens both; a copy for routes already handled, or
for none, is a duplicate.  The rules are numbered in `postroom.domain.copies`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from postroom.domain.copies import RoutesOnly, delivered_also_to, filed_already, find_copies
from postroom.domain.decision import Decision, ItemUpdate, MatchedBy, Outcome, Rule
from postroom.domain.mail import ParsedMail
from postroom.domain.matching import Match, find_match
from postroom.domain.newtickets import plan_new_tickets
from postroom.domain.ports import MARKER_HEADER, HandlerContext, HandlerSettings
from postroom.domain.references import base_address
from postroom.domain.routes import Route
from postroom.domain.workitems import ItemType, Reference, State, WorkItemView


@dataclass(slots=True)
class _Walk:
    """The rules visited so far for one message, with their reason clauses."""

    mail: ParsedMail
    ctx: HandlerContext
    settings: HandlerSettings
    now: datetime
    matched_by: MatchedBy | None = None
    copy_of: int | None = None
    """D1 found a stored copy, but this one arrived for routes it was not handled for."""
    routes: tuple[str, ...] = ()
    """The route addresses this copy is handled for (`Decision.routes`)."""
    matched: tuple[Route, ...] = ()
    """Those routes (D1 found them: `Copies.routes`), handed to N1 rather than matched again."""
    path: list[Rule] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)

    def step(self, rule: Rule, clause: str) -> None:
        self.path.append(rule)
        self.clauses.append(clause)
        self.trace.append(f"{rule}: {clause}")

    def reason(self) -> str:
        text = "; ".join(self.clauses)
        return (text[:1].upper() + text[1:] + ".") if text else ""

    def updated(self, update: ItemUpdate) -> Decision:
        if self.copy_of is not None and filed_already(self.mail, self.ctx, update.reference):
            return self.duplicate(f"already filed on {_name(update.reference)}")
        return Decision(
            outcome=Outcome.UPDATED,
            rule=self.path[-1],
            path=tuple(self.path),
            matched_by=self.matched_by,
            reason=self.reason(),
            updates=(update,),
            trace=tuple(self.trace),
            routes=self.routes,
        )

    def duplicate(self, why: str) -> Decision:
        """D1 for a copy that reached the table (`postroom.domain.copies`, rule 3)."""
        clause = f"a copy of stored message {self.copy_of}, {why}, ignored"
        self.trace.append(f"D1: {clause}")
        return Decision(
            outcome=Outcome.IGNORED,
            rule=Rule.D1,
            path=(Rule.D1,),
            reason=clause[:1].upper() + clause[1:] + ".",
            duplicate_of=self.copy_of,
            trace=tuple(self.trace),
        )

    def new_tickets(self, linked_to: Reference | None) -> Decision:
        plan = plan_new_tickets(
            self.mail,
            self.ctx,
            self.settings,
            self.now,
            linked_to=linked_to,
            trace=self.trace,
            routes=self.matched,
        )
        self.path.append(plan.rule)
        self.clauses.append(plan.clause)
        return Decision(
            outcome=plan.outcome,
            rule=plan.rule,
            path=tuple(self.path),
            matched_by=self.matched_by,
            reason=self.reason(),
            new_tickets=plan.new_tickets,
            auto_replies=plan.auto_replies,
            suppressed_auto_reply=plan.suppressed_auto_reply,
            trace=tuple(self.trace),
            routes=tuple(t.route.address for t in plan.new_tickets if t.route is not None),
        )


def decide(
    mail: ParsedMail, ctx: HandlerContext, settings: HandlerSettings, now: datetime
) -> Decision:
    """Decide what one inbound message does (docs/handler.md §1–§5)."""
    arrival = ctx.arrival_address()
    mail = delivered_also_to(mail, arrival)
    walk = _Walk(mail, ctx, settings, now)
    if arrival:
        walk.trace.append(f"fetched from the mailbox of {arrival}")
    early = _before_handler(walk)
    if early is not None:
        return early
    match = find_match(mail, ctx, settings, walk.trace)
    if match is None:
        walk.trace.append("no work item matched")
        walk.clauses.append("no work item matched")
        return walk.new_tickets(None)
    walk.matched_by = match.matched_by
    walk.clauses.append(f"{_name(match.item.reference)} found by {_how(match)}")
    return _item_rules(walk, match.item)


def _before_handler(walk: _Walk) -> Decision | None:
    """D1, D2, D3: messages that never reach the table."""
    mail, ctx = walk.mail, walk.ctx
    copies = find_copies(mail, ctx)
    walk.matched = copies.routes
    walk.routes = tuple(route.address for route in copies.routes)
    if copies.duplicate:
        handled = f" for {', '.join(copies.handled)}" if copies.handled else ""
        walk.step(Rule.D1, f"a duplicate of stored message {copies.first}{handled}, ignored")
        return _early(walk, Outcome.IGNORED, duplicate_of=copies.first)
    if copies.first is not None:
        # Handled for the new routes only (copies.py, rule 3).
        walk.copy_of = copies.first
        walk.ctx = RoutesOnly(ctx, copies.routes)
        clause = f"a copy of stored message {copies.first} for {', '.join(walk.routes)}"
        walk.clauses.append(clause)
        walk.trace.append(f"D1: {clause}, which no copy was handled for")
    else:
        walk.trace.append("D1: not a duplicate")

    if mail.message_id and ctx.is_own_message_id(mail.message_id):
        walk.step(Rule.D2, f"Postroom sent {mail.message_id} itself, ignored as own mail")
        return _early(walk, Outcome.IGNORED)
    sender = mail.from_.normalized if mail.from_ is not None else ""
    own = ctx.own_addresses()
    if (
        mail.header(MARKER_HEADER) is not None
        and sender
        and (sender in own or base_address(sender) in own)
    ):
        walk.step(Rule.D2, f"{MARKER_HEADER} from our own address {sender}, ignored as own mail")
        return _early(walk, Outcome.IGNORED)
    walk.trace.append("D2: not own mail")

    if mail.report is not None:
        for original in mail.report.original_message_ids:
            for message_id in _message_id_forms(original):
                outbound = ctx.outbound_by_message_id(message_id)
                if outbound is None:
                    continue
                if walk.copy_of is not None:
                    return walk.duplicate(f"a delivery report about our message {message_id}")
                walk.step(
                    Rule.D3,
                    f"a delivery report about our message {message_id}: "
                    f"outbound communication {outbound} marked bounced",
                )
                items = ctx.items_by_message_id(message_id)
                # No requeue: the report is shown on the item's timeline, the
                # agent sees the bounce on the outbound mail itself.
                updates = (ItemUpdate(items[0].reference, requeue=False),) if items else ()
                return _early(walk, Outcome.UPDATED, bounced_outbound=outbound, updates=updates)
        walk.trace.append("D3: a delivery report about no message we sent; never auto-replied")
    else:
        walk.trace.append("D3: not a delivery report")
    return None


def _early(
    walk: _Walk,
    outcome: Outcome,
    *,
    duplicate_of: int | None = None,
    bounced_outbound: int | None = None,
    updates: tuple[ItemUpdate, ...] = (),
) -> Decision:
    return Decision(
        outcome=outcome,
        rule=walk.path[-1],
        path=tuple(walk.path),
        reason=walk.reason(),
        updates=updates,
        duplicate_of=duplicate_of,
        bounced_outbound=bounced_outbound,
        trace=tuple(walk.trace),
        routes=walk.routes if outcome is not Outcome.IGNORED else (),
    )


def _message_id_forms(message_id: str) -> tuple[str, ...]:
    """As written, and with angle brackets if the report dropped them (many do)."""
    stripped = message_id.strip()
    if not stripped:
        return ()
    if stripped.startswith("<"):
        return (stripped,)
    return (stripped, f"<{stripped}>")


def _item_rules(walk: _Walk, item: WorkItemView) -> Decision:
    """Section 2 of the table, for the item the matching found."""
    ref = item.reference
    if item.type is ItemType.ACTION:
        if item.state.running:
            walk.step(Rule.A1, f"Action {ref} is {item.state}: updated and put back in queue")
            return walk.updated(ItemUpdate(ref))
        case_ref = item.case or ref.case
        case = walk.ctx.item(case_ref)
        if case is None:
            # Inconsistent data: a closed Action without its Case.  Treat it as
            # closed work, so the mail still reaches a person.
            walk.step(Rule.A2, f"Action {ref} is closed and its Case {case_ref} is missing")
            return walk.new_tickets(ref)
        walk.step(Rule.A2, f"Action {ref} is closed: the Case rules apply to {case_ref}")
        return _case_rules(walk, case)
    if item.type is ItemType.CASE:
        return _case_rules(walk, item)
    return _ticket_rules(walk, item)


def _case_rules(walk: _Walk, case: WorkItemView) -> Decision:
    ref = case.reference
    owner = f" and assigned to its owner {case.owner}" if case.owner else ""
    if case.state is State.CLOSED:
        walk.step(Rule.C3, f"Case {ref} is closed: a new Ticket linked to it")
        return walk.new_tickets(ref)
    if case.state is State.RESOLVED:
        walk.step(Rule.C2, f"Case {ref} was resolved: reopened, put back in queue{owner}")
        return walk.updated(ItemUpdate(ref, reopen=True, assign_to_owner=bool(case.owner)))
    walk.step(Rule.C1, f"Case {ref} is {case.state}: updated, put back in queue{owner}")
    return walk.updated(ItemUpdate(ref, assign_to_owner=bool(case.owner)))


def _ticket_rules(walk: _Walk, ticket: WorkItemView) -> Decision:
    ref = ticket.reference
    if ticket.state is State.RESOLVED:
        walk.step(Rule.T1, f"Ticket {ref} was resolved: reopened and put back in queue")
        return walk.updated(ItemUpdate(ref, reopen=True))
    if ticket.state is State.CLOSED:
        walk.step(Rule.T2, f"Ticket {ref} is closed: a new Ticket linked to it")
        return walk.new_tickets(ref)
    if ticket.case is not None:
        case = walk.ctx.item(ticket.case)
        if case is not None:
            walk.step(
                Rule.T3,
                f"Ticket {ref} is {ticket.state} and started Case {ticket.case}: "
                f"the Case rules apply",
            )
            return _case_rules(walk, case)
        walk.trace.append(f"T3: Case {ticket.case} of Ticket {ref} is missing; T4 applies")
    walk.step(Rule.T4, f"Ticket {ref} is {ticket.state}: updated and put back in queue")
    return walk.updated(ItemUpdate(ref))


def _name(ref: Reference) -> str:
    return f"{ref.type.value.capitalize()} {ref}"


def _how(match: Match) -> str:
    if match.matched_by is MatchedBy.THREAD:
        return f"thread header {match.via}"
    if match.matched_by is MatchedBy.PLUS_ADDRESS:
        return f"plus address {match.via}"
    return f"reference in the {match.matched_by}"
