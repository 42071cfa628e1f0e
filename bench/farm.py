"""A farm of RSS 2.0 feeds for the fetch benchmark, served by aiohttp in its own process.

Feed `n` lives on its own loopback address (127.x.y.z, all bound through 0.0.0.0), as real feeds
live on their own sites, so per-host limits do not throttle anyone. Items mix Chinese and
English paragraphs (~1.8 KB each). Every feed is rendered before the clock starts and again the
moment it changes, so the farm spends its CPU on HTTP only. Responses carry ETag and
Last-Modified and answer If-None-Match / If-Modified-Since with 304.
`POST /_change?fraction=f&among=n` publishes a new item on that fraction of the first n feeds
(a deterministic choice), dropping the oldest.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from xml.sax.saxutils import escape

from aiohttp import web

ITEMS = 20
EPOCH = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
_HAN = (
    "汉中市人民政府新闻办公室发布消息近年来全市科技创新城市建设工作全面推进交通运输部门统筹做好"
    "疫情防控和运输服务保障朱鹮种群数量突破七千只栖息地范围不断扩大茶叶春季采摘全面展开"
)
_SENTENCE = (
    "the city council approved a new transport budget while researchers reported progress on "
    "the river restoration project and local farmers began the spring tea harvest early"
)


def host(n: int) -> str:
    """Feed n's own loopback address: 127.1.0.1, 127.1.0.2, ... (Linux routes all of 127/8)."""
    return f"127.{1 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}"


def feed_url(port: int, n: int) -> str:
    return f"http://{host(n)}:{port}/f/{n}.xml"


def _paragraph(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return "".join(rng.choice(_HAN) for _ in range(rng.randint(70, 110))) + "。"
    words = _SENTENCE.split()
    return " ".join(rng.choice(words) for _ in range(rng.randint(35, 55))).capitalize() + "."


def _item(n: int, serial: int) -> str:
    """Item `serial` of feed `n`: the same text every time it is rendered."""
    rng = random.Random(n * 1_000_003 + serial)
    paragraphs = [_paragraph(rng) for _ in range(4)]
    title = paragraphs[0][: rng.randint(12, 28)].rstrip("。.")
    published = format_datetime((EPOCH + timedelta(minutes=37 * serial + n)).astimezone(CST))
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<item><title>{escape(title)}</title><link>http://{host(n)}/a/{serial}.html</link>"
        f'<guid isPermaLink="false">feed{n}-{serial}</guid><pubDate>{published}</pubDate>'
        f"<dc:creator>记者{serial % 7}</dc:creator><category>{'新闻' if serial % 2 else 'news'}"
        f"</category><description>{escape(paragraphs[0][:150])}</description>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
    )


def render(n: int, version: int, items: int = ITEMS) -> bytes:
    """Feed `n` after `version` changes: its newest `items` items, newest first."""
    newest = items + version
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Farm feed {n} 农场</title><link>http://{host(n)}/</link>"
        f"<description>Benchmark feed {n}</description><ttl>15</ttl>"
        + "".join(_item(n, serial) for serial in range(newest, newest - items, -1))
        + "</channel></rss>"
    ).encode()


class Farm:
    def __init__(self, feeds: int, items: int) -> None:
        self.items = items
        self.versions = [0] * feeds
        self.bodies = [render(n, 0, items) for n in range(feeds)]
        self.round = 0

    def validators(self, n: int) -> tuple[str, datetime]:
        return f'"{n}-{self.versions[n]}"', EPOCH + timedelta(hours=self.versions[n])

    async def serve(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if not 0 <= n < len(self.bodies):
            raise web.HTTPNotFound()
        etag, modified = self.validators(n)
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if (match := request.headers.get("If-None-Match")) is not None:
            if etag in (tag.strip() for tag in match.split(",")):
                return web.Response(status=304, headers=headers)
        elif (since := request.headers.get("If-Modified-Since")) is not None:
            try:
                if parsedate_to_datetime(since) >= modified:
                    return web.Response(status=304, headers=headers)
            except (TypeError, ValueError):
                pass
        headers["Content-Type"] = "application/rss+xml; charset=utf-8"
        return web.Response(body=self.bodies[n], headers=headers)

    async def change(self, request: web.Request) -> web.Response:
        fraction = float(request.query.get("fraction", "0.1"))
        among = int(request.query.get("among", len(self.bodies)))  # the first `among` feeds
        self.round += 1
        chosen = random.Random(self.round).sample(range(among), round(fraction * among))
        for n in chosen:
            self.versions[n] += 1
            self.bodies[n] = render(n, self.versions[n], self.items)
        return web.json_response({"changed": len(chosen)})


def app(feeds: int, items: int) -> web.Application:
    farm = Farm(feeds, items)
    application = web.Application()
    application.router.add_get(r"/f/{n:\d+}.xml", farm.serve)
    application.router.add_post("/_change", farm.change)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--port", type=int, default=8700)
    args = parser.parse_args()
    web.run_app(app(args.feeds, args.items), host="0.0.0.0", port=args.port, print=None)


if __name__ == "__main__":
    main()
