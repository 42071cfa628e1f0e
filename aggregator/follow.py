"""The pages a source leads to, fetched as each must be: later list pages, articles and
their later pages, and where a meta refresh sends a page at once. Every one of them stays on
the source's hosts (`follow_hosts`), asks `robots.txt` first, and names itself in its error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from aggregator.config import SourceConfig
from aggregator.errors import FetchError, Refused
from aggregator.fetcher import Fetcher, Response
from aggregator.netpolicy import check_discovered
from aggregator.robots import Robots
from feeds.bound import Listing
from feeds.charset import decode
from feeds.enclosures import enclosures
from feeds.errors import AggregatorError, ParseError
from feeds.files import document_type
from feeds.htmlpage import ArticlePage, article_from, read_article_page
from feeds.jsonlist import parse_json_detail, parse_json_list
from feeds.jsonpaths import JsonListRules
from feeds.listpage import ListPage, parse_list_page
from feeds.model import ParsedFeed, ParsedItem
from feeds.refresh import meta_refresh, script_redirect
from feeds.selectors import ArticleRules
from feeds.withdrawal import gone_notice, redirected_away

MAX_REFRESHES = 3  # refreshes (meta, header or script) followed from one page, as redirects are
# What a page's script asks a JSON API with (jQuery's `dataType: "json"`): sent the feed
# reader's Accept, an API negotiating by it (Django REST framework's) answered its HTML page.
JSON_ACCEPT = "application/json, text/javascript, */*; q=0.01"


def _same_as_first(source: SourceConfig) -> str:
    said = "lists only what page 1 listed, and the list ends there"
    rules = source.list
    if isinstance(rules, JsonListRules) and rules.page_param:
        return f"{said}: does the upstream read sources.list.page_param {rules.page_param!r}?"
    return f"{said}: sources.list.next_page may pick the wrong link"


async def list_pages(
    source: SourceConfig,
    response: Response,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    default_tz: tzinfo,
    now: datetime,
    warnings: list[str],
    notes: list[str] | None = None,
) -> tuple[ParsedFeed, bool, frozenset[str]]:
    """The list page and up to `max_pages - 1` following pages, whether one failed (that
    ends the list with a warning), and the URLs of the pages read. One that links or
    redirects back to a page already read ends the list quietly. Of the items listed,
    `fetch.max_entries` are read, chosen as a feed's entries are: each costs an article
    request. Items skipped because their link is a script no URL could be read from are
    counted in a warning: `sources.list.link` can read them with an `attr` and a `regex`."""
    assert source.list is not None, "config guarantees [sources.list] for list sources"
    most = fetcher.config.max_entries
    items: Listing[ParsedItem] = Listing(most, lambda item: item.published)
    charset = None
    failed = False
    seen = {response.url}
    # by POST, the same address is each page's, told apart by the body's page number
    asked = {(response.url, _body_of(list_post(source, 1)))}
    linked: set[str | None] = set()  # an item a later page lists again is read once
    page = response
    listed_count = scripted = 0
    for number in range(1, source.list.max_pages + 1):
        # JSON is UTF-8 unless its header or BOM say otherwise: a `<meta charset>` quoted in
        # one of its strings is no declaration (RFC 8259 §8.1)
        text = decode(page.body, header_charset=page.charset, override=source.encoding,
                      markup=source.type != "json")  # fmt: skip
        charset = charset or text.charset
        if text.how == "fallback" and (lost := text.text.count("\ufffd")):
            warnings.append(
                f"list page {number} {page.url}: no charset decodes it whole, {lost} characters"
                " lost (mixed encodings?); sources.encoding names the right one"
            )
        try:
            listed = await asyncio.to_thread(
                _list_page, source, text.text, page.url, (default_tz, now), most, number > 1
            )
        except ParseError as exc:
            if number == 1:
                raise
            warnings.append(f"list page {number} {page.url}: {_unprefixed(exc, page.url)}")
            failed = True
            break
        warnings.extend(f"list page {number} {page.url}: {said}" for said in listed.warnings)
        if notes is not None:
            notes.extend(f"list page {number} {page.url}: {said}" for said in listed.notes)
        fresh = [item for item in listed.items if item.url not in linked]
        if number > 1 and listed.items and not fresh:
            # a page past the last showing the last again, or paging the upstream ignores
            # (page 2 is page 1): asking on would only repeat it `max_pages` times
            if number == 2:
                warnings.append(f"list page 2 {page.url}: {_same_as_first(source)}")
            break
        linked.update(item.url for item in fresh)
        items.extend(fresh)
        listed_count, scripted = listed_count + len(fresh), scripted + listed.script_links
        url = listed.next_page
        post = list_post(source, number + 1)
        if number == source.list.max_pages or not url or (url, _body_of(post)) in asked:
            break
        seen.add(url)
        asked.add((url, _body_of(post)))
        try:
            if source.type == "json":  # an API's answer forwards nowhere
                page = await _discovered(
                    source, url, fetcher, robots, hosts, listing=True, post=post
                )
            else:
                page = await _followed(source, url, fetcher, robots, hosts)
        except AggregatorError as exc:
            warnings.append(f"list page {number + 1} {url}: {_unprefixed(exc, url)}")
            failed = True
            break
        if page.url != url and (page.url, _body_of(post)) in asked:
            break
        asked.add((page.url, _body_of(post)))
        seen.add(page.url)
    if scripted:
        warnings.append(
            f"{scripted} of {scripted + listed_count} items skipped: their link is a script"
            " (javascript:), see sources.list.link"
        )
    chosen, left_out = items.chosen()
    if left_out:
        warnings.append(left_out)
    feed = ParsedFeed(items=tuple(chosen), link=response.url, format=source.type, charset=charset)
    return feed, failed, frozenset(seen)


def _list_page(
    source: SourceConfig,
    text: str,
    url: str,
    when: tuple[tzinfo, datetime],
    most: int | None,
    later: bool,
) -> ListPage:
    tz, now = when
    if isinstance(source.list, JsonListRules):
        return parse_json_list(
            text, url=url, rules=source.list, tz=tz, now=now, iframe_hosts=source.iframe_hosts,
            most=most, later=later, detail=source.detail,
        )  # fmt: skip
    assert source.list is not None, "config guarantees [sources.list] for html sources"
    return parse_list_page(text, url=url, rules=source.list, tz=tz, now=now)


def _body_of(post: tuple[bytes, str] | None) -> bytes | None:
    return None if post is None else post[0]


def list_post(source: SourceConfig, number: int) -> tuple[bytes, str] | None:
    """The body a JSON source's list page `number` is asked for with by POST, and its
    content type; None when its list is asked for by GET."""
    rules = source.list
    if not isinstance(rules, JsonListRules) or rules.post is None:
        return None
    return rules.post.for_page(rules.page_param, number)


def article_problem(article: str, exc: AggregatorError, page: tuple[int, str] | None = None) -> str:
    """`article URL: why`, or `article URL: page N URL: why`: the failing URL said once, where
    the error's own message starts with it."""
    failed = page[1] if page else article
    why = _unprefixed(exc, failed)
    return (
        f"article {article}: page {page[0]} {failed}: {why}"
        if page
        else f"article {article}: {why}"
    )


