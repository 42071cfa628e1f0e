"""OPML in and out: `/opml` for readers, `aggregator opml export|import` for operators.

`/opml` lists what we publish (our feed URLs); `opml export` lists the configured sources by
their upstream URLs, so another aggregator can take them over; `opml import` appends new
sources to `config.toml` through tomlkit, so the operator's comments and layout survive, and
writes only a result the config loader accepts.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import tomlkit
from tomlkit.items import AoT

from aggregator.config import Config, load_config, source_url_problem
from aggregator.errors import ConfigError
from aggregator.publish import feed_url
from feeds.errors import ParseError
from feeds.normalize import normalize_link
from feeds.opml import OpmlOutline, parse_opml, render_opml

MAX_ID_LENGTH = 40
_NOT_ID = re.compile(r"[^a-z0-9]+")


def published_outlines(config: Config) -> list[OpmlOutline]:
    """Our merged feeds, then every enabled source's own feed, as a reader subscribes to them."""
    home = config.service.base_url + "/"
    outlines = [
        OpmlOutline(
            feed.title, feed_url(config, "feeds", feed.id, "atom"), home, folders=("Feeds",)
        )
        for feed in config.feeds
    ]
    outlines += [
        OpmlOutline(
            source.name,
            feed_url(config, "sources", source.id, "atom"),
            source.publisher.url if source.publisher else None,
            folders=("Sources",),
        )
        for source in config.sources
        if source.enabled
    ]
    return outlines


def source_outlines(config: Config) -> list[OpmlOutline]:
    """Every configured source by its upstream URL, its first tag as the folder.

    An html or json source has no upstream feed: it is listed by our per-source feed, with its list
    page as the site link (a json source's publisher's, else its API's host's home page).
    """
    outlines = []
    for source in config.sources:
        site = source.publisher.url if source.publisher else None
        xml_url = source.url
        if source.lists:
            xml_url = feed_url(config, "sources", source.id, "atom")
            # a JSON API is no page to visit: its site's home page, unless a publisher says
            site = source.url if source.type == "html" else site or _home(source.url)
        folders = source.tags[:1]
        outlines.append(OpmlOutline(source.name, xml_url, site, folders=folders))
    return outlines


