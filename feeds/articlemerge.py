"""An HTML source's item: its list entry completed by its article page (SPEC §3).

The article's fields win where present, but a value the operator's list selector found
outranks one the article page only guessed: a date line's date on another day, a `<title>`
that is only the site's name. Provenance then names the list's way, as `aggregator preview`
shows it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from feeds.model import ParsedItem

# How a list date written without its year (`12-30`) is found: the year is a guess (the latest
# not ahead), so the article page's date on that day and month of another year outranks it.
NO_YEAR = "selector, no year"


def _published(listed: ParsedItem, article: ParsedItem) -> tuple[datetime | None, bool]:
    """The article's date, but a calendar date the operator's list selector found outranks
    one the article page only suggests (`detected`: a date in a line near its title), unless
    that is within a day of it and so only says the time, or, for a list date written without
    its year (`NO_YEAR`), falls on its day of another year. A related
    article's date, taken from a page that could not be read, replaced the list's right one.
    A list date written relative to the page's making (`selector, relative`) outranks
    nothing. Whether the list's date is the one kept comes second."""
    ways = dict(listed.provenance), dict(article.provenance)
    listed_way = ways[0].get("published")
    if (
        listed.published is not None
        and article.published is not None
        and listed_way in ("selector", NO_YEAR)
        and ways[1].get("published") == "detected"
        and abs(article.published - listed.published) > _SAME_DAY
        and not (
            listed_way == NO_YEAR and _same_day_of_another_year(listed.published, article.published)
        )
    ):
        return listed.published, True
    if article.published is not None:
        return article.published, False
    return listed.published, True


_SAME_DAY = timedelta(days=1)


def _same_day_of_another_year(listed: datetime, article: datetime) -> bool:
    """Whether `article` is within a day of `listed`'s month, day and time in another year."""
    for year in range(article.year - 1, article.year + 2):
        try:
            moved = listed.replace(year=year)
        except ValueError:  # 29 February
            continue
        if year != listed.year and abs(article - moved) <= _SAME_DAY:
            return True
    return False


def _title(listed: ParsedItem, article: ParsedItem) -> tuple[str, bool]:
    """The article's title, unless it is only the site's name (an old county template's
    `<title>` on every page) found automatically while the operator's list selector found one:
    every item of the source was published under the site's name. Whether the list's title is
    the one kept comes second."""
    ways = dict(listed.provenance), dict(article.provenance)
    site_named = bool(article.site_name) and _bare(article.title) == _bare(article.site_name or "")
    if (
        listed.title
        and ways[0].get("title") == "selector"
        and ways[1].get("title") == "automatic"
        and site_named
    ):
        return listed.title, True
    return (article.title, False) if article.title else (listed.title, True)


def _bare(name: str) -> str:
    """A name as compared: without spaces (`汉台区 人民政府`) or case."""
    return "".join(name.split()).casefold()


def merge_article(listed: ParsedItem, article: ParsedItem) -> ParsedItem:
    """The list item completed by its article page: article fields win where present, list
    fields fill the gaps, and the URL stays the list's link (the page may have redirected)."""
    title, listed_title = _title(listed, article)
    published, listed_date = _published(listed, article)
    # Provenance names only fields that were found: the article's entries, but where the
    # list's value is kept, the list's.
    provenance = {**dict(listed.provenance), **dict(article.provenance)}
    for name, kept in (("title", listed_title), ("published", listed_date)):
        if kept and (way := dict(listed.provenance).get(name)):
            provenance[name] = way
    return ParsedItem(
        title=title,
        url=listed.url or article.url,
        upstream_id=listed.upstream_id or article.upstream_id,
        content_html=article.content_html or listed.content_html,
        summary=article.summary or listed.summary,
        published=published,
        updated=article.updated or listed.updated,
        author=article.author or listed.author,
        origin=article.origin or listed.origin,
        tags=listed.tags or article.tags,
        enclosures=listed.enclosures or article.enclosures,
        provenance=tuple(provenance.items()),
        site_name=article.site_name or listed.site_name,
    )


# What a JSON record's own fields say, which win over its article page's (`merge_record`).
_RECORD_FIELDS = ("title", "summary", "published", "author", "origin", "tags", "upstream_id")


def merge_record(record: ParsedItem, article: ParsedItem) -> ParsedItem:
    """A JSON list's record completed by its article page: the fields the operator mapped from
    the API's data win over what the page is found to say (its template's `来源：新华网`, a
    heading guessed for the title); the page gives the body and fills the gaps."""
    merged = merge_article(record, article)
    kept = {name: getattr(record, name) for name in _RECORD_FIELDS if getattr(record, name)}
    ways = dict(merged.provenance)
    ways.update((name, way) for name, way in record.provenance if name in kept)
    return replace(merged, **kept, provenance=tuple(ways.items()))
