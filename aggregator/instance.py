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


def release_rules() -> str:
    """How this release makes what a store derives from its items (stories' match keys, search
    tokens): a server writes it beside its pid, so that a fetch can tell its own release's
    server, which remakes them, from an older one's (`operate._no_upgrade_under_a_server`)."""
    from feeds.stories import keys_made_by
    from storage.searchindex import index_made_by

    return f"{keys_made_by()} | {index_made_by()}"


@contextmanager
def only_server(
    database: Path,
    *,
    remedy: str = "or use service.workers for more server processes",
    release: str = "",
) -> Iterator[None]:
    """Hold the database's server lock, or raise `AlreadyServing` naming the holder's pid and
    saying to stop it first, `remedy` after that; `release` (`release_rules`) is written on
    the line after the pid."""
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
            holder = handle.readline().strip() or "unknown"
            raise AlreadyServing(
                f"{database} is already served by another `aggregator serve` (pid {holder}):"
                f" stop it first{', ' + remedy if remedy else ''}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n{release}\n" if release else f"{os.getpid()}\n")
        handle.flush()
        yield


def running_server(database: Path) -> str | None:
    """The pid of the `aggregator serve` holding `database`'s lock ("unknown" if it wrote
    none), or None when no server runs on it."""
    held = _holder(database)
    return (held[0] or "unknown") if held is not None else None


def serving_release(database: Path) -> str | None:
    """The `release_rules` of the server holding `database`'s lock ("" when it wrote none, as
    releases before this one did), or None when no server runs on it."""
    held = _holder(database)
    return held[1] if held is not None else None


def _holder(database: Path) -> tuple[str, str] | None:
    """The lock's holder as it wrote itself (pid, release), or None when none holds it."""
    try:
        handle = lock_path(database).open("r", encoding="ascii", errors="replace")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, _, release = handle.read().partition("\n")
            return pid.strip(), release.strip()
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
