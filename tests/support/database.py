"""Fixtures for storage on SQLite and PostgreSQL."""
