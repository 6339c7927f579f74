"""The JSON shapes of docs/cli.md, built from typed records and results: one place, shared by
the CLI and the web API. Pure functions returning dicts, lists and strings."""
