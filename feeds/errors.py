"""The project's single exception hierarchy; every layer raises subclasses of `AggregatorError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AggregatorError(Exception):
    """Root of every error this project raises on purpose."""

    def __reduce__(self) -> tuple[Callable[..., AggregatorError], tuple[Any, ...]]:
        """Pickled as its message and attributes, without calling `__init__` again: errors
        cross from worker processes, and the subclasses' constructors take keywords (an
        error that could not be rebuilt there broke the whole pool)."""
        return _restored, (type(self), self.args, self.__dict__)


def _restored(
    kind: type[AggregatorError], args: tuple[Any, ...], state: dict[str, Any]
) -> AggregatorError:
    error = kind.__new__(kind, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ParseError(AggregatorError, ValueError):
    """An upstream document could not be understood at all; `status` is the HTTP status of
    the answer that carried it, set by whoever fetched it."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        self.status: int | None = None
        super().__init__(f"{url}: {message}" if url else message)


class SelectorError(AggregatorError, ValueError):
    """A CSS selector or regular expression in the config is invalid."""


class NotAFeed(ParseError):
    """An HTML page where a feed was expected; `alternates` are the feeds it advertises."""

    def __init__(
        self, message: str, *, url: str | None = None, alternates: tuple[str, ...] = ()
    ) -> None:
        self.alternates = alternates
        super().__init__(message, url=url)


class SelectorErrors(SelectorError):
    """Every problem found in one block of selectors, so a config check can report them all."""

    def __init__(self, errors: tuple[str, ...]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))
