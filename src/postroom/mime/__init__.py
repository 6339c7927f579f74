"""The MIME layer: raw RFC 5322 bytes in, a ``ParsedMail`` out (defects recorded, never raised)."""

from postroom.mime.content_hash import content_hash
from postroom.mime.html import html_to_text, sanitize_html
from postroom.mime.parser import parse

__all__ = ["content_hash", "html_to_text", "parse", "sanitize_html"]
