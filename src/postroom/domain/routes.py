"""Routes: a recipient address decides the Context, Category and Queue of a new Ticket."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    address: str
    """Lowercased ``local@domain``."""
    context: str
    category: str
    queue: str
    acknowledge: bool = False
