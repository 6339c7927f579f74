"""Use cases that own a transaction: ingest, poll, send, check."""
