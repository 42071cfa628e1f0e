"""Per-source status as operators read it: the config's view joined with the stored record.

One shape for `aggregator status`, `GET /api/sources`, the index page and `/metrics`, so they
never disagree about what "failing" means.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from aggregator.config import Config
from aggregator.policy import is_failing
from storage import Database, SourceStatus


@dataclass(frozen=True, slots=True)
class SourceView:
    id: str
    name: str
    type: str
    enabled: bool
    url: str  # as configured
    effective_url: str | None  # where a permanent redirect led: the config should say this
    tls_verify: bool  # false: certificates are not checked for this source
    title: str | None
    charset: str | None
    last_attempt: float | None
    last_success: float | None
    last_status: int | None  # HTTP status of the last attempt
    last_result: str | None  # "ok", "not modified", "unchanged", "degraded", "error"
    last_error: str | None  # the error, or what degraded the last successful fetch
    error_streak: int
    failing: bool  # `error_streak` reached `fetch.failing_after`
    next_fetch: float | None
    fetches: int
    failures: int
    average_seconds: float | None
    items: int
    items_last_day: int
    # when the next fetch reads the document whole, to try again a page it led to that failed
    reread_at: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def source_views(config: Config, db: Database, now: float) -> list[SourceView]:
    """Every configured source in config order; a never-fetched one has empty fields."""
    return views_of(config, await db.statuses(now))


def views_of(config: Config, statuses: list[SourceStatus]) -> list[SourceView]:
    """`source_views` from statuses already read: pure, so a status page builds it on a
    thread of its own."""
    stored = {status.id: status for status in statuses}
    views = []
    for source in config.sources:
        row = stored.get(source.id) or _never(source.id, source.url)
        views.append(
            SourceView(
                id=source.id,
                name=source.name,
                type=source.type,
                enabled=source.enabled,
                url=source.url,
                effective_url=row.effective_url,
                tls_verify=source.tls_verify,
                title=row.title,
                charset=row.charset,
                last_attempt=row.last_attempt,
                last_success=row.last_success,
                last_status=row.last_status,
                last_result=row.last_result,
                last_error=row.last_error,
                error_streak=row.error_streak,
                failing=is_failing(row.error_streak, config.fetch.failing_after),
                next_fetch=row.next_fetch if source.enabled else None,
                fetches=row.fetches,
                failures=row.failures,
                average_seconds=round(row.average_seconds, 3) if row.average_seconds else None,
                items=row.items,
                items_last_day=row.items_last_day,
                reread_at=row.reread_at,
            )
        )
    return views


def _never(source_id: str, url: str) -> SourceStatus:
    return SourceStatus(
        id=source_id, url=url, effective_url=None, title=None, charset=None, last_attempt=None,
        last_success=None, last_status=None, last_result=None, last_error=None, error_streak=0,
        next_fetch=None, fetches=0, failures=0, average_seconds=None, items=0, items_last_day=0,
    )  # fmt: skip
