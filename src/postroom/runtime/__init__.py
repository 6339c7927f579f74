"""Postroom as a running service: its processes, their signals, their housekeeping.

A door (`postroom run` today) parses its flags and hands them to `Service`; everything
that lives as long as the service does is here: waiting for the database at start
(`startup`), the worker processes and their restarts (`workers`), the loop each
process runs (`process`), what every tick does besides polling (`housekeeping`), the
outbox's loop woken by every commit that queued replies (`sending`) and SIGTERM/SIGINT
(`signals`). The work itself — polling, handling, sending — is the
services', built by `postroom.bootstrap`.
"""
