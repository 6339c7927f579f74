"""`python -m postroom` is the `postroom` command."""

from postroom.cli.app import main

main()
