"""SQL for filtered listings: full-text `q` and `tag`, driven by their indexes.

The index drives the query (`CROSS JOIN` fixes the join order): SQLite would otherwise walk a
source's whole time index and test each row against the match set. Matching rows are then
sorted by time; paging uses the same `(sort_ts, id)` cursor as unfiltered listings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from feeds.searchtext import query_terms
from storage.connection import Reader
from storage.items import STORED_COLUMNS, stored_item
from storage.records import StoredItem


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """What a reader asked for beyond the feed's own sources: words (`q`) and one tag."""

    text: str | None = None
    tag: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.text or self.tag)


def match_expression(text: str) -> str | None:
    """The FTS5 MATCH expression for a user's query, or None when it has nothing searchable.

    Every word becomes a quoted phrase (so FTS5 operators typed by users are plain text), and
    all must match.
    """
    phrases = []
    for term in query_terms(text):
        phrase = '"' + " ".join(token.replace('"', '""') for token in term.tokens) + '"'
        phrases.append(phrase + " *" if term.prefix else phrase)
    return " AND ".join(phrases) or None


def _conditions(where: ItemFilter) -> tuple[str, list[str], list[Any]]:
    """The driving FROM clause, its WHERE conditions and their parameters."""
    if where.text:
        expression = match_expression(where.text)
        if expression is None:
            raise ValueError(f"nothing searchable in {where.text!r}")
        source = "items_search CROSS JOIN items ON items.id = items_search.rowid"
        conditions, params = ["items_search MATCH ?"], [expression]
        if where.tag:
            conditions.append(
                "EXISTS (SELECT 1 FROM item_tags WHERE tag = ? AND item_id = items.id)"
            )
            params.append(where.tag)
        return source, conditions, params
    source = "item_tags CROSS JOIN items ON items.id = item_tags.item_id"
    return source, ["item_tags.tag = ?"], [where.tag]


def listing(
    source_ids: Sequence[str], where: ItemFilter, limit: int, before: tuple[float, int] | None
) -> tuple[str, list[Any]]:
    """The SQL and parameters of `filtered_items` (tests check its query plan)."""
    source, conditions, params = _conditions(where)
    conditions.append(f"items.source_id IN ({', '.join('?' * len(source_ids))})")
    params += source_ids
    if before is not None:
        conditions.append("(items.sort_ts < ? OR (items.sort_ts = ? AND items.id < ?))")
        params += [before[0], before[0], before[1]]
    sql = (
        f"SELECT {STORED_COLUMNS} FROM {source} WHERE {' AND '.join(conditions)} "
        "ORDER BY items.sort_ts DESC, items.id DESC LIMIT ?"
    )
    return sql, [*params, limit]


async def filtered_items(
    db: Reader,
    source_ids: Sequence[str],
    where: ItemFilter,
    *,
    limit: int,
    before: tuple[float, int] | None = None,
) -> list[StoredItem]:
    """Items of `source_ids` that match `where`, newest first, like `items.latest_items`."""
    if not source_ids:
        return []
    sql, params = listing(source_ids, where, limit, before)
    return [stored_item(row) for row in await db.read(sql, params)]


async def matching_ids(db: Reader, item_ids: Sequence[int], where: ItemFilter) -> set[int]:
    """Which of `item_ids` match `where`: lets a merged feed pick a story's matching copy."""
    if not item_ids:
        return set()
    source, conditions, params = _conditions(where)
    conditions.append(f"items.id IN ({', '.join('?' * len(item_ids))})")
    sql = f"SELECT items.id FROM {source} WHERE {' AND '.join(conditions)}"
    return {int(row[0]) for row in await db.read(sql, [*params, *item_ids])}
