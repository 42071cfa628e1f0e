"""Errors of the service layer, all under the project's one root `AggregatorError`."""

from __future__ import annotations

from feeds.errors import AggregatorError


class ConfigError(AggregatorError):
    """The config file is unreadable or invalid; `problems` lists every fault with its key path."""

    def __init__(self, problems: list[str], *, path: str) -> None:
        self.problems = tuple(problems)
        self.path = path
        super().__init__(f"{path}: " + "; ".join(problems))


class FetchError(AggregatorError):
    """A fetch failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(f"{url}: {message}")


class BodyTooLarge(FetchError):
    """The body exceeded `fetch.max_bytes`, before or after decompression."""


class RetryLater(FetchError):
    """The upstream asked us to come back later (429/503 with Retry-After)."""

    def __init__(self, message: str, *, url: str, status: int, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message, url=url, status=status)


class Refused(FetchError):
    """A URL the service discovered leads off the allowed hosts, or to a private address."""


class UnknownSource(AggregatorError, KeyError):
    """A command or request named a source or feed that the config does not define."""


class AlreadyServing(AggregatorError):
    """Another `aggregator serve` holds the database."""


class DatabaseLost(AggregatorError):
    """The database file a server writes was removed or replaced under it."""


class CannotListen(AggregatorError):
    """The HTTP server cannot listen where the config says: the port is taken, the address
    is not this machine's, or the port needs privileges."""
