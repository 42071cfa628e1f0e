"""`/`: the index page for people — published feeds with subscribe links, sources and status."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from html import escape

from aiohttp import web

from aggregator.config import Config
from aggregator.policy import is_failing
from aggregator.service import Service
from aggregator.web.statuspages import Writer, status_page
from storage import SourceStatus

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:56rem;padding:1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.error{color:#a40000}.ok{color:#176617}
@media (max-width:40rem){td:nth-child(n+4),th:nth-child(n+4){display:none}}
"""


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "—"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def index(request: web.Request) -> web.Response:
    async def gather(service: Service) -> Writer:
        config, statuses = service.config, await service.db.statuses(time.time())
        return lambda: _page(config, statuses).encode()

    return await status_page(request, gather, "text/html; charset=utf-8")


def _page(config: Config, stored: list[SourceStatus]) -> str:
    base = config.service.base_url
    statuses = {s.id: s for s in stored}
    head = [
        f'<link rel="alternate" type="application/atom+xml" title="{escape(f.title)}" '
        f'href="{escape(base)}/feeds/{escape(f.id)}.atom">'
        for f in config.feeds
    ]
    feed_rows = [
        f"<tr><td>{escape(f.title)}</td><td>{len(f.sources)} sources</td><td>"
        + " · ".join(
            f'<a href="{escape(base)}/feeds/{escape(f.id)}.{fmt}">{fmt.upper()}</a>'
            for fmt in ("rss", "atom", "json")
        )
        + "</td></tr>"
        for f in config.feeds
    ]
    source_rows = []
    for source in config.sources:
        status = statuses.get(source.id)
        result = (status.last_result if status else None) or "never fetched"
        css = "error" if result == "error" else "ok"
        if status and is_failing(status.error_streak, config.fetch.failing_after):
            result = f"failing ({status.error_streak} errors in a row)"
        error = escape(status.last_error or "") if status else ""
        if status and status.effective_url:
            error += f"<br>moved permanently to {escape(status.effective_url)}"
        # A disabled source is neither fetched nor published: its feed answers 404, and the
        # next fetch stored before it was disabled never comes. `aggregator status` says so too.
        name = escape(source.name)
        next_fetch = status.next_fetch if status else None
        if source.enabled:
            name = f'<a href="{escape(base)}/sources/{escape(source.id)}.atom">{name}</a>'
        else:
            result, next_fetch = f"disabled ({result})", None
        source_rows.append(
            f'<tr><td>{name}</td><td class="{css}">{escape(result)}</td>'
            f"<td>{status.items if status else 0}</td>"
            f"<td>{_when(status.last_success if status else None)}</td>"
            f"<td>{_when(next_fetch)}</td><td>{error}</td></tr>"
        )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(config.service.title)}</title>
{"".join(head)}
<style>{_STYLE}</style></head><body>
<h1>{escape(config.service.title)}</h1>
<h2>Feeds</h2>
<table><tr><th>Feed</th><th>Sources</th><th>Subscribe</th></tr>{"".join(feed_rows)}</table>
<p><a href="{escape(base)}/opml">OPML</a></p>
<h2>Sources</h2>
<table><tr><th>Source</th><th>Last result</th><th>Items</th><th>Last success</th>
<th>Next fetch</th><th>Error</th></tr>{"".join(source_rows)}</table>
</body></html>
"""
