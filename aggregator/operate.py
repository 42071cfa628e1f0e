"""The operator's commands `fetch`, `status` and `backup`: what `cli.py` dispatches to.

Tables are for people (aligned, relative times, errors cut to the terminal's width); `--json`
and the logs are for programs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator import eventloop
from aggregator.config import Config, quoted
from aggregator.cpu import CpuPool
from aggregator.errors import AlreadyServing
from aggregator.interrupts import Interrupted, undoable
from aggregator.status import SourceView, source_views
from storage import Database, StorageError, latest_schema, made_otherwise, schema_version

if TYPE_CHECKING:  # `status` and `backup` start without the fetching machinery
    from aggregator.pipeline import SourceReport

EXIT_FAILED = 1
EXIT_CONFIG = 2
_POOL_FROM = 20  # sources in one `aggregator fetch` run
_SQLITE_HEADER = b"SQLite format 3\0"  # a database file's first 16 bytes


def table(rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def ago(stamp: float | None, now: float) -> str:
    """Relative time ("3m ago", "in 2h"; "-" for never): what an operator scanning wants."""
    if stamp is None:
        return "-"
    delta = stamp - now
    seconds = abs(delta)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            amount = f"{seconds / size:.0f}{unit}"
            break
    else:
        amount = f"{seconds:.0f}s"
    return f"in {amount}" if delta > 0 else f"{amount} ago"


class TerminalLine(logging.Filter):
    """One self-overwriting line on standard error when it is a terminal; nothing otherwise,
    so scripts and `--json` read what they did before.

    As a filter on the log handlers it clears the line before a log line is written, so the
    two never share a line.
    """

    def __init__(self, *, shown: bool) -> None:
        super().__init__()
        self.shown = shown
        self._drawn = False

    def draw(self, line: str) -> None:
        if not self.shown:
            return
        try:  # a line wider than the terminal wraps, and `\r` goes back to its last row only
            width = os.get_terminal_size(sys.stderr.fileno()).columns or 80  # 0: size unset
        except (OSError, ValueError):
            width = 80
        sys.stderr.write(f"\r\033[K{line[: width - 1]}")
        sys.stderr.flush()
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._drawn = False

    def filter(self, record: logging.LogRecord) -> bool:
        self.clear()
        return True

    @contextmanager
    def over_logs(self) -> Iterator[None]:
        """The line shown in the block, cleared before each log line and at its end."""
        handlers = logging.getLogger().handlers
        for handler in handlers:
            handler.addFilter(self)
        try:
            yield
        finally:
            self.clear()
            for handler in handlers:
                handler.removeFilter(self)


class Progress(TerminalLine):
    """`aggregator fetch` on a terminal: sources done/total, failures, the last source, and
    how far its article pages are."""

    def __init__(self, total: int, *, shown: bool) -> None:
        super().__init__(shown=shown)
        self.total = total
        self.done = self.failed = 0

    def update(self, report: SourceReport) -> None:
        self.done += 1
        self.failed += report.failed
        self.draw(self._sources(report.source_id))

    def articles(self, source_id: str, done: int, total: int) -> None:
        self.draw(f"{self._sources(source_id)} article {done}/{total}")

    def _sources(self, source_id: str) -> str:
        return f"[{self.done}/{self.total}] {self.failed} failed · {source_id}"


def pool_for(sources: int) -> CpuPool | None:
    """Parsing processes for a run of this many sources: their fork server takes a fraction
    of a second to start, which pays for many sources only."""
    return CpuPool.for_this_machine() if sources >= _POOL_FROM else None


def _no_upgrade_under_a_server(database: Path) -> None:
    """A fetch upgrades an older store: not while a server of the release that wrote it runs
    on it, whose every fetch then failed on the new schema, while its status said all was
    well; nor, within one schema, remakes the search index or stories' keys beside it, which
    would go on writing them the old way, and searches missed its items for good."""
    from aggregator.instance import release_rules, running_server, serving_release

    version = schema_version(database)
    if version is None:
        return
    if version < latest_schema():
        older = f"database schema {version} is older than this program's ({latest_schema()})"
        then = "then start this release's `aggregator serve`, which upgrades it"
    elif stale := made_otherwise(database):
        if serving_release(database) == release_rules():
            return  # this release's own server, which remakes them
        verb = "was" if stale == ["its search index"] else "were"
        older = f"{' and '.join(stale)} {verb} made by another release's rules"
        # which of the two releases is the later one, the rules do not say
        then = "this release's `aggregator serve` then makes them again by its own rules"
    else:
        return
    if (pid := running_server(database)) is not None:
        raise AlreadyServing(
            f"{database}: {older}, and `aggregator serve` (pid {pid}) of the release that"
            f" wrote it runs on it: stop it; {then}"
        )


def fetch(config: Config, wanted: Sequence[str]) -> int:
    """`aggregator fetch [SOURCE…]`: fetch now, store, one summary row per source."""
    from aggregator.records import rekey_stories
    from aggregator.service import running_service

    ids = list(wanted) or [s.id for s in config.sources if s.enabled]
    unknown = [s for s in ids if config.source(s) is None]
    if unknown:
        for source_id in unknown:
            print(f"fetch: unknown source {quoted(source_id)}", file=sys.stderr)
        return EXIT_CONFIG
    _no_upgrade_under_a_server(config.service.database)
    chosen = set(ids)
    sources = [s for s in config.sources if s.id in chosen]
    progress = Progress(len(sources), shown=sys.stderr.isatty())

    async def run() -> list[SourceReport]:
        async with running_service(config, schedule=False, cpu=pool_for(len(sources))) as service:
            service.pipeline.on_articles = progress.articles
            # before storing: a copy stored beside keys an older release made misses its
            # story for good, as stories formed are not matched again
            await rekey_stories(service.db, lambda: service.config, service.cpu)
            return await service.pipeline.run_many(sources, progress.update)

    with progress.over_logs():
        reports = eventloop.run(run())
    rows: list[list[object]] = [
        ["source", "status", "new", "updated", "unchanged", "duplicates", "seconds"]
    ]
    for r in reports:
        status = r.result + (f" ({r.status})" if r.status and r.status != 200 else "")
        rows.append([r.source_id, status, r.new, r.updated, r.unchanged, r.duplicates,
                     f"{r.seconds:.2f}"])  # fmt: skip
    print(table(rows))
    for r in reports:  # on stdout with the table: stderr carries the (maybe JSON) log lines
        if r.error:
            print(f"{r.source_id}: {r.error}")
    return EXIT_FAILED if any(r.failed for r in reports) else 0


def status(config: Config, *, as_json: bool) -> int:
    """`aggregator status`: every configured source, from the database alone (no network)."""

    async def run() -> list[SourceView]:
        db = await Database.open(config.service.database, existing=True, schema="current")
        try:
            return await source_views(config, db, time.time())
        finally:
            await db.close()

    views = eventloop.run(run())
    if as_json:
        print(json.dumps([v.as_dict() for v in views], ensure_ascii=False, indent=2))
        return 0
    print(status_table(views, time.time(), terminal_width()))
    return 0


def terminal_width() -> int | None:
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def status_table(views: Sequence[SourceView], now: float, width: int | None) -> str:
    """The aligned table, then the error of each source whose last fetch failed, a warning
    line for each whose last fetch worked degraded, and the sources that moved, cut to
    `width`. A disabled source's are left out: it is fetched no more, its error is history."""
    rows: list[list[object]] = [
        ["source", "result", "http", "attempted", "succeeded", "errors", "next", "items", "24h",
         "avg s"]
    ]  # fmt: skip
    notes = []
    for v in views:
        result = v.last_result or "never fetched"
        if v.failing:
            result = f"FAILING ({result})"
        if not v.enabled:  # fetched no more: its failure is history
            result = f"disabled ({result})"
        average = f"{v.average_seconds:.2f}" if v.average_seconds is not None else "-"
        rows.append([v.id, result, v.last_status or "-", ago(v.last_attempt, now),
                     ago(v.last_success, now), v.error_streak, ago(v.next_fetch, now), v.items,
                     v.items_last_day, average])  # fmt: skip
        if v.last_error and v.enabled:  # the URL is the source's own: said once, in the config
            error = v.last_error.removeprefix(f"{v.effective_url or v.url}: ")
            warned = "" if v.last_result == "error" else "warning: "  # it worked, degraded
            notes.append(f"{v.id}: {warned}{' '.join(error.split())}")
        if v.effective_url:
            notes.append(f"{v.id}: moved permanently to {v.effective_url}; update its url")
    failing = sum(v.failing and v.enabled for v in views)
    if failing:
        notes.append(f"{failing} of {len(views)} sources failing")
    if width is not None:  # the table may wrap; a long error need not
        notes = [note if len(note) <= width else note[: width - 1] + "…" for note in notes]
    return "\n".join([table(rows), *(["", *notes] if notes else [])])


