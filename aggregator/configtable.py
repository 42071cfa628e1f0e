"""Typed reads of TOML tables that collect every fault instead of stopping at the first."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from feeds.selectors import KeyCheck

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST_DURATION = 100 * 365 * 86400.0
_SHORTEST_DURATION = 0.001
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_SIZE_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3}
T = TypeVar("T")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "30s", "15m", "2h" or "1d", at most a hundred years."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f'not a duration like "30s", "15m", "2h", "1d": {text!r}')
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds > _LONGEST_DURATION:
        raise ValueError(f"longer than a hundred years: {text!r}")
    return seconds


def parse_size(text: str) -> int:
    """Bytes in a size such as "10MB" (binary multiples: 1 MB = 1024 × 1024 bytes)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f'not a size like "512KB" or "10MB": {text!r}')
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


class Table:
    """Typed reads from one TOML table; faults are collected, never raised, so all are shown."""

    def __init__(self, data: object, path: str, known: Mapping[str, str], errors: list[str]):
        self.path = path
        self.errors = errors
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            self.fail("", "must be a table")
        self._keys = KeyCheck(self.data.keys(), known, self.key_path, errors)

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path and key else (self.path or key)

    def fail(self, key: str, message: str) -> None:
        self.errors.append(f"{self.key_path(key)}: {message}")

    def get(self, key: str, kind: type[T], default: T) -> T:
        value = self.data.get(key, default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"must be {_KIND_NAMES.get(kind, kind.__name__)}")
            return default
        return value

    def missing(self, key: str) -> None:
        """`key` is required and absent (a misspelling of it named in the same error)."""
        self._keys.missing(key)

    def required_str(self, key: str) -> str:
        if key not in self.data:
            self.missing(key)
            return ""
        value = self.get(key, str, "")
        if key in self.data and isinstance(self.data[key], str) and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "must be a list of strings")
            return ()
        return tuple(value)

    def converted(self, key: str, convert: Callable[[str], T], default: T, expected: str) -> T:
        """The text at `key` read by `convert`, else `default`; `expected` says what text, for
        a value that is none (`300` for `"5m"`). The default is a value, not text to read: a
        number written back as text (`f"{1e-05}s"`) is not always readable."""
        raw = self.data.get(key)
        if raw is None:
            return default
        if not isinstance(raw, str):
            self.fail(key, f"must be {expected}")
            return default
        try:
            return convert(raw)
        except ValueError as exc:
            self.fail(key, str(exc))
            return default

    def duration(self, key: str, default: float, *, zero: bool = False) -> float:
        """Seconds at `key`. Zero is refused unless `zero` allows it: a timeout, interval or
        retention of nothing fails every fetch, asks without pause, or deletes every item.
        Less than a millisecond (`0.01ms`) is a typo, not a duration anything here can keep."""
        seconds = self.converted(key, parse_duration, default, 'a duration such as "5m"')
        if key not in self.data or seconds >= _SHORTEST_DURATION or (zero and seconds == 0):
            return seconds
        least = "more than zero" if seconds == 0 else "at least 1ms"
        self.fail(key, f"{self.data[key]!r} must be {least}")
        return default

    def size(self, key: str, default: int) -> int:
        """Bytes at `key`, at least one: a limit of nothing refuses every body."""
        found = self.converted(key, parse_size, default, 'a size such as "10MB"')
        if found == 0 and key in self.data:
            self.fail(key, f"{self.data[key]!r} must be at least 1 byte")
            return default
        return found

    def positive_int(self, key: str, default: int, maximum: int = 1_000_000) -> int:
        value = self.get(key, int, default)
        if not 1 <= value <= maximum:
            self.fail(key, f"must be between 1 and {maximum}")
            return default
        return value

    def header_value(self, key: str, default: str | None) -> str | None:
        """A string sent as an HTTP header's value: aiohttp refuses a line break at every
        request, and each server reads bytes beyond ASCII its own way."""
        value = self.get(key, str, default or "") if key in self.data else default
        if value is not None and (problem := _header_value_problem(value)):
            self.fail(key, problem)
            return default
        return value

    def headers(self, key: str) -> tuple[tuple[str, str], ...]:
        """`{ Name = "value", … }` sent with every request: header names and values checked,
        and none of those the fetcher sets itself."""
        raw = self.data.get(key, {})
        if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
            self.fail(key, 'must be a table of strings, such as { Referer = "https://…/" }')
            return ()
        found: list[tuple[str, str]] = []
        for name, value in raw.items():
            path = f"{key}.{name}"
            if not _HEADER_NAME.fullmatch(name):
                self.fail(path, "not an HTTP header name")
            elif name.lower() in _FETCHERS_HEADERS:
                self.fail(path, _FETCHERS_HEADERS[name.lower()])
            elif problem := _header_value_problem(value):
                self.fail(path, problem)
            else:
                found.append((name, value))
        return tuple(found)


def _header_value_problem(value: str) -> str | None:
    if not (value.isascii() and value.isprintable()):
        return "must be printable ASCII, without line breaks (percent-encode other characters)"
    return None


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OWN = "set by the fetcher"
_FETCHERS_HEADERS = {
    "user-agent": "set by user_agent",
    "if-none-match": f"{_OWN} from the last response",
    "if-modified-since": f"{_OWN} from the last response",
    "accept-encoding": f"{_OWN}: it decompresses what it asked for",
    "host": _OWN,
    "connection": _OWN,
    "content-length": _OWN,
    "transfer-encoding": _OWN,
    "te": _OWN,
    "upgrade": _OWN,
    "proxy-authorization": f"{_OWN} from fetch.proxy",
}
_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}
