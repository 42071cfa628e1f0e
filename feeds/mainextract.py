"""Main-content extraction by trafilatura, for pages of no template we know, with the page's
players kept.

trafilatura keeps text, tables, links and pictures, and drops `<video>`, `<audio>` and
`<iframe>`: a news site's video story came out as its caption alone. Each player is swapped for
a picture of an address no page uses before extraction, and put back where that picture
comes out; one whose picture was left out too (a player alone in its block, above the text)
goes before the paragraph that followed it on the page, when that paragraph is kept. The
sanitiser then keeps what it allows (`sources.iframe_hosts`).
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from itertools import islice

import lxml.html
import trafilatura

from feeds.htmltree import parse_html, text_of

__all__ = ["extract_main"]

_PLAYERS = ("video", "audio", "iframe")
_MOST_PLAYERS = 50  # of a page: more are left to trafilatura
# `.invalid` is no host anywhere (RFC 2606); the token is made per page, so that no page can
# write a stand-in's address itself and have a player moved there
_STAND_IN = "https://players.invalid/{}/{}.jpg"
_REACH = 3  # levels up from a player where the paragraph after it is looked for
_NEXT_SIBLINGS = 5  # siblings looked at, at each level


@dataclass(frozen=True, slots=True)
class _Player:
    element: lxml.html.HtmlElement
    followed_by: str  # the text of the paragraph after it on the page, or ""


def extract_main(page: lxml.html.HtmlElement, *, url: str) -> lxml.html.HtmlElement | None:
    """The `<body>` of what trafilatura extracts from a copy of `page`, or None."""
    tree = copy.deepcopy(page)
    players = _stand_ins(tree)
    try:
        extracted = trafilatura.extract(
            tree,
            output_format="html",
            include_images=True,
            include_links=True,
            include_tables=True,
            include_comments=False,
            favor_precision=True,
            with_metadata=False,
        )
    except Exception:  # a third-party heuristic on hostile input: any failure means "fall back"
        return None
    if not extracted:
        return None
    body = parse_html(extracted, url=url).find("body")
    if body is not None and players:
        _put_back(body, players)
    return body


def _stand_ins(tree: lxml.html.HtmlElement) -> dict[str, _Player]:
    """Swap each player (the outermost, up to `_MOST_PLAYERS`) for a picture; by its address."""
    players: dict[str, _Player] = {}
    token = secrets.token_hex(8)
    for player in list(tree.iter(*_PLAYERS)):
        parent = player.getparent()
        if len(players) == _MOST_PLAYERS or parent is None:
            break
        if any(ancestor.tag in _PLAYERS for ancestor in player.iterancestors()):
            continue  # inside one swapped already
        address = _STAND_IN.format(token, len(players))
        stand_in = player.makeelement("img", {"src": address})
        followed_by = _text_after(player)
        stand_in.tail, player.tail = player.tail, None
        parent.replace(player, stand_in)
        players[address] = _Player(player, followed_by)
    return players


def _text_after(player: lxml.html.HtmlElement) -> str:
    """The text of the first element with some after `player`, its block's or an enclosing
    one's next sibling (`<div class="video_box"><video></div><p>…</p>`)."""
    for level in (player, *islice(player.iterancestors(), _REACH)):
        for sibling in islice(level.itersiblings(), _NEXT_SIBLINGS):
            if isinstance(sibling.tag, str) and (text := text_of(sibling)):
                return text
    return ""


def _put_back(body: lxml.html.HtmlElement, players: dict[str, _Player]) -> None:
    for picture in list(body.iter("img")):
        player = players.pop(picture.get("src") or "", None)
        if player is not None and (parent := picture.getparent()) is not None:
            player.element.tail = picture.tail
            parent.replace(picture, player.element)
    if not players:
        return
    paragraphs: dict[str, lxml.html.HtmlElement] = {}
    for element in body.iter("p"):
        paragraphs.setdefault(text_of(element), element)
    for player in players.values():
        if player.followed_by and (after := paragraphs.get(player.followed_by)) is not None:
            after.addprevious(player.element)
