"""The `postroom` command line (docs/cli.md). Errors become exit codes in `app.main` only."""
