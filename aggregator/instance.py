"""One `aggregator serve` per database. A second one would fetch every source a second time,
doubling the load on upstreams, and clear the first one's serving counters (`web/tally.py`).

The guard is an advisory lock on a file beside the database, held for the server's life: the
kernel drops it when the process ends, even by SIGKILL, so a crash never leaves it stale.
`aggregator fetch` and the other commands do not take it: they may run beside a server.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.errors import AlreadyServing

log = logging.getLogger("aggregator.serve")


def lock_path(database: Path) -> Path:
    """Beside the file the path leads to: a server reaching the same database through a
    symlinked folder or file takes the same lock."""
    real = database.resolve()
    return real.with_name(real.name + ".lock")


@contextmanager
def only_server(
    database: Path, *, remedy: str = "or use service.workers for more server processes"
) -> Iterator[None]:
    """Hold the database's server lock, or raise `AlreadyServing` naming the holder's pid and
    saying to stop it first, `remedy` after that."""
    path = lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # as the database will be, at first start
        handle = path.open("a+", encoding="ascii")
    except OSError as exc:
        log.warning(
            "cannot open the server lock: another server on this database would go unnoticed",
            extra={"path": str(path), "error": exc.strerror or str(exc)},
        )
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise AlreadyServing(
                f"{database} is already served by another `aggregator serve` (pid {holder}):"
                f" stop it first{', ' + remedy if remedy else ''}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def running_server(database: Path) -> str | None:
    """The pid of the `aggregator serve` holding `database`'s lock ("unknown" if it wrote
    none), or None when no server runs on it."""
    try:
        handle = lock_path(database).open("r", encoding="ascii")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
