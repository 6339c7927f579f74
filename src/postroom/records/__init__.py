"""Typed read models and statuses: what storage hands to services and services to the doors.

Plain frozen dataclasses and enums, no behaviour and no imports from the layers above:
the CLI, the web API, services and storage all speak these, so none of them passes a
database row to another.
"""
