"""Reader queries on feed routes: `limit`, `before`, `q`, `tag`, `source`, checked up front.

A bad value answers 400 naming the parameter, before any query runs, so a typo is never
mistaken for an empty feed.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from aiohttp import web

from aggregator.config import ID_PATTERN, FeedConfig
from aggregator.documents import Query, parse_cursor
from feeds.searchtext import MAX_QUERY_TERMS
from storage import match_expression

PARAMETERS = frozenset({"before", "limit", "q", "source", "tag"})
MAX_LIMIT = 500
MAX_QUERY_CHARS = 200
MAX_TAG_CHARS = 100


# A partner site's script reads why its request failed, not only that it did.
CROSS_ORIGIN = {"Access-Control-Allow-Origin": "*"}
# An error repeats what was asked (`limit: … not '<script>…'`): read as text, never sniffed.
_ERROR_HEADERS = {**CROSS_ORIGIN, "X-Content-Type-Options": "nosniff"}


class BadQuery(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=message + "\n", content_type="text/plain", headers=_ERROR_HEADERS)


class NoSuchFeed(web.HTTPNotFound):
    def __init__(self, message: str) -> None:
        super().__init__(text=message + "\n", content_type="text/plain", headers=_ERROR_HEADERS)


def one_value(request: web.Request, name: str) -> str | None:
    """The parameter's value; a parameter given twice is a fault, not a choice of ours."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise BadQuery(f"{name}: give it once, not {len(values)} times")
    return values[0] if values else None


def checked_limit(raw: str, maximum: int = MAX_LIMIT) -> int:
    """`raw` as an integer from 1 to `maximum`, the bounds of every `limit` a reader or the
    command line gives; raises `ValueError` naming them otherwise."""
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:  # not "²"
        raise ValueError(f"must be an integer from 1 to {maximum}, not {raw!r}")
    return int(raw)


def parse_limit(raw: str | None, default: int, maximum: int = MAX_LIMIT) -> int:
    """`limit` as an integer from 1 to `maximum`; raises `BadQuery` otherwise."""
    if raw is None:
        return default
    try:
        return checked_limit(raw, maximum)
    except ValueError as exc:
        raise BadQuery(f"limit: {exc}") from None


def _text(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > MAX_QUERY_CHARS:
        raise BadQuery(f"q: at most {MAX_QUERY_CHARS} characters")
    if len(raw.split()) > MAX_QUERY_TERMS:  # those after were left out, and matched anything
        raise BadQuery(f"q: at most {MAX_QUERY_TERMS} words")
    if match_expression(raw) is None:
        raise BadQuery(f"q: no word to search for in {raw!r}")
    return raw


def _tag(raw: str | None) -> str | None:
    if raw is None:
        return None
    tag = raw.strip()
    if not tag or len(tag) > MAX_TAG_CHARS:
        raise BadQuery(f"tag: must be 1 to {MAX_TAG_CHARS} characters, not {raw!r}")
    return tag


def _source(raw: str | None, feed: FeedConfig) -> str | None:
    if raw is None:
        return None
    if not ID_PATTERN.match(raw):
        raise BadQuery(f"source: not a source id: {raw!r}")
    if raw not in feed.source_set:
        raise BadQuery(f"source: {raw!r} is not a source of this feed")
    return raw


def known_parameters(
    request: web.Request, names: frozenset[str] = PARAMETERS
) -> list[tuple[str, str]]:
    """The request's parameters that the route reads (`names`), in the order given."""
    return [(name, value) for name, value in request.query.items() if name in names]


def canonical_target(request: web.Request, names: frozenset[str] = PARAMETERS) -> str:
    """The request's path and only the parameters the route reads (`names`): the key its
    document is cached under, and its self link. Any other parameter (a script's cache-buster
    `_=…`, a tracker's `utm_source`) changes nothing in the document; under the request as
    sent, each one rendered it again, which anyone could repeat to keep the server busy.
    Nor do a fragment (`#top`, which clients do not send) and a request target in absolute
    form (`GET http://host/feeds/all.atom`, which a server must take as its path)."""
    target = request.rel_url
    query = target.raw_query_string
    kept = [part for part in query.split("&") if unquote_plus(part.partition("=")[0]) in names]
    return f"{target.raw_path}?{'&'.join(kept)}" if kept else target.raw_path  # spelled as sent


def check_page(request: web.Request) -> None:
    """`page` other than 1 is refused: answered with the first page, page 2 would be page 1
    again, silently. Checked before the cache is, which keys documents without it."""
    if (page := one_value(request, "page")) is not None and page.strip() != "1":
        raise BadQuery("page: paging is by the `before` cursor of each page's `next` link")


def parse_query(request: web.Request, feed: FeedConfig) -> Query:
    """The reader's `Query` on `feed`; raises `BadQuery` (400) for any bad parameter."""
    check_page(request)
    before = None
    if (raw := one_value(request, "before")) is not None:
        try:
            before = parse_cursor(raw)
        except ValueError:
            raise BadQuery(f"before: not a paging cursor: {raw!r}") from None
    return Query(
        limit=parse_limit(one_value(request, "limit"), feed.limit),
        before=before,
        text=_text(one_value(request, "q")),
        tag=_tag(one_value(request, "tag")),
        source=_source(one_value(request, "source"), feed),
    )
