"""`aggregator restore FILE`: a backup put in place of the database, never beside a server.

A backup copied over the database by hand is lost: SQLite replays the write-ahead log left
beside the database (by a crash, or by a server still running) into the copied-in file, which
is then malformed for good. The command checks the backup, copies it into a temporary file
beside the database, moves the old database's files aside and renames the copy into place.
"""

from __future__ import annotations

import os
import stat
import sys
from contextlib import suppress
from pathlib import Path

from aggregator.config import Config
from aggregator.errors import AlreadyServing
from aggregator.instance import only_server
from aggregator.interrupts import Interrupted, undoable
from aggregator.operate import EXIT_CONFIG, EXIT_FAILED, companions, durable, temporary_beside
from storage import StorageError, copy_backup

KEPT = ".before-restore"  # the previous database, after its name
_MOVED = ("-wal", "-journal")  # kept beside it under its new name, where SQLite reads them


def restore(config: Config, file: str) -> int:
    """Refuse beside a server (its lock held for the whole restore), refuse a FILE that is
    not an intact database of this service, else replace the database, keeping the old one."""
    backup = Path(file)
    database = config.service.database
    if backup.resolve() in {database.resolve(), database.absolute()} | companions(database):
        print(f"restore: {file} is the database itself or one of its files", file=sys.stderr)
        return EXIT_CONFIG
    if not backup.is_file():
        what = "a folder" if backup.is_dir() else "no file"
        print(f"restore: {file} is {what}: name a backup file", file=sys.stderr)
        return EXIT_CONFIG
    try:
        with only_server(database, remedy=""):
            return _replace(backup, database.resolve())
    except AlreadyServing as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _replace(backup: Path, database: Path) -> int:
    kept = database.with_name(database.name + KEPT)
    for path in (kept, *(_beside(kept, suffix) for suffix in _MOVED)):
        if os.path.lexists(path):
            print(
                f"restore: {path} is kept from an earlier restore: move it away first",
                file=sys.stderr,
            )
            return EXIT_FAILED
    existed = database.is_file()
    try:
        with temporary_beside(database, ".restoring") as partial, undoable() as done:
            copy_backup(backup, partial)
            _same_access(partial, database)
            durable(partial)
            done()  # a signal now would leave the old database half moved aside
            _move_aside(database, kept)
            os.replace(partial, database)
            durable(database.parent)  # the renames themselves
            size = database.stat().st_size
            where = f"the previous database is kept as {kept}" if existed else "none was there"
            print(f"restored {backup} to {database} ({size} bytes); {where}", flush=True)
    except Interrupted as exc:
        print(f"restore: stopped by {exc}: {database} is unchanged", file=sys.stderr)
        return exc.exit_status
    except (OSError, StorageError) as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _move_aside(database: Path, kept: Path) -> None:
    """The old database as `kept`, its write-ahead log (and rollback journal) renamed with it,
    so that the pair opens as the database did; nothing of it is left for SQLite to replay
    into the restored file. A hard link first: at every moment one of the two names holds the
    whole old database with its log."""
    if database.exists():
        os.link(database, kept)
    for suffix in _MOVED:
        with suppress(FileNotFoundError):
            os.rename(_beside(database, suffix), _beside(kept, suffix))
    _beside(database, "-shm").unlink(missing_ok=True)  # an index of the log, rebuilt


def _same_access(copy: Path, database: Path) -> None:
    """The database's mode and, where we may, owner: a server running as another user than
    the operator must still open the restored file."""
    try:
        found = database.stat()
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(copy, 0o666 & ~mask)
        return
    os.chmod(copy, stat.S_IMODE(found.st_mode))
    with suppress(PermissionError):
        os.chown(copy, found.st_uid, found.st_gid)
