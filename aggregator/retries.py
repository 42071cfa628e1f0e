"""When an article that failed to read is tried again: at the next fetches, then less often.

It is tried at `ARTICLE_TRIES` fetches in a row; then after an hour, and after twice as long at
each failure, up to a day. A site that comes back is read whole again, and a dead link that
stays listed costs one full read of its list a day instead of the 304. A listing that says
something else of the item tries it at once (a new listing digest starts the count again).

An item whose article was read before keeps what was read while its article fails: the
stored digest says so (`read_before`), since the failed listing's digest replaces the one
that was read.
"""

from __future__ import annotations

from dataclasses import dataclass

ARTICLE_TRIES = 5
RETRY_FIRST = 3600.0
RETRY_MOST = 86400.0
_READ = "~read"  # after the count: the stored item holds an article read at an earlier fetch


@dataclass(frozen=True, slots=True)
class Failures:
    """The tries in a row that failed to read the article of one listing, and when the last
    was: a failed read stores the listing digest as `digest~N`, or `digest~N@T` once the
    article waits between tries, so the next fetch tells it from one read whole; `~read`
    follows when the item kept an article read before."""

    count: int = 0
    last: float = 0.0

    @classmethod
    def of(cls, stored: str | None, digest: str) -> Failures:
        """The failures stored for `digest`; none when the stored digest is another listing's
        (or a value this code did not write)."""
        listed_as, _, tries = (stored or "").partition("~")
        count, _, last = tries.removesuffix(_READ).partition("@")
        if listed_as != digest or not count.isdecimal():
            return cls()
        return cls(int(count), float(last) if last.isdecimal() else 0.0)

    @property
    def due(self) -> float:
        """When the article is tried next: at the next fetch before `ARTICLE_TRIES`."""
        return self.last + _wait(self.count) if self.count >= ARTICLE_TRIES else 0.0

    def stored(self, digest: str, *, read: bool = False) -> str:
        """The stored form; `read`: the item keeps an article read before (`read_before`)."""
        waits = self.count >= ARTICLE_TRIES
        tries = f"{self.count}@{int(self.last)}" if waits else f"{self.count}"
        return f"{digest}~{tries}{_READ if read else ''}"

    def waiting(self) -> str:
        """What the warning of a failed try adds once the article waits between tries."""
        if self.count < ARTICLE_TRIES:
            return ""
        return (
            f"; failed at {self.count} tries in a row, tried again in "
            f"{_span(_wait(self.count))} or when its listing changes"
        )


def read_before(stored: str | None) -> bool:
    """Whether the item stored with the listing digest `stored` holds its article's text: read
    whole (a bare digest), or kept through failures since (`~read`). One stored as its list or
    feed gave it, after a failed first read, does not."""
    if not stored:
        return False
    return "~" not in stored or stored.endswith(_READ)


def _wait(failures: int) -> float:
    return min(RETRY_MOST, RETRY_FIRST * 2.0 ** min(failures - ARTICLE_TRIES, 16))


def _span(seconds: float) -> str:
    hours = round(seconds / 3600)
    return "a day" if hours >= 24 else "an hour" if hours == 1 else f"{hours} hours"
