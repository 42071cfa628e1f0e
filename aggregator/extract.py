"""Fetch a source and turn it into parsed items, following article pages where configured
(`aggregator/follow.py` fetches those), and decide which articles to read again.

Parsing never runs on the event loop that serves readers: feeds go to the CPU pool (worker
processes in `serve` and large `fetch` runs), HTML pages to threads, page by page as they
are fetched.

Shared by the pipeline (which stores the result) and `aggregator preview` (which prints it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo

from aggregator.config import SourceConfig, StoriesConfig
from aggregator.cpu import CpuPool
from aggregator.errors import FetchError, Refused
from aggregator.fetcher import Fetcher, Response
from aggregator.follow import (
    article_problem,
    forwarded,
    in_place_of,
    list_pages,
    read_article,
    read_detail,
    source_document,
)
from aggregator.netpolicy import allowed_hosts, check_discovered
from aggregator.records import parse_and_build
from aggregator.retries import Failures, read_before
from aggregator.robots import Robots
from feeds.articlemerge import merge_article, merge_record
from feeds.errors import AggregatorError, NotAFeed, ParseError
from feeds.identity import item_key
from feeds.model import ParsedFeed, ParsedItem
from feeds.parse import parse_feed
from storage import FetchState, HeldItem, ItemRecord

KnownListings = Callable[[str, Sequence[str]], Awaitable[dict[str, str]]]
# A later list page that failed is tried again after this long, the first page being read
# whole then: at every fetch, a page `robots.txt` refuses for good would cost the 304.
LIST_PAGE_RETRY = 3600.0
_THREAD = CpuPool(0)


@dataclass(frozen=True, slots=True)
class Collected:
    """What a fetch yielded: items (each with the listing digest that led to it) and metadata.

    `feed` is None when the body did not change (304, or the same bytes as last time).
    `records` is set instead of `items` when they were built beside the parse (`RecordPlan`).
    `article_pages` gives the URLs of the article pages each item was read from, in order,
    and `article_charsets` how the first of them was decoded.
    """

    response: Response | None
    feed: ParsedFeed | None
    items: tuple[tuple[ParsedItem, str | None], ...] = ()
    warnings: tuple[str, ...] = ()
    body_hash: str | None = None
    records: tuple[ItemRecord, ...] | None = None
    reread_at: float | None = None  # a page it led to failed: see `FetchOutcome.reread_at`
    article_pages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by item key
    article_charsets: dict[str, str] = field(default_factory=dict)  # by item key
    # The key of every item the document lists, read before or not: retention keeps them.
    # None when a list page failed: the last listing read whole stands.
    listed: tuple[str, ...] | None = ()
    # (key, listing digest) of stored items whose article failed now: they stay as stored,
    # and only the digest, which counts the failures, is written.
    relisted: tuple[tuple[str, str | None], ...] = ()
    # What `preview` tells the operator writing selectors, no fault of the source's.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """Build the stored records in the parse's own call to the CPU pool, for a feed whose items
    need no article page. The items then never cross between processes: sending them to the
    pool and back twice cost about a third of a first fetch's CPU.

    `known` gives the source's recent items as stored: the items among them whose digest is
    unchanged get no story keys or search text (they are not written).
    """

    stories: StoriesConfig
    known: Callable[[], Awaitable[Mapping[str, HeldItem]]]


def body_digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def listing_digest(item: ParsedItem, *, dated: bool) -> str:
    """What the list page or feed said of an item: when it changes, the article is read again.
    Not `dated` for list pages: theirs is often relative (`3小时前`) and moves as time passes."""
    published = item.published.isoformat() if dated and item.published else None
    fields = [item.title, item.url, item.upstream_id, item.summary, item.content_html, published]
    return body_digest(json.dumps(fields, ensure_ascii=False).encode())


async def collect(
    source: SourceConfig,
    *,
    fetcher: Fetcher,
    robots: Robots,
    state: FetchState,
    default_tz: tzinfo,
    known_listings: KnownListings | None = None,
    cpu: CpuPool = _THREAD,
    plan: RecordPlan | None = None,
    now: datetime | None = None,
    articles: Callable[[int, int], None] | None = None,
) -> Collected:
    """Fetch and parse `source`; raises `AggregatorError` subclasses on failure. A document
    due to be read whole (`state.reread_at`) is asked for without validators, and parsed
    even if its body is unchanged. `articles(done, total)` is called as each listed item's
    article is read (or found read before)."""
    now = now or datetime.now(UTC)
    hosts = allowed_hosts(source.url, source.follow_hosts)
    url = state.effective_url or source.url
    whole = state.reread_at is not None and state.reread_at <= now.timestamp()
    validators = (None, None) if whole else (state.etag, state.last_modified)
    response = await source_document(source, url, fetcher, robots, hosts, validators)
    if response.not_modified:
        return Collected(response, None)
    digest = body_digest(response.body)
    if digest == state.body_hash and not whole:
        return Collected(response, None, body_hash=digest)
    if not response.body.strip():
        raise FetchError("empty body", url=response.url, status=response.status)
    warnings: list[str] = []
    notes: list[str] = []
    dues: list[float] = []
    failed = False
    lists = {source.url, url}  # an article that leads back to one of them is gone
    if source.lists:
        feed, failed, read_pages = await list_pages(
            source, response, fetcher, robots, hosts, default_tz, now, warnings, notes
        )
        lists.update(read_pages)
        if failed:
            dues.append(now.timestamp() + LIST_PAGE_RETRY)
    else:
        beside = None if source.full_content else plan
        parse = _Parse(source, default_tz, cpu, beside, fetcher.config.max_entries)
        last = None if whole else state.body_hash
        fetched = (response, digest)
        try:
            read = await _feed(source, fetched, fetcher, robots, hosts, warnings, parse, last)
        except ParseError as exc:  # the status shows the answer that carried it, as for
            exc.status = exc.status or response.status  # an empty body
            raise
        parsed, response, digest = read
        if parsed is None:  # the document its page leads to is unchanged
            return Collected(response, None, (), tuple(warnings), body_hash=digest)
        feed = parsed
        lists.add(response.url)
        if parse.records is not None:
            warnings.extend(feed.warnings)
            records = tuple(parse.records)
            listed = tuple(record.key for record in records)
            return Collected(response, feed, (), tuple(warnings), digest, records, listed=listed)
    warnings.extend(feed.warnings)
    # A list page that yields nothing has most likely changed under its selectors (or is a
    # challenge page): said at every fetch, not skipped as unchanged after the first.
    if source.lists and not feed.items:
        dues.append(now.timestamp())
        warnings.append(
            f"no items on the list page {response.url}: [sources.list] item and link matched "
            f"nothing; has the page changed? `aggregator preview {source.id}` shows what it reads"
        )
    follow = source.lists or source.full_content
    known = (
        await known_listings(source.id, [item_key(i) for i in feed.items])
        if follow and known_listings
        else {}
    )
    reads = await asyncio.gather(
        *_counted(
            [
                _item(source, item, follow, known, fetcher, robots, hosts, default_tz, now, lists)
                for item in feed.items
            ],
            articles if follow else None,
        )
    )
    warnings.extend(read.problem for read in reads if read.problem)
    kept = tuple((r.item, r.listing) for r in reads if r.item is not None and not r.keep)
    relisted = tuple((item_key(r.item), r.listing) for r in reads if r.item and r.keep)
    # An article not read whole is tried again when it is due: the same body must not be
    # skipped as unchanged then, nor answered by a 304.
    dues.extend(read.due for read in reads if read.due is not None)
    pages = {item_key(read.item): read.pages for read in reads if read.item and read.pages}
    charsets = {item_key(read.item): read.charset for read in reads if read.item and read.charset}
    return Collected(
        response,
        feed,
        kept,
        tuple(warnings),
        digest,
        reread_at=min(dues, default=None),
        article_pages=pages,
        article_charsets=charsets,
        relisted=relisted,
        notes=tuple(notes),
        # the items of the pages read: a list cut short by a failed page lists no fewer
        listed=None if failed else tuple(item_key(item) for item in feed.items),
    )


def _counted(
    reads: list[Coroutine[None, None, _Read]], report: Callable[[int, int], None] | None
) -> list[Coroutine[None, None, _Read]]:
    """`reads`, calling `report(done, total)` as each ends: a list of 30 articles at 2 s a
    page is a silent minute on a terminal otherwise."""
    if report is None:
        return reads
    done = 0

    async def counted(read: Coroutine[None, None, _Read]) -> _Read:
        nonlocal done
        result = await read
        done += 1
        report(done, len(reads))
        return result

    return [counted(read) for read in reads]


class _Parse:
    """A feed body to a `ParsedFeed` in the CPU pool; with a plan, its records too, kept here."""

    def __init__(
        self,
        source: SourceConfig,
        default_tz: tzinfo,
        cpu: CpuPool,
        plan: RecordPlan | None,
        max_entries: int,
    ) -> None:
        self.source = source
        self.default_tz = default_tz
        self.cpu = cpu
        self.plan = plan
        self.max_entries = max_entries
        self.records: list[ItemRecord] | None = None

    async def __call__(self, resp: Response) -> ParsedFeed:
        source, tz, most = self.source, self.default_tz, self.max_entries
        if self.plan is None:
            return await self.cpu.run(
                parse_feed, resp.body, url=resp.url, header_charset=resp.charset,
                encoding=source.encoding, default_tz=tz, max_entries=most,
                iframe_hosts=source.iframe_hosts,
            )  # fmt: skip
        known = await self.plan.known()
        feed, self.records = await self.cpu.run(
            parse_and_build, resp.body, source, self.plan.stories, known, url=resp.url,
            header_charset=resp.charset, encoding=source.encoding, default_tz=tz, max_entries=most,
        )  # fmt: skip
        return feed


async def _feed(
    source: SourceConfig,
    fetched: tuple[Response, str],
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    warnings: list[str],
    parse: Callable[[Response], Awaitable[ParsedFeed]],
    known: str | None,
) -> tuple[ParsedFeed | None, Response, str]:
    """The feed in the `fetched` response (with its body's digest), or else in the document
    its HTML page leads to: where the page forwards at once (a refresh), or its feed link.
    Also the response the feed came from and its body digest, stored as the source's: a page
    that stays the same in front of a feed that changed must not make the fetch `unchanged`.
    The feed is None when the document led to has the digest `known`."""
    response, digest = fetched
    try:
        return await parse(response), response, digest
    except NotAFeed as exc:
        followed = await forwarded(source, response, fetcher, robots, hosts)
        if followed is response:
            if not exc.alternates:
                raise
            followed = in_place_of(response, await _alternate(source, response, exc, fetcher,
                                                              hosts, warnings))  # fmt: skip
    digest = body_digest(followed.body)
    return (None if digest == known else await parse(followed)), followed, digest


async def _alternate(
    source: SourceConfig,
    response: Response,
    exc: NotAFeed,
    fetcher: Fetcher,
    hosts: frozenset[str],
    warnings: list[str],
) -> Response:
    alternate = exc.alternates[0]
    if reason := await check_discovered(alternate, source_url=source.url, hosts=hosts):
        raise Refused(
            f"autodiscovered feed {alternate} refused: {reason}", url=response.url
        ) from exc
    warnings.append(f"an HTML page: followed its feed link {alternate}; use it as url")
    return await fetcher.get(
        alternate,
        source_url=source.url,
        hosts=hosts,
        verify_tls=source.tls_verify,
        headers=source.request_headers,
    )


@dataclass(frozen=True, slots=True)
class _Read:
    """A listed item after its article was read, or not."""

    item: ParsedItem | None  # None: stored before, and not to be stored again
    listing: str | None = None  # what led to the article, as stored (`Failures`)
    problem: str | None = None
    due: float | None = None  # when its article is to be tried again
    pages: tuple[str, ...] = ()  # the article pages read, in order
    charset: str | None = None  # how the first was decoded (`ReadArticle.charset`)
    # The article read before failed now: the item stays as stored, only `listing` is new.
    keep: bool = False


async def _item(
    source: SourceConfig,
    listed: ParsedItem,
    follow: bool,
    known: dict[str, str],
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    default_tz: tzinfo,
    now: datetime,
    lists: Collection[str],
) -> _Read:
    """An item completed by its article, unless it was read whole before, or failed at
    `ARTICLE_TRIES` fetches in a row and is not yet due again (`aggregator/retries.py`).
    An article that fails to read (`lists` are the pages an article that is gone leads back
    to) leaves an item stored with an article read before as it is: its list or feed gave
    only a title and a date."""
    if not follow or not listed.url or (source.type == "json" and listed.content_html):
        return _Read(listed)  # a JSON record with its body is whole
    digest = listing_digest(listed, dated=source.type == "feed")
    stored = known.get(item_key(listed))
    failures = Failures.of(stored, digest)
    if stored == digest:
        return _Read(None)
    if failures.due > now.timestamp():
        return _Read(None, due=failures.due)

    keep = read_before(stored)

    def failed(problem: str, partial: ParsedItem | None = None) -> _Read:
        """`partial`: what was read of an article a later page of which failed."""
        tried = Failures(failures.count + 1, now.timestamp())
        listing = tried.stored(digest, read=keep or partial is not None)
        due = max(tried.due, now.timestamp())
        item = listed if keep else partial or listed
        return _Read(item, listing, problem + tried.waiting(), due, keep=keep)

    try:
        if listed.body_url and source.detail is not None:  # the record's detail API
            read = await read_detail(source, listed, fetcher, robots, hosts, default_tz, now)
        else:
            read = await read_article(
                source, listed.url, fetcher, robots, hosts, default_tz, now,
                listed.title or None, lists,
            )  # fmt: skip
    except AggregatorError as exc:  # named by what failed: the page, or the detail API
        detail = listed.body_url if source.detail is not None else None
        return failed(article_problem(detail or listed.url, exc))
    merge = merge_record if source.type == "json" else merge_article
    item = merge(listed, read.item)
    if read.problem:  # missing a page: stored as far as it was read, unless read whole before
        return replace(failed(read.problem, item), pages=read.pages, charset=read.charset)
    return _Read(item, digest, pages=read.pages, charset=read.charset)