def _unprefixed(exc: AggregatorError, url: str) -> str:
    """The error's reason, without the URL its message starts with when it names one."""
    return str(exc).removeprefix(f"{url}: ")


async def _followed(
    source: SourceConfig,
    url: str,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    pages_only: bool = False,
) -> Response:
    """A page the source leads to (a later list page, an article, an article's later page),
    and where its meta refresh sends it at once; see `Fetcher.get` for `pages_only`."""
    response = await _discovered(source, url, fetcher, robots, hosts, pages_only)
    return await _refreshed(source, response, fetcher, robots, hosts, pages_only)


async def source_document(
    source: SourceConfig,
    url: str,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    validators: tuple[str | None, str | None],
) -> Response:
    """The source's own list page or feed, asked for with the last one's validators. Its URL
    is the operator's word, so no host is refused; an html source asks `robots.txt` first,
    and goes on where its meta refresh sends it.

    A page reached by a refresh keeps no validators: sent to the refreshing page, they would
    be another page's, and a static page older than its target's `Last-Modified` would answer
    304 for ever. Nor does its permanent redirect move the source."""
    if not source.lists:
        return await _get(source, url, fetcher, hosts, validators)
    await _robots_allow(source, url, robots)
    listing = source.type == "json"
    post = list_post(source, 1)
    if post is not None:  # an answer to a POST has no validators to ask it again with
        validators = (None, None)
    first = await _get(source, url, fetcher, hosts, validators, robots, listing=listing, post=post)
    if listing:  # an API's answer forwards nowhere
        return first
    return await forwarded(source, first, fetcher, robots, hosts)


