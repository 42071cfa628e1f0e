"""Widgets for partner sites: `/embed/{feed}` for an `<iframe>`, `/embed/{feed}.js` for a `<div>`.

The page is self-contained (no external asset, one inline stylesheet allowed by its hash) and
served with a Content-Security-Policy that forbids every script, so even a sanitiser bug could
not run code in it; every text is escaped and only http(s) links are written. The script
renders our JSON Feed with DOM calls and `textContent` only (see `embed.js`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from datetime import UTC, datetime, tzinfo
from html import escape
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from aggregator.config import FeedConfig
from aggregator.documents import Query, channel, last_modified, select
from aggregator.errors import UnknownSource
from aggregator.publish import build_feed
from aggregator.service import Service
from aggregator.web.cache import Rendered, make_rendered
from aggregator.web.feedroutes import answer_headers, respond, settle
from aggregator.web.keys import CACHE, SERVICE
from aggregator.web.queries import (
    BadQuery,
    NoSuchFeed,
    canonical_target,
    one_value,
    parse_limit,
)
from aggregator.withdrawn import withdrawn
from feeds.model import OutEntry
from feeds.sanitize import plain_line, summarize

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
THEMES = ("light", "dark")
_PARAMETERS = frozenset({"limit", "theme", "lang"})  # what an embed page reads
LABELS = {
    "zh": {"locale": "zh-CN", "subscribe": "订阅", "empty": "暂无内容",
           "error": "暂时无法加载", "untitled": "无标题", "source": "来源"},
    "en": {"locale": "en", "subscribe": "Subscribe", "empty": "Nothing here yet",
           "error": "Could not load the feed", "untitled": "Untitled", "source": "Source"},
}  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STYLE = (
    "body{margin:0;padding:.5rem .75rem;font:14px/1.45 system-ui,sans-serif;"
    "background:#fff;color:#1d1d1f}body.dark{background:#1c1c1e;color:#f2f2f7}"
    "h1{font-size:1rem;margin:0 0 .4rem}ol{list-style:none;margin:0;padding:0}"
    "li{padding:.35rem 0;border-bottom:1px solid rgba(128,128,128,.25);overflow-wrap:anywhere}"
    "a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}"
    "body.dark a{color:#8ab4f8}.meta{font-size:.8rem;opacity:.7}.more{margin:.5rem 0 0}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors *"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_SCRIPT = resources.files("aggregator.web").joinpath("embed.js").read_text("utf-8")
# the script changes with the config (its addresses, its feeds) and with this program
_SCRIPT_WRITTEN = Path(__file__).with_name("embed.js").stat().st_mtime


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str:
    value = one_value(request, name)
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise BadQuery(f"{name}: must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _href(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, the only kind a partner page may link to."""
    if not url:
        return None
    try:
        return url if urlsplit(url).scheme in ("http", "https") else None
    except ValueError:
        return None


def _date(when: datetime, zone: tzinfo, lang: str) -> str:
    local = when.astimezone(zone)
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def _entry(entry: OutEntry, zone: tzinfo, lang: str) -> str:
    labels = LABELS[lang]
    # As the feeds publish them, so the page and the script show the same words.
    title = plain_line(entry.title) or plain_line(summarize(entry.summary, 80))
    title = escape(title or labels["untitled"])
    href = _href(entry.url)
    link = (
        f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">{title}</a>'
        if href
        else title
    )
    published = entry.published.isoformat(timespec="seconds")
    return (
        f'<li>{link}<div class=meta><time datetime="{escape(published)}">'
        f"{escape(_date(entry.published, zone, lang))}</time> · "
        f"{escape(labels['source'])}: {escape(plain_line(entry.source.name))}</div></li>"
    )


