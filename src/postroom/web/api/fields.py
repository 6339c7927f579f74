"""Patterns of the fields the configuration paths share (channels, SMTP servers, checks):
what a request may carry before a service judges it."""

from __future__ import annotations

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""A setting that names a URL, a file or an address: no control character (a NUL in a
path is an error of the operating system, not of the request)."""
NAME = r"^[^/\x00-\x1f\x7f]+$"
"""The name of a channel or an SMTP server is a path segment of the API: no slash, no
control character."""