async def forwarded(
    source: SourceConfig, first: Response, fetcher: Fetcher, robots: Robots, hosts: frozenset[str]
) -> Response:
    """Where the source's own document `first` forwards at once (itself when it does not),
    read as the source's document: see `source_document`."""
    final = await _refreshed(source, first, fetcher, robots, hosts)
    return first if final is first else in_place_of(first, final)


def in_place_of(first: Response, final: Response) -> Response:
    """`final`, read in place of the source's own document `first`: without validators,
    which are another URL's, and moved only where `first` moved."""
    return replace(final, etag=None, last_modified=None, permanent_url=first.permanent_url)


async def _discovered(
    source: SourceConfig,
    url: str,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    pages_only: bool = False,
    *,
    listing: bool = False,
    post: tuple[bytes, str] | None = None,
) -> Response:
    """A page the service found its way to, fetched as each is: allowed hosts and robots.txt
    first; `listing`: a JSON source's later list page, by POST with `post` (`_get`)."""
    if reason := await check_discovered(url, source_url=source.url, hosts=hosts):
        raise Refused(reason, url=url)
    await _robots_allow(source, url, robots)
    validators = (None, None)
    return await _get(
        source, url, fetcher, hosts, validators, robots, pages_only, listing=listing, post=post
    )


async def _robots_allow(source: SourceConfig, url: str, robots: Robots) -> None:
    if reason := await _robots_refusal(source, url, robots):
        raise Refused(reason, url=url)


async def _robots_refusal(source: SourceConfig, url: str, robots: Robots) -> str | None:
    if not source.respect_robots:
        return None
    return await robots.refusal(url, source.tls_verify, source.user_agent)


async def _get(
    source: SourceConfig,
    url: str,
    fetcher: Fetcher,
    hosts: frozenset[str],
    validators: tuple[str | None, str | None],
    robots: Robots | None = None,
    pages_only: bool = False,
    *,
    listing: bool = False,
    post: tuple[bytes, str] | None = None,
) -> Response:
    """`url`, and with `robots` every redirect's target asked of robots.txt first, as the
    page itself was; `listing`: a JSON source's list, asked for as a page's script asks
    (`JSON_ACCEPT`), unless the source's own headers name an Accept; by POST with `post`."""
    headers = source.request_headers
    if listing:
        headers = (("Accept", JSON_ACCEPT), *headers)

    async def permit(target: str) -> str | None:
        assert robots is not None
        return await _robots_refusal(source, target, robots)

    return await fetcher.get(
        url,
        source_url=source.url,
        hosts=hosts,
        etag=validators[0],
        last_modified=validators[1],
        verify_tls=source.tls_verify,
        headers=headers,
        permit=permit if robots is not None else None,
        pages_only=pages_only,
        post=post,
    )


async def _refreshed(
    source: SourceConfig,
    response: Response,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    pages_only: bool = False,
) -> Response:
    """The page `response` sends its reader to at once, by a meta refresh, a `Refresh`
    header or a stub's script (an e-paper's address to today's edition), followed as a
    redirect is, up to `MAX_REFRESHES` times; see `Fetcher.get` for `pages_only`."""
    seen = {response.url}
    while not response.not_modified and (target := _forwards_to(source, response)):
        if target in seen:
            raise FetchError(f"refresh loop through {target}", url=response.url)
        if len(seen) > MAX_REFRESHES:
            raise FetchError(f"more than {MAX_REFRESHES} refreshes", url=response.url)
        seen.add(target)
        try:
            response = await _discovered(source, target, fetcher, robots, hosts, pages_only)
        except Refused as exc:
            why = f"refresh to {target} refused: {_unprefixed(exc, target)}"
            raise Refused(why, url=response.url) from exc
    return response


def _forwards_to(source: SourceConfig, response: Response) -> str | None:
    body, url = response.body, response.url
    charset, override = response.charset, source.encoding
    refresh = meta_refresh(body, url, response.refresh, charset=charset, override=override)
    return refresh or script_redirect(body, url)


@dataclass(frozen=True, slots=True)
class ReadArticle:
    """An article read from its pages: the item they make, their URLs in order, the problem
    that cut it short (a later page that failed), and how its first page was decoded (`gb18030
    (meta)`: a portal's articles may lie about their charset otherwise than its list)."""

    item: ParsedItem
    pages: tuple[str, ...]
    problem: str | None = None
    charset: str | None = None


