"""`postroom ingest FILE...` and `postroom ingest --maildir DIR`: many messages, one process.

An MTA pipe starts a process per message; a folder of messages (a maildir an MTA delivered
to, an export) is better stored the way a poll stores a mailbox: in batches, one commit
each (`IngestService.ingest_batch`). What this module adds is the files around it:

- a file that cannot be read is reported with a classified reason and skipped; the others
  go on;
- a maildir's file is deleted only once the batch holding its message has committed (the
  message is durably stored then, as a POP3 message is deleted after its commit); a file
  given by name is never touched;
- a batch that cannot be stored (the database away) stops the run: its files and the ones
  after it stay where they are for the next run, which files nothing twice (a message
  stored before is recognised and ignored, rule D1).

It prints a summary line (``7 files: 6 stored (5 new_ticket, 1 updated), 1 missing``) or,
with ``--json``, a list with one object per file in the order given (a maildir's ``new``,
then ``cur``): the single ingest's decision object plus ``file``, or ``{"file", "error",
"reason"}`` for a file not stored, ``reason`` one of ``missing``, ``permission-denied``,
``not-a-file``, ``read-error``, ``too-large`` (over ``POSTROOM_MAX_MESSAGE_BYTES``; skipped,
a maildir's file left in place) or ``not-stored`` (the storage failed; left for the
next run). Exit status: 0 when every file was stored (whatever its decision), 1 when some
could not be read or were too large (the others are stored), 75 (EX_TEMPFAIL) when a batch
could not be stored (the batches before it are), 2 when the maildir has neither ``new`` nor
``cur``.
"""

from __future__ import annotations

import errno
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postroom.cli.output import echo, shown
from postroom.cli.pipe import EX_TEMPFAIL, MessageTooLarge, read_bounded
from postroom.errors import PostroomError, StorageUnavailableError

if TYPE_CHECKING:
    from postroom.services.ingest import IngestService

PROGRESS_SECONDS = 2.0
"""A run that takes longer says how far it is on stderr at most this often."""


@dataclass(frozen=True, slots=True)
class Source:
    """A message to read: a file by name, standard input (``-``), or a maildir's file."""

    name: str
    remove_when_stored: bool = False


@dataclass(eq=False, slots=True)
class Entry:
    """What became of one source: its decision (stored), or why it was not stored
    (compared by identity: the same file may be named twice)."""

    source: Source
    decision: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.decision is not None:
            return {"file": self.source.name, **self.decision}
        return {"file": self.source.name, "error": self.error, "reason": self.reason}


def maildir_sources(folder: Path) -> list[Source]:
    """Every message file of a maildir (``new``, then ``cur``; by name, as delivered);
    dot files are a maildir writer's work in progress and left alone."""
    subfolders = [folder / "new", folder / "cur"]
    if not any(sub.is_dir() for sub in subfolders):
        raise FileNotFoundError(errno.ENOENT, "no new/ or cur/ folder in it", str(folder))
    found: list[Source] = []
    for sub in subfolders:
        if sub.is_dir():
            names = sorted(p for p in sub.iterdir() if not p.name.startswith("."))
            found.extend(Source(str(p), remove_when_stored=True) for p in names)
    return found


def read_failure(exc: OSError) -> str:
    """The reason a file could not be read, as a class a script can act on."""
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, PermissionError):
        return "permission-denied"
    if isinstance(exc, IsADirectoryError):
        return "not-a-file"
    return "read-error"


def _read(source: Source, limit: int) -> bytes:
    return read_bounded(source.name, limit)


@dataclass
class BatchRun:
    """One run over many sources; `entries` holds one per source, in order."""

    service: IngestService
    channel_id: int | None
    batch_size: int
    limit: int
    """Octets a message may have (``POSTROOM_MAX_MESSAGE_BYTES``): a larger file is skipped,
    reason ``too-large``, and left where it is."""
    progress: Callable[[str], None] = lambda line: echo(line, err=True)

    def __post_init__(self) -> None:
        self.entries: list[Entry] = []
        self._said = time.monotonic()

    def run(self, sources: Sequence[Source]) -> int:
        """Store every readable source; the exit status of docs/cli.md's batch case."""
        total = len(sources)
        for start in range(0, total, self.batch_size):
            chunk = [Entry(source) for source in sources[start : start + self.batch_size]]
            read = self._read_all(chunk)
            cause = self._store(read) if read else None
            self.entries.extend(chunk)
            if cause is not None:
                error = f"not stored, try again later: {cause}"
                echo(f"postroom: {shown(error)}", err=True)
                for entry in [*read, *(Entry(s) for s in sources[start + self.batch_size :])]:
                    entry.error, entry.reason = error, "not-stored"
                    if entry not in self.entries:
                        self.entries.append(entry)
                return EX_TEMPFAIL
            self._tell(total)
        return 1 if any(e.decision is None for e in self.entries) else 0

    def _read_all(self, chunk: list[Entry]) -> dict[Entry, bytes]:
        """The chunk's messages; a file that cannot be read is marked so and left out."""
        read: dict[Entry, bytes] = {}
        for entry in chunk:
            try:
                read[entry] = _read(entry.source, self.limit)
            except MessageTooLarge as exc:
                entry.error, entry.reason = f"{entry.source.name}: not stored: {exc}", "too-large"
                echo(f"postroom: {shown(entry.error)}", err=True)
            except OSError as exc:
                entry.error = f"cannot read {entry.source.name}: {exc.strerror or exc}"
                entry.reason = read_failure(exc)
                echo(f"postroom: {shown(entry.error)}", err=True)
        return read

    def _store(self, read: dict[Entry, bytes]) -> str | None:
        """One batch, one commit; then each maildir file is let go of. Returns why the
        batch could not be stored (None once it is)."""
        from postroom.render.mail import decision_json
        from postroom.services.ingest import Arrival

        try:
            results = self.service.ingest_batch(
                [Arrival(raw, self.channel_id) for raw in read.values()]
            )
        except StorageUnavailableError as exc:
            return str(exc)
        except PostroomError:
            raise
        except Exception as exc:  # noqa: BLE001 - as a single ingest: try again later
            return f"{exc.__class__.__name__}: {exc}"
        for entry, result in zip(read, results, strict=True):
            entry.decision = decision_json(result)
            if entry.source.remove_when_stored:
                Path(entry.source.name).unlink(missing_ok=True)
        return None

    def _tell(self, total: int) -> None:
        now = time.monotonic()
        if now - self._said >= PROGRESS_SECONDS:
            self._said = now
            stored = sum(1 for e in self.entries if e.decision is not None)
            self.progress(f"ingest: {len(self.entries)}/{total} files, {stored} stored")

    def summary(self) -> str:
        """One line: how many files, how many stored and their outcomes, and the rest."""
        outcomes = Counter(str(e.decision["outcome"]) for e in self.entries if e.decision)
        stored = sum(outcomes.values())
        line = f"{len(self.entries)} files: {stored} stored"
        if outcomes:
            line += " (" + ", ".join(f"{n} {shown(k)}" for k, n in sorted(outcomes.items())) + ")"
        failed = Counter(e.reason for e in self.entries if e.decision is None)
        for reason, n in sorted(failed.items(), key=lambda kv: str(kv[0])):
            line += f", {n} {shown(reason)}"
        return line