def _settings(request: web.Request) -> tuple[FeedConfig, int, str, str]:
    """The feed, limit, theme and language asked for; 404 or 400 when they are not ours."""
    try:
        feed = channel(request.app[SERVICE].config, "feeds", request.match_info["feed"])
    except UnknownSource as exc:
        raise NoSuchFeed(exc.args[0]) from None
    limit = parse_limit(one_value(request, "limit"), DEFAULT_LIMIT, MAX_LIMIT)
    return feed, limit, _choice(request, "theme", THEMES), _choice(request, "lang", tuple(LABELS))


async def _page(service: Service, feed: FeedConfig, limit: int, theme: str, lang: str) -> Rendered:
    generation = service.version("feeds", feed.id)
    config = service.config
    ident = feed.id
    hidden = withdrawn(config.stories)
    items = await select(service.db, feed, Query(limit=limit), merged=True, hidden=hidden)
    feed_url = f"{config.service.base_url}/feeds/{ident}.atom"
    modified = await last_modified(config, service.db, feed)
    document = build_feed(
        config, kind="feeds", ident=ident, title=feed.title, description=feed.description,
        items=items, self_url=feed_url, modified=modified,
    )  # fmt: skip
    zone = config.service.timezone
    entries = "".join(_entry(entry, zone, lang) for entry in document.entries)
    labels = LABELS[lang]
    body = f"<ol>{entries}</ol>" if entries else f"<p>{escape(labels['empty'])}</p>"
    page = (
        f'<!DOCTYPE html><html lang="{labels["locale"]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{_STYLE}</style></head>"
        f'<body class="{theme}"><h1>{escape(document.title)}</h1>{body}'
        f'<p class=more><a href="{escape(feed_url)}" target="_blank" rel="noopener">'
        f"{escape(labels['subscribe'])}</a></p></body></html>\n"
    )
    headers = answer_headers(service, _PAGE_HEADERS)
    return make_rendered(
        generation,
        page.encode("utf-8"),
        "text/html; charset=utf-8",
        max(document.updated, modified),
        headers,
        settle=settle(service),
    )


def _script(base_url: str, ident: str) -> bytes:
    settings = {
        "feed": ident,
        "fallback": f"{base_url}/feeds/{ident}.json",
        "defaultLimit": DEFAULT_LIMIT,
        "maxLimit": MAX_LIMIT,
        "labels": LABELS,
    }
    # Escaped so no value can close the script or start markup, wherever it is inlined.
    literal = (
        json.dumps(settings, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")
    )
    return _SCRIPT.replace("/*CONFIG*/ null", literal, 1).encode("utf-8")


async def embed_page(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    cache = request.app[CACHE]
    key = "embed:" + canonical_target(request, _PARAMETERS)
    generation = service.version("feeds", request.match_info["feed"])
    rendered = cache.get(key, generation)
    if rendered is None:
        render = functools.partial(_page, service, *_settings(request))
        rendered = await cache.render_once(key, generation, render)
    return await respond(request, rendered)


async def embed_script(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    ident = request.match_info["feed"]
    if service.config.feed(ident) is None:
        raise NoSuchFeed(f"no feed {ident!r}")
    key = "embed.js:" + ident
    rendered = request.app[CACHE].get(key, service.generation)
    if rendered is None:
        body = _script(service.config.service.base_url, ident)
        changed = datetime.fromtimestamp(max(service.config.modified, _SCRIPT_WRITTEN), UTC)
        headers = answer_headers(service, {"X-Content-Type-Options": "nosniff"})
        rendered = make_rendered(
            service.generation,
            body,
            "text/javascript; charset=utf-8",
            changed,
            headers,
            settle=settle(service),
        )
        request.app[CACHE].put(key, rendered)
    return await respond(request, rendered)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/embed/{feed:[a-z0-9_-]+}", embed_page)
    app.router.add_get("/embed/{feed:[a-z0-9_-]+}.js", embed_script)
    app.router.add_get("/embed/{tail:.*}", _no_such_page)


async def _no_such_page(request: web.Request) -> web.Response:
    raise NoSuchFeed(f"no such page: {request.path}")
