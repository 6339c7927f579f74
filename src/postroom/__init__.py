"""Postroom: the email gateway of a work-management platform."""

__version__ = "0.1.0"
