"""Structured logs: one line per event with its fields; JSON when not on a terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord, *, keep_none: bool = False) -> dict[str, object]:
    """The event's own fields; JSON keeps empty ones as null so every line has one shape."""
    items = vars(record).items()
    return {k: v for k, v in items if k not in _STANDARD and (keep_none or v is not None)}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line |= _fields(record, keep_none=True)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{record.levelname.lower():7} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class ClientFaults(logging.Filter):
    """aiohttp logs a request it could not parse (a URL with raw UTF-8 in it, a header line
    too long, something that is not HTTP) as an error with a traceback, though the fault is
    the client's and its answer a 400: anyone could fill the log so. It becomes a warning of
    one line naming the client and the fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        fault = record.exc_info[1] if record.exc_info else None
        if isinstance(fault, HttpProcessingError) and record.levelno > logging.WARNING:
            client = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "bad request", ()
            record.client = client
            record.error = (fault.message.strip().splitlines() or [""])[0].rstrip(":")
            record.exc_info = record.exc_text = None
        return True


CLIENT_FAULTS = ClientFaults()


class ProcessFields(logging.Filter):
    """Fields every line of a process carries, such as the worker it came from: with
    `service.workers > 1` each process logs its own reloads and faults, and a reader of the
    log must tell one process's line from another's."""

    def __init__(self, fields: dict[str, object]) -> None:
        super().__init__()
        self._fields = fields

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self._fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def setup_logging(level: int = logging.INFO, *, fields: dict[str, object] | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if sys.stderr.isatty() else JsonFormatter())
    if fields:
        handler.addFilter(ProcessFields(fields))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # their debug lines (aiosqlite's: every statement with its parameters) are not ours
    for noisy in ("apscheduler", "aiohttp.access", "aiosqlite", "asyncio", "charset_normalizer",
                  "multiprocessing"):  # fmt: skip
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # nor are the extraction libraries' warnings (`discarding data: None` for a page without
    # text): what they mean for an article shows in its fields, and `preview` names them
    for noisy in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def apply_level(level: str) -> None:
    """`service.log_level`, at start and at each reload."""
    logging.getLogger().setLevel(level.upper())
