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
from aggregator.configtable import parse_duration
from aggregator.errors import ConfigError, UnknownSource
from aggregator.logs import apply_level, setup_logging
from feeds.errors import AggregatorError

EXIT_FAILED = 1
EXIT_CONFIG = 2


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    for warning in config.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    sources, feeds = len(config.sources), len(config.feeds) - 1  # the first is the implicit "all"
    print(
        f"{config.path}: ok — {sources} source{'' if sources == 1 else 's'},"
        f' {feeds} feed{"" if feeds == 1 else "s"} besides "all"'
    )
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


def _since(raw: str) -> str:
    """`--since` checked as the report reads it, so a mistake gets the usage line."""
    try:
        parse_duration(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return raw


def cmd_stories(config: Config, args: argparse.Namespace) -> int:
    from aggregator.storyreport import story_report

    report = eventloop.run(
        story_report(config, since=args.since, as_json=args.json, limit=args.limit)
    )
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


# Exit statuses as README's "Command line" gives them, in each command's `--help`.
_STOPPED = "; 130 or 143 when stopped by Ctrl-C or SIGTERM"
_DATABASE = "the database is missing or of another schema"


def _exits(done: str, failed: str, refused: str = "", stopped: str = "") -> str:
    """`done`, `failed` and `refused`: what ends a command with 0, 1 and 2."""
    refused = f"{refused}, " if refused else ""
    one = f"; 1 when {failed}" if failed else ""
    return f"0 {done}{one}; 2 for {refused}a bad option or a config problem{stopped}"


_EXITS = {
    "serve": _exits(
        "when stopped by SIGINT or SIGTERM",
        "it cannot start (its port, another server on the database) or its database is"
        " replaced under it",
    ),
    "fetch": _exits("when no source failed", "a source failed", "an unknown SOURCE", _STOPPED),
    "check": _exits("when the config loads", ""),
    "preview": _exits("when read", "the source cannot be read", "an unknown SOURCE"),
    "status": _exits("when shown", _DATABASE),
    "render": _exits("when written", f"{_DATABASE}, or FILE cannot be written", "an unknown FEED"),
    "stories": _exits("when shown", _DATABASE),
    "backup": _exits(
        "when written",
        "the copy fails",
        "a FILE that is the database, a file beside it, the config, a folder or another file",
        _STOPPED,
    ),
    "restore": _exits(
        "when in place",
        "a server runs on the database, FILE is no intact backup, or an earlier restore's"
        " <database>.before-restore is there",
        "a FILE that is the database or a file beside it, a folder or missing",
    ),
    "opml": "as `aggregator opml export --help` and `aggregator opml import --help` give it",
    "opml export": _exits("when written", ""),
    "opml import": _exits(
        "when done",
        "FILE cannot be read or is no OPML, or the config cannot be written",
        "a config that would not load with the feeds added",
    ),
}


def _epilog(command: str) -> str:
    return f"exit status: {_EXITS[command]}."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aggregator", description=__doc__.splitlines()[0])
    where = "default: $AGGREGATOR_CONFIG, else ./config.toml"
    parser.add_argument("-c", "--config", type=Path, help=where)  # before the command, or after
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS, help=where)
    sub = parser.add_subparsers(dest="command", required=True)
    as_json = "print JSON instead of the table, for programs"

    def add(
        name: str, run: Callable[[Config, argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(
            name, parents=[common], help=text, description=text, epilog=_epilog(name)
        )
        command.set_defaults(run=run)
        return command

    add("serve", cmd_serve, "run the scheduler and the HTTP server until SIGINT/SIGTERM")
    fetch = add("fetch", cmd_fetch, "fetch now, store, print a per-source summary")
    fetch.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="id of a source to fetch (default: every enabled source)",
    )
    add("check", cmd_check, "validate the config without touching the network")
    show = add("preview", cmd_preview, "fetch and parse one source without storing")
    show.add_argument("source", metavar="SOURCE", help="id of the source, as in [[sources]]")
    show.add_argument("--json", action="store_true", help="print JSON, for programs")
    show.add_argument(
        "--article",
        metavar="URL",
        help="read this article page only (relative to the source's url)",
    )
    status = add("status", cmd_status, "one row per source: last fetch, result, error, items")
    status.add_argument("--json", action="store_true", help=as_json)
    render = add("render", cmd_render, "write a published feed to a file or stdout")
    render.add_argument("feed", metavar="FEED", help='"all" or the id of a [[feeds]] table')
    render.add_argument(
        "--format", choices=("rss", "atom", "json"), default="atom", help="default: atom"
    )
    render.add_argument(
        "--limit", type=_limit, default=None, help="entries, 1 to 500 (default: the feed's limit)"
    )
    render.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    stories = add("stories", cmd_stories, "recent stories seen at several sources")
    stories.add_argument(
        "--since", type=_since, default="7d", help='a duration back from now (default "7d")'
    )
    stories.add_argument("--json", action="store_true", help="print JSON, for programs")
    stories.add_argument(
        "--limit", type=_story_limit, default=100, help="most stories shown, newest first (100)"
    )
    backup = add("backup", cmd_backup, "a consistent copy of the database, safe while serving")
    backup.add_argument("file", metavar="FILE", help="the copy to write (not the database)")
    text = "put a backup in place of the database, keeping the old one; not while serving"
    restore = add("restore", cmd_restore, text)
    restore.add_argument("file", metavar="FILE", help="a backup written by `aggregator backup`")
    text = "sources as OPML 2.0: export them, or import a reader's subscriptions"
    opml = add("opml", cmd_opml, text)
    verbs = opml.add_subparsers(dest="opml_command", required=True, help="what to do")
    late = argparse.ArgumentParser(add_help=False)  # `-c` before or after the verb
    late.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS, help=where)
    text = "print the sources as OPML 2.0"
    verbs.add_parser(
        "export", parents=[late], help=text, description=text, epilog=_epilog("opml export")
    )
    text = "append the feeds of an OPML file to the config"
    adding = verbs.add_parser(
        "import", parents=[late], help=text, description=text, epilog=_epilog("opml import")
    )
    adding.add_argument("file", metavar="FILE", help="an OPML file, as a feed reader exports")
    return parser


def _command(args: argparse.Namespace) -> str:
    """The command as its error lines start: `fetch`, `opml import`."""
    verb = getattr(args, "opml_command", None)
    return f"{args.command} {verb}" if verb else str(args.command)


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
        print(f"{_command(args)}: {exc.args[0]}", file=sys.stderr)
        return EXIT_CONFIG
    except AggregatorError as exc:
        print(f"{_command(args)}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `aggregator preview … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return 141  # as a shell reports a command ended by SIGPIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
