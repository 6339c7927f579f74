"""The data folder (``POSTROOM_HOME``) is its owner's alone: folders 0700, files 0600.

It holds every subject, address and decision (the SQLite database), every message (the
blobs) and the key to the stored passwords (``secret.key``). The rules:

1. Folders are made 0700 and files 0600, and the mode is set again once made: a umask only
   takes bits away, and a umask of 000 takes none (0777 folders, 0666 SQLite files).
2. The SQLite database file is made here, empty, before SQLite opens it: SQLite gives its
   ``-wal`` and ``-shm`` files the mode of the database file.
3. A data folder found open to other users (left so by an earlier version, or made by
   hand) is tightened when Postroom starts: the folder to 0700, Postroom's own files in it
   to 0600 and the blob folders to 0700, and a warning says so. Other files in it are left
   alone (the folder's mode already keeps others out of them).
4. Only a folder that is Postroom's is tightened: owned by this user and holding nothing
   but Postroom's files. ``POSTROOM_HOME=/tmp`` (or ``/``, or a shared folder) must never
   take the folder from the others who use it: its mode is left, a warning names the fix,
   and Postroom's own files in it are private anyway (rule 1).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from postroom.errors import SetupError

log = logging.getLogger(__name__)

FOLDER = 0o700
FILE = 0o600
OWN_FILES = (
    "postroom.db",
    "postroom.db-wal",
    "postroom.db-shm",
    "postroom.db-writer",
    "postroom.db-journal",
    "secret.key",
)
"""What Postroom keeps directly in the data folder (the default database and its companions)."""
BLOBS = "blobs"


def prepare(home: Path) -> Path:
    """Make the data folder (rule 1), or tighten one found open to others (rule 3); one
    that cannot be made or used is a `SetupError` naming ``POSTROOM_HOME`` and the fix."""
    try:
        return _prepare(home)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise SetupError(
            f"cannot use the data folder {home} ({reason}): set POSTROOM_HOME to a folder "
            "this user can create and write"
        ) from None


def _prepare(home: Path) -> Path:
    try:
        mode = stat.S_IMODE(home.stat().st_mode)
    except FileNotFoundError:
        make_folder(home)
        return home
    found = home.stat()
    if not stat.S_ISDIR(found.st_mode):
        raise NotADirectoryError(20, "not a folder")
    if mode & 0o077 and not _postrooms(home, found):
        log.warning(
            "data folder %s is open to other users (mode %04o) and holds more than "
            "Postroom's files: its mode is left as it is; give Postroom a folder of its own "
            "(POSTROOM_HOME), or make this one private: chmod 700 %s",
            home,
            mode,
            home,
        )
    elif mode & 0o077:
        os.chmod(home, FOLDER)
        files = _tighten_contents(home)
        log.warning(
            "data folder %s was open to other users (mode %04o): now 0700, "
            "with %d of Postroom's files and folders in it made private",
            home,
            mode,
            files,
        )
    return home


def make_folder(path: Path) -> None:
    """Make ``path`` with mode 0700 (its missing parents as the umask says); a folder that
    exists is left as it is."""
    try:
        path.mkdir(mode=FOLDER)
    except FileExistsError:
        return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=FOLDER)
        except FileExistsError:
            return
    os.chmod(path, FOLDER)


def create_file(path: Path) -> None:
    """Make an empty ``path`` with mode 0600, unless it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE)
    finally:
        os.close(fd)


def _postrooms(home: Path, found: os.stat_result) -> bool:
    """Rule 4: owned by this user, and nothing in it but Postroom's files and blobs."""
    if found.st_uid != os.geteuid() or found.st_mode & stat.S_ISVTX:
        return False
    with os.scandir(home) as entries:
        return all(e.name in OWN_FILES or e.name == BLOBS for e in entries)


def _tighten_contents(home: Path) -> int:
    """Postroom's files and blob folders in ``home`` to 0600 / 0700; returns how many changed.
    Symbolic links are not followed."""
    changed = sum(_tighten(home / name, FILE) for name in OWN_FILES)
    blobs = home / BLOBS
    if _tighten(blobs, FOLDER):
        changed += 1
    if not blobs.is_dir() or blobs.is_symlink():
        return changed
    for folder, subfolders, files in os.walk(blobs):
        for name in subfolders:
            changed += _tighten(Path(folder, name), FOLDER)
        for name in files:
            changed += _tighten(Path(folder, name), FILE)
    return changed


def _tighten(path: Path, mode: int) -> bool:
    try:
        found = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(found.st_mode) or stat.S_IMODE(found.st_mode) & ~mode == 0:
        return False
    os.chmod(path, stat.S_IMODE(found.st_mode) & mode)
    return True
