"""The project's single exception hierarchy; every layer raises subclasses of `AggregatorError`."""

from __future__ import annotations


class AggregatorError(Exception):
    """Root of every error this project raises on purpose."""


class ParseError(AggregatorError, ValueError):
    """An upstream document could not be understood at all."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
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
