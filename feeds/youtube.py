"""YouTube's channel and playlist feeds, read as what they are: videos.

An entry's only text is `<media:description>`, the synopsis a channel writes as plain text
with line breaks, which feedparser labels HTML: readers showed it as one run-on paragraph. No
field a reader shows holds a picture either. In a feed from YouTube itself, the synopsis is read
as plain text, and the content opens with the video's thumbnail, linked to the video.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

_HOSTS = frozenset(("youtube.com", "www.youtube.com", "m.youtube.com"))
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # 11 today; only URL-safe characters
_SHORTS = "/shorts/"


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # "http://[x/": an invalid IPv6 host
        return None


@lru_cache(maxsize=64)  # asked for every entry of a document
def from_youtube(feed_url: str) -> bool:
    """Whether the document is YouTube's own feed, not another site's about its videos."""
    return _host(feed_url) in _HOSTS


def video_id(link: str | None) -> str | None:
    """The video of a watch page (`/watch?v=ID`) or a short (`/shorts/ID`), else None."""
    if not link or _host(link) not in _HOSTS:
        return None
    parts = urlsplit(link)
    if parts.path == "/watch":
        found = parse_qs(parts.query).get("v", [""])[0]
    elif parts.path.startswith(_SHORTS):
        found = parts.path.removeprefix(_SHORTS)
    else:
        return None
    return found if _VIDEO_ID.fullmatch(found) else None


def thumbnail_html(link: str, video: str, title: str) -> str:
    """The video's thumbnail, linked to the video, as a paragraph of HTML to sanitise."""
    image = f"https://i.ytimg.com/vi/{video}/hqdefault.jpg"
    return (
        f'<p><a href="{html.escape(link)}"><img src="{image}" alt="{html.escape(title)}"></a></p>'
    )
