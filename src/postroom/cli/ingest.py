"""`postroom ingest` (an MTA pipe, a file, many files or a maildir) and `postroom explain`
(a dry run).

An MTA pipe starts a process per message, so start-up is most of its cost: this module
imports only what registering the commands needs; `ingest` starts its parser child first
(`mime.isolated.start_early`), then imports the storage and the services while the child
starts on another core. The MTA's own command lines do not come here: cli/pipe.py runs
them without Typer, with the same code for one message (`ingest_one`, or with ``--url``
`ingest_remote`: handed to a running service, cli/mailgate.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from postroom.cli.ingest_batch import Source, maildir_sources
from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, fail, print_json, shown
from postroom.cli.pipe import (
    EX_TEMPFAIL,
    PipeCall,
    describe,
    ingest_one,
    ingest_remote,
    read_source,
)
from postroom.errors import PostroomError, StorageUnavailableError

FileArg = Annotated[str, typer.Argument(help="a raw message file, or - for standard input")]
FilesArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="FILE",
        help="raw message files, or - for standard input (the default)",
        show_default=False,
    ),
]
MaildirOpt = Annotated[
    Path | None,
    typer.Option(help="every message in DIR/new and DIR/cur; each file deleted once stored"),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="hand the message to the running service at URL (postroom web's address, "
        "e.g. http://127.0.0.1:8025) instead of storing it here",
    ),
]
TokenFileOpt = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="with --url: the API token is the first line of FILE "
        "(default: the variable POSTROOM_API_TOKEN)",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="with --url: the whole exchange's deadline; past it exit 75 (default 60)",
    ),
]
CaFileOpt = Annotated[
    str | None,
    typer.Option(metavar="FILE", help="with an https:// --url: the CA certificate(s) to trust"),
]


def _ingest_many(
    names: list[str], maildir: Path | None, channel: str | None, as_json: bool
) -> None:
    """Files by name, then a maildir's, in batches (cli/ingest_batch.py)."""
    from postroom.cli.ingest_batch import BatchRun
    from postroom.cli.state import current_app

    sources = [Source(name) for name in names]
    if maildir is not None:
        try:
            sources += maildir_sources(maildir)
        except OSError as exc:
            fail(f"cannot read the maildir {maildir}: {exc.strerror or exc}", code=2)
    app = current_app()
    try:
        service = app.ingest  # opens the storage: as for one message, 75 when it cannot
    except StorageUnavailableError as exc:
        fail(f"not stored, try again later: {exc}", code=EX_TEMPFAIL)
    except PostroomError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, nothing was stored
        fail(f"not stored, try again later: {exc.__class__.__name__}: {exc}", EX_TEMPFAIL)
    channel_id = app.channels.show(channel).id if channel is not None else None
    run = BatchRun(service, channel_id, app.settings.poll_batch, app.settings.max_message_bytes)
    code = run.run(sources)
    if as_json:
        print_json([entry.to_json() for entry in run.entries])
    else:
        echo(run.summary())
    if code:
        raise SystemExit(code)


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        sources: FilesArg = None,
        maildir: MaildirOpt = None,
        channel: Annotated[str | None, typer.Option(help="the input channel it came from")] = None,
        as_json: JsonOpt = False,
        url: UrlOpt = None,
        token_file: TokenFileOpt = None,
        timeout: TimeoutOpt = None,
        ca_file: CaFileOpt = None,
    ) -> None:
        """Store and handle one raw message; exit 75 (EX_TEMPFAIL) when it could not be stored.

        Several files, or --maildir DIR: stored in batches, one commit each;
        a summary line (--json: one entry per file); a maildir's files are
        deleted once stored.

        --url URL: hand it to the running service (POST /api/v1/messages) with
        the token of --token-file or POSTROOM_API_TOKEN; exit 75 when the
        service cannot be reached, does not answer in time or answers 5xx.
        """
        names = sources or []
        call = PipeCall("-", channel, as_json, url, token_file, timeout, ca_file)
        if call.remote:
            if maildir is not None or len(names) > 1:
                fail("--url takes one message (a file, or - for standard input)", code=2)
            ingest_remote(replace(call, source=names[0] if names else "-"))
            return
        from postroom.mime.isolated import start_early

        start_early()
        if maildir is None and len(names) <= 1:
            ingest_one(names[0] if names else "-", channel, as_json)
            return
        _ingest_many(names, maildir, channel, as_json)

    @app.command()
    def explain(
        source: FileArg,
        as_json: JsonOpt = False,
    ) -> None:
        """Dry run: the parsed mail and the decision it would get; changes nothing."""
        from postroom.cli.state import current_app
        from postroom.render.mail import explanation_json

        application = current_app()
        raw = read_source(source, application.settings.max_message_bytes)
        explained = application.ingest.explain(raw)
        data = explanation_json(explained)
        if as_json:
            print_json(data)
            return
        m = data["mail"]
        sender = f"{shown(m['from_name'] or '')} <{shown(m['from'] or '')}>"
        echo(f"From:    {sender}".replace(" <>", ""))
        echo(f"To:      {', '.join(shown(a) for a in m['to'])}")
        echo(f"Subject: {shown(m['subject'])}")
        echo(f"Message-ID: {shown(m['message_id'])}")
        echo(f"Attachments: {len(m['attachments'])}; HTML: {m['has_html']}")
        if explained.automatic:
            echo(f"Automatic mail: {shown(explained.automatic)}")
        for d in m["defects"]:
            echo(f"Defect:  {shown(d)}")
        echo("Decision: " + describe(data["decision"]))
        for step in explained.decision.trace:
            echo(f"  · {shown(step)}")
