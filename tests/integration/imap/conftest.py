"""Fixtures for IMAP polling tests (defined in support.polling and support.imap_boxes)."""

from support.imap_boxes import imap
from support.polling import postroom

__all__ = ["imap", "postroom"]