def _home(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.netloc else url


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What `import_opml` did: (id, url) added, and (url, reason) skipped."""

    added: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]


class ImportRefused(Exception):
    """The edited config would not load; the file was left as it was."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_ID.sub("-", ascii_text.lower()).strip("-")[:MAX_ID_LENGTH].strip("-")


def new_id(outline: OpmlOutline, taken: set[str]) -> str:
    """A readable `[a-z0-9_-]+` id from the title, else the URL's host, unique among `taken`."""
    host = (urlsplit(outline.xml_url).hostname or "").removeprefix("www.")
    base = _slug(outline.text) or _slug(host) or "source"
    candidate, number = base, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = base[: MAX_ID_LENGTH - len(suffix)] + suffix
        number += 1
    taken.add(candidate)
    return candidate


def _web_url(url: str) -> str:
    """`url` without the `feed:` scheme readers' exports write (`feed://host/rss`,
    `feed:https://host/rss`), which only tells a browser to open a feed reader."""
    if url[:5].lower() != "feed:":
        return url
    rest = url[5:]
    return rest if rest[:5].lower() in ("http:", "https") else "http:" + rest


def _scheme(url: str) -> str | None:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # "http://[x/"
        return None


def _same(url: str) -> str:
    return normalize_link(url) if urlsplit(url).scheme in ("http", "https") else url


def _plan(
    config: Config, outlines: Iterable[OpmlOutline]
) -> tuple[list[tuple[str, OpmlOutline]], list[tuple[str, str]]]:
    """Which outlines become sources (with their new ids) and which are skipped, and why."""
    known = {_same(source.url) for source in config.sources}
    listed: set[str] = set()
    taken = {source.id for source in config.sources} | {feed.id for feed in config.feeds}
    ours = config.service.base_url + "/"
    added: list[tuple[str, OpmlOutline]] = []
    skipped: list[tuple[str, str]] = []
    for written in outlines:  # skips name the URL as the file writes it
        outline = replace(written, xml_url=_web_url(written.xml_url))
        url = outline.xml_url
        scheme = _scheme(url)
        if scheme is not None and (scheme in ("", "file") or len(scheme) == 1):
            skipped.append((written.xml_url, "a local file, not a web feed"))
        elif problem := source_url_problem(url):  # "http://[x/", gopher://, a port of 99999
            skipped.append((written.xml_url, problem))
        elif url.startswith(ours):
            skipped.append((written.xml_url, "one of our own feeds"))
        elif _same(url) in known:
            skipped.append((written.xml_url, "already configured"))
        elif _same(url) in listed:
            skipped.append((written.xml_url, "listed twice"))
        else:
            listed.add(_same(url))
            added.append((new_id(outline, taken), outline))
    return added, skipped


def _table(ident: str, outline: OpmlOutline, origin: str) -> tomlkit.items.Table:
    table = tomlkit.table()
    table.add(tomlkit.comment(f"imported from {origin}"))
    table.add("id", ident)
    table.add("name", outline.text)
    table.add("url", outline.xml_url)
    table.add("type", "feed")
    # every folder around it: "News / Local" is tagged both, so a channel of either has it
    tags = list(dict.fromkeys(outline.folders))
    if tags:
        table.add("tags", tags)
    table.add(tomlkit.nl())
    return table


def _write_checked(link: Path, text: str) -> None:
    """Replace `link` with `text` only if the loader accepts it; the swap is atomic. A symlink
    is written through: its target is the file other tools and the deployment read."""
    path = link.resolve()
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".toml", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        try:
            load_config(temporary)
        except ConfigError as exc:
            raise ImportRefused(exc.problems) from exc
        shutil.copymode(path, temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def import_opml(config: Config, opml: bytes, origin: str) -> ImportResult:
    """Append a `[[sources]]` table per new feed of `opml` to the config file.

    Raises `feeds.errors.ParseError` for a file that is not OPML and `ImportRefused` when the
    result would not load; in both cases the config file is untouched.
    """
    outlines = parse_opml(opml)
    with _config_locked(config.path):
        return _append(load_config(config.path), outlines, origin)


@contextmanager
def _config_locked(path: Path) -> Iterator[None]:
    """Imports one after another: two at once read the same file, and the later rename
    dropped the other's sources, both runs saying they were added. The lock is on the folder
    the file is renamed in (a lock on the file would go with the file it replaces)."""
    folder = os.open(path.resolve().parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # and the lock with it


def _append(config: Config, outlines: Sequence[OpmlOutline], origin: str) -> ImportResult:
    """`import_opml` against the config as the file holds it now."""
    added, skipped = _plan(config, outlines)
    if added:
        document = tomlkit.parse(config.path.read_text(encoding="utf-8"))
        sources = document.get("sources")
        if sources is None:
            sources = tomlkit.aot()
            document.append("sources", sources)
        elif not isinstance(sources, AoT):
            raise ImportRefused(["sources: not written as [[sources]] tables; add these by hand"])
        for ident, outline in added:
            sources.append(_table(ident, outline, origin))
        _write_checked(config.path, tomlkit.dumps(document))
    return ImportResult(
        added=tuple((ident, outline.xml_url) for ident, outline in added),
        skipped=tuple(skipped),
    )


def run_opml(config: Config, args: argparse.Namespace) -> int:
    """`aggregator opml export` (OPML on stdout) and `aggregator opml import FILE`."""
    if args.opml_command == "export":
        sys.stdout.buffer.write(render_opml(config.service.title, source_outlines(config)))
        return 0
    path = Path(args.file)
    try:
        opml = path.read_bytes()
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        result = import_opml(config, opml, path.name)
    except ParseError as exc:  # not OPML: the file named, as the config's problems are
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{config.path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ImportRefused as exc:
        print(f"{config.path}: left unchanged, the result would not load:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    for url, reason in result.skipped:
        print(f"skipped {url}: {reason}", file=sys.stderr)
    for ident, url in result.added:
        print(f"added {ident}: {url}")
    print(f"{config.path}: {len(result.added)} added, {len(result.skipped)} skipped")
    if result.added:
        print("a running server applies them on SIGHUP or POST /api/reload")
    return 0
