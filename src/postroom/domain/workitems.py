"""Work items: Tickets, Cases and Actions, their states and references (docs/product.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ItemType(StrEnum):
    TICKET = "ticket"
    CASE = "case"
    ACTION = "action"


class State(StrEnum):
    TODO = "to-do"
    IN_PROGRESS = "in-progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def running(self) -> bool:
        """Not Closed (docs/product.md glossary)."""
        return self is not State.CLOSED

    @property
    def active(self) -> bool:
        """To Do, In Progress or Waiting."""
        return self in (State.TODO, State.IN_PROGRESS, State.WAITING)


@dataclass(frozen=True, slots=True, order=True)
class Reference:
    """A work item's human id: ``101203-T``, ``101203-C``, ``101203-C-A2``.

    A Ticket and the Case it starts share ``number``; Actions number within
    their Case (``action``).
    """

    number: int
    type: ItemType
    action: int | None = None

    def __post_init__(self) -> None:
        if (self.type is ItemType.ACTION) != (self.action is not None):
            raise ValueError("an Action reference needs an action number, others none")
        if self.number < 0 or (self.action is not None and self.action < 1):
            raise ValueError("reference numbers are positive")

    def __str__(self) -> str:
        if self.type is ItemType.TICKET:
            return f"{self.number:06d}-T"
        if self.type is ItemType.CASE:
            return f"{self.number:06d}-C"
        return f"{self.number:06d}-C-A{self.action}"

    @property
    def case(self) -> Reference:
        """The Case this reference belongs to (an Action's Case, a Ticket's would-be Case)."""
        return Reference(self.number, ItemType.CASE)

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse exactly one reference; raises ValueError on anything else."""
        # The written form is defined once, with the rules for finding references in text;
        # that module builds on this one, hence the import here.
        from postroom.domain.references import parse_reference

        return parse_reference(text)


@dataclass(frozen=True, slots=True)
class WorkItemView:
    """What the handler needs to know of one work item (read-only snapshot)."""

    reference: Reference
    state: State
    queue: str | None = None
    context: str | None = None
    category: str | None = None
    owner: str | None = None
    assignee: str | None = None
    case: Reference | None = None
    """For a Ticket: the Case it started, if any.  For an Action: its Case."""
    linked_to: Reference | None = None

    @property
    def type(self) -> ItemType:
        return self.reference.type
