"""The event loop the commands run on: uvloop where it is installed, asyncio's own otherwise.

uvloop answers 10–15 % more requests a second than asyncio's loop and spends about 10 % less
CPU on a pass of conditional GETs (bench/RESULTS.md). `AGGREGATOR_EVENT_LOOP=asyncio` turns it
off, to tell a loop problem from ours.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aggregator.errors import ConfigError

T = TypeVar("T")

ENVIRONMENT_VARIABLE = "AGGREGATOR_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the chosen loop; None for asyncio's own."""
    choice = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        problem = f"{ENVIRONMENT_VARIABLE}: {choice!r} is not one of {', '.join(CHOICES)}"
        raise ConfigError([problem], path="environment")
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            problem = f"{ENVIRONMENT_VARIABLE}: uvloop is asked for but not installed"
            raise ConfigError([problem], path="environment") from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the chosen loop."""
    try:
        factory = loop_factory()
    except BaseException:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def loop_name() -> str:
    """The running loop's kind, for the start-up log."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