def companions(database: Path) -> set[Path]:
    """The files that live beside the database, resolved. A backup written over SQLite's
    write-ahead log loses every commit not yet checkpointed; over the server lock, it lets a
    second server start on the same database."""
    from aggregator.instance import lock_path
    from aggregator.web.tally import tally_path

    found: set[Path] = set()
    for path in {database.absolute(), database.resolve()}:
        sqlite = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
        for companion in (*sqlite, lock_path(path), tally_path(path)):
            found |= {companion.absolute(), companion.resolve()}
    return found


def durable(path: Path) -> None:
    """On the disk before the caller goes on: renamed into place unsynced, a copy could be
    empty after a power cut, having replaced a good one."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def backup(config: Config, file: str) -> int:
    """`aggregator backup FILE`: `VACUUM INTO` a temporary file of its own, then rename it into
    place, so a failed backup never replaces a good one, FILE is never a half-written database,
    and two backups at once never write the same file."""
    target = Path(file).resolve()
    problem = _not_to_replace(config, file, target)
    if problem:
        print(f"backup: {problem}", file=sys.stderr)
        return EXIT_CONFIG

    async def run(partial: Path) -> None:
        # as it is: a backup taken before an upgrade must open in the release that wrote it
        db = await Database.open(config.service.database, existing=True, schema="as is")
        try:
            await db.backup(partial)
        finally:
            await db.close()

    try:
        with temporary_beside(target, ".partial") as partial, undoable() as done:
            eventloop.run(run(partial))
            durable(partial)
            done()  # from here a signal would say "not written" of a written file
            os.replace(partial, target)
            durable(target.parent)  # the rename itself
            size = target.stat().st_size
            print(f"backed up {config.service.database} to {target} ({size} bytes)", flush=True)
    except Interrupted as exc:
        print(f"backup: stopped by {exc}: {target} not written", file=sys.stderr)
        return exc.exit_status
    except (OSError, StorageError) as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


@contextmanager
def temporary_beside(target: Path, suffix: str) -> Iterator[Path]:
    """An empty file of this run's own beside `target`, to be renamed over it: two runs at
    once never share one. Removed, with the journal SQLite may leave beside it, at the end."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix,
                                        dir=target.parent)  # fmt: skip
    except OSError as exc:
        raise OSError(f"cannot write in {target.parent}: {exc.strerror}") from exc
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
    finally:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + "-journal").unlink(missing_ok=True)


def _not_to_replace(config: Config, file: str, target: Path) -> str | None:
    """What is wrong with writing the backup at `target`, if anything: the database, a file
    beside it, the config (`aggregator backup config.toml` replaced it with a database), a
    folder, or an existing file that is no database (an empty one may go)."""
    database = config.service.database
    if target in {database.resolve(), database.absolute()}:
        return f"{file} is the database itself"
    if target in companions(database):
        return f"{file} belongs to the database {database}: name another file"
    if target in {config.path.resolve(), config.path.absolute()}:
        return f"{file} is the config file: name another file"
    if target.is_dir() or not target.parent.is_dir():
        where = "a folder" if target.is_dir() else "in a folder that does not exist"
        return f"{target} is {where}: name a file"
    try:
        found = target.stat()
        if not stat.S_ISREG(found.st_mode):
            return f"{file} exists and is not a regular file: name another file"
        with target.open("rb") as existing:
            head = existing.read(16)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{file}: cannot read what is there: {exc.strerror}"
    if head and head != _SQLITE_HEADER:  # empty: made ready for the backup, as by `touch`
        return f"{file} exists and is not an SQLite database: name another file"
    return None
