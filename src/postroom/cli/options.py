"""Option types shared by several commands, so each flag means the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
PasswordEnv = Annotated[
    str | None, typer.Option(help="read the password from this environment variable")
]
PasswordStdin = Annotated[
    bool, typer.Option(help="read the password from the first line of standard input")
]
Authzid = Annotated[
    str | None, typer.Option(help="act for this mailbox (SASL authorization identity)")
]
CaFile = Annotated[Path | None, typer.Option(help="trust the CA certificates in this PEM file")]
Force = Annotated[bool, typer.Option(help="enable even if the connection check fails")]
