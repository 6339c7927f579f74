"""Postroom as a running service: its processes, their signals, their housekeeping.

A door (`postroom run` today) parses its flags and hands them to `Service`; everything
that lives as long as the service does is here: waiting for the database at start
(`startup`), the worker processes and their restarts (`workers`), the loop each
process runs (`process`), what every tick does besides polling (`housekeeping`), the
outbox's loop woken by every commit that queued replies (`sending`), SIGTERM/SIGINT
(`signals`: the first asks to stop, a second stops at once), the HTTP service in a
process of its own (`web_process`), what the service says at start (`welcome`) and when
idle (`heartbeat`). The work itself — polling, handling, sending — is the
services', built by `postroom.bootstrap`.
"""