async def read_article(
    source: SourceConfig,
    url: str,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    default_tz: tzinfo,
    now: datetime,
    listed_title: str | None = None,
    lists: Collection[str] = (),
) -> ReadArticle:
    """The article at `url` with its later pages, made one item off the loop; raises
    `AggregatorError` when its first page cannot be read or made into one, or is not the
    article but the site's answer that it is gone (`feeds/withdrawal.py`; `lists` are the
    pages that listed it). A link to a file (a notice's PDF) is an item with that file for
    its enclosure, the list's fields for the rest. `listed_title` is the title its list gave
    (`article_from`)."""
    if kind := document_type(url):  # by its name: not asked for at all
        return ReadArticle(_file_item(url, kind, None), (url,))
    page = await _followed(source, url, fetcher, robots, hosts, pages_only=True)
    if away := redirected_away(url, page.url, lists):
        raise FetchError(f"{away}: withdrawn?", url=url)
    if page.file is not None:
        return ReadArticle(_file_item(page.url, page.file, page.length), (page.url,))
    first, charset = await _article_page(source, page)
    pages, problem = await _continued_pages(source, first, fetcher, robots, hosts)
    article = await asyncio.to_thread(
        article_from,
        first,
        rules=source.article,
        tz=default_tz,
        now=now,
        iframe_hosts=source.iframe_hosts,
        continued=pages,
        listed_title=listed_title,
        site_names=(source.name, *source.aliases),
    )
    if said := gone_notice(first.doc, article.content_html):
        raise FetchError(f"the page only says {said!r}: withdrawn?", url=url)
    return ReadArticle(article, (first.url, *(page.url for page in pages)), problem, charset)


async def read_detail(
    source: SourceConfig,
    record: ParsedItem,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
    default_tz: tzinfo,
    now: datetime,
) -> ReadArticle:
    """A JSON record's article from its detail API (`ParsedItem.body_url`), asked for as its
    list is; raises `AggregatorError` when it cannot be read or gives no body."""
    assert source.detail is not None, "the caller checked the source has a detail API"
    url, link = record.body_url, record.url
    assert url is not None, "the caller checked the record has a detail address"
    assert link is not None, "a record has a link"
    page = await _discovered(source, url, fetcher, robots, hosts, listing=True)
    text = decode(page.body, header_charset=page.charset, override=source.encoding, markup=False)
    item = await asyncio.to_thread(
        parse_json_detail, text.text, url=page.url, link=link, rules=source.detail,
        tz=default_tz, now=now, iframe_hosts=source.iframe_hosts,
    )  # fmt: skip
    return ReadArticle(item, (page.url,), None, f"{text.charset} ({text.how})")


def _file_item(url: str, kind: str, length: int | None) -> ParsedItem:
    return ParsedItem(
        title="",
        url=url,
        enclosures=enclosures([(url, kind, length)], url),
        provenance=(("enclosures", "detected"),),
    )


async def _article_page(source: SourceConfig, page: Response) -> tuple[ArticlePage, str]:
    """One page of an article, decoded with the source's charset override and parsed off the
    loop, and its codec with the clue that chose it."""
    text = decode(page.body, header_charset=page.charset, override=source.encoding)
    read = await asyncio.to_thread(read_article_page, text.text, url=page.url, rules=source.article)
    return read, f"{text.charset} ({text.how})"


async def _continued_pages(
    source: SourceConfig,
    first: ArticlePage,
    fetcher: Fetcher,
    robots: Robots,
    hosts: frozenset[str],
) -> tuple[list[ArticlePage], str | None]:
    """The article's other pages, in order, up to `max_pages` in all; a page that links or
    redirects back to one already read ends it. The problem that stopped it early, if any."""
    limit = (source.article or ArticleRules()).max_pages
    pages: list[ArticlePage] = []
    seen = {first.url}
    page = first
    while page.next_page and page.next_page not in seen and len(pages) + 1 < limit:
        url = page.next_page
        seen.add(url)
        try:
            response = await _followed(source, url, fetcher, robots, hosts)
            page, _ = await _article_page(source, response)
        except AggregatorError as exc:
            return pages, article_problem(first.url, exc, page=(len(pages) + 2, url))
        if page.url != url and page.url in seen:  # redirected to a page already read
            break
        seen.add(page.url)
        pages.append(page)
    return pages, None
