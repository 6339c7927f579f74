"""The web door: the REST API (`/api/v1`), sign-in, health and metrics (docs/web.md).

Like `postroom.cli`, it parses a request, calls one service that `bootstrap.App` builds,
and renders `postroom.render`'s shapes; errors become problem details in one module
(`web/problems.py`)."""
