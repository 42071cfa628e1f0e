"""The `aggregator` command line: one entry point, one function per command.

Each command imports what it runs when it runs: importing every command's modules took 0.4 s
before `--help` or `check` printed a line, and each parsing process, which imports this
module again as its main script, paid it too.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlencode, urljoin

from aggregator import eventloop
from aggregator.config import Config, default_config_path, load_config, quoted
from aggregator.errors import ConfigError, UnknownSource
from aggregator.logs import apply_level, setup_logging
from feeds.errors import AggregatorError

EXIT_FAILED = 1
EXIT_CONFIG = 2


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    for warning in config.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{config.path}: ok — {len(config.sources)} sources, {len(config.feeds)} feeds")
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from aggregator.heap import fix_mmap_threshold
    from aggregator.instance import only_server, release_rules
    from aggregator.serve import serve

    fix_mmap_threshold()  # before any thread: see there why
    with only_server(config.service.database, release=release_rules()):
        eventloop.run(serve(config))
    return 0


def cmd_fetch(config: Config, args: argparse.Namespace) -> int:
    from aggregator import operate

    return operate.fetch(config, args.sources)


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from aggregator import operate

    return operate.status(config, as_json=args.json)


def cmd_preview(config: Config, args: argparse.Namespace) -> int:
    from aggregator.preview import preview, preview_article

    source = config.source(args.source)
    if source is None:
        print(f"preview: unknown source {quoted(args.source)}", file=sys.stderr)
        return EXIT_CONFIG
    if args.article:
        # As the list page's links are read: `/article-1.html` on the source's site.
        article = urljoin(source.url, args.article)
        return eventloop.run(preview_article(config, source, article, as_json=args.json))
    return eventloop.run(preview(config, source, as_json=args.json))


def _limit(raw: str) -> int:
    """`--limit` within the bounds a feed route's `limit` has."""
    from aggregator.web.queries import checked_limit

    try:
        return checked_limit(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


MAX_STORIES = 100_000


def _story_limit(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_STORIES):
        raise argparse.ArgumentTypeError(f"a whole number from 1 to {MAX_STORIES}, not {raw!r}")
    return int(raw)


def cmd_render(config: Config, args: argparse.Namespace) -> int:
    from aggregator.documents import Page, Query, render_page
    from storage import Database

    if config.feed(args.feed) is None:
        print(f"render: unknown feed {quoted(args.feed)}", file=sys.stderr)
        return EXIT_CONFIG

    async def run() -> bytes:
        db = await Database.open(config.service.database, existing=True, schema="current")
        try:
            url = f"{config.service.base_url}/feeds/{args.feed}.{args.format}"
            kept = (("limit", str(args.limit)),) if args.limit else ()  # in `next` and self
            self_url = f"{url}?{urlencode(kept)}" if kept else url
            query = Query(limit=args.limit)
            page = Page("feeds", args.feed, args.format, query, self_url, url, kept)
            body, _ = await render_page(config, db, page)
            return body
        finally:
            await db.close()

    body = eventloop.run(run())
    if args.output:
        try:
            _write_whole(Path(args.output), body)
        except OSError as exc:
            print(f"render: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.buffer.write(body)
    return 0


def _write_whole(path: Path, body: bytes) -> None:
    """A static web server serving the file never reads it half-written: a temporary file
    beside the target (a symlink's, which stays a link) is renamed over it, with the target's
    mode and, where we may, its owner (a feed readable by the web server's group stays so).
    A target that is no regular file (`/dev/stdout`) is written as it is."""
    try:
        found = path.stat()
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        path.write_bytes(body)
        return
    target = path.resolve()
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        if found is not None:
            os.chmod(partial, stat.S_IMODE(found.st_mode))
            with suppress(PermissionError):
                os.chown(partial, found.st_uid, found.st_gid)
        else:
            os.chmod(partial, 0o666 & ~_umask())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def cmd_stories(config: Config, args: argparse.Namespace) -> int:
    from aggregator.storyreport import story_report

    try:
        report = eventloop.run(
            story_report(config, since=args.since, as_json=args.json, limit=args.limit)
        )
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(report.text)
    if report.cut:
        print(f"more stories than --limit {args.limit} were seen: the newest are shown",
              file=sys.stderr)  # fmt: skip
    return 0


def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    from aggregator import operate

    return operate.backup(config, args.file)


def cmd_restore(config: Config, args: argparse.Namespace) -> int:
    from aggregator.restore import restore

    return restore(config, args.file)


def cmd_opml(config: Config, args: argparse.Namespace) -> int:
    from aggregator.opmlio import run_opml

    return run_opml(config, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aggregator", description=__doc__.splitlines()[0])
    where = "default: $AGGREGATOR_CONFIG, else ./config.toml"
    parser.add_argument("-c", "--config", type=Path, help=where)  # before the command, or after
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS, help=where)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, run: Callable[[Config, argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=text, description=text)
        command.set_defaults(run=run)
        return command

    add("serve", cmd_serve, "run the scheduler and the HTTP server until SIGINT/SIGTERM")
    fetch = add("fetch", cmd_fetch, "fetch now, store, print a per-source summary")
    fetch.add_argument("sources", nargs="*", metavar="SOURCE")
    add("check", cmd_check, "validate the config without touching the network")
    show = add("preview", cmd_preview, "fetch and parse one source without storing")
    show.add_argument("source", metavar="SOURCE")
    show.add_argument("--json", action="store_true")
    show.add_argument(
        "--article",
        metavar="URL",
        help="read this article page only (relative to the source's url)",
    )
    status = add("status", cmd_status, "one row per source: last fetch, result, error, items")
    status.add_argument("--json", action="store_true")
    render = add("render", cmd_render, "write a published feed to a file or stdout")
    render.add_argument("feed", metavar="FEED")
    render.add_argument("--format", choices=("rss", "atom", "json"), default="atom")
    render.add_argument("--limit", type=_limit, default=None, help="entries, 1 to 500")
    render.add_argument("-o", "--output", metavar="FILE")
    stories = add("stories", cmd_stories, "recent stories seen at several sources")
    stories.add_argument("--since", default="7d", help='a duration back from now (default "7d")')
    stories.add_argument("--json", action="store_true")
    stories.add_argument(
        "--limit", type=_story_limit, default=100, help="most stories shown, newest first (100)"
    )
    backup = add("backup", cmd_backup, "a consistent copy of the database, safe while serving")
    backup.add_argument("file", metavar="FILE")
    text = "put a backup in place of the database, keeping the old one; not while serving"
    restore = add("restore", cmd_restore, text)
    restore.add_argument("file", metavar="FILE")
    text = "sources as OPML 2.0: export them, or import a reader's subscriptions"
    opml = add("opml", cmd_opml, text)
    verbs = opml.add_subparsers(dest="opml_command", required=True)
    late = argparse.ArgumentParser(add_help=False)  # `-c` before or after the verb
    late.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS)
    verbs.add_parser("export", parents=[late], help="print the sources as OPML 2.0")
    adding = verbs.add_parser(
        "import", parents=[late], help="append the feeds of an OPML file to the config"
    )
    adding.add_argument("file", metavar="FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    path = args.config or default_config_path()
    try:
        eventloop.loop_factory()
        config = load_config(path)
        apply_level(config.service.log_level)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        code: int = args.run(config, args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
    except UnknownSource as exc:
        print(exc.args[0], file=sys.stderr)
        return EXIT_CONFIG
    except AggregatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `aggregator preview … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return 141  # as a shell reports a command ended by SIGPIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
