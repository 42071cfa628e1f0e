"""SIGINT and SIGTERM as an exception, for the commands that write a temporary file and move
it into place: killed by the default SIGTERM, `aggregator backup` left a database-sized
hidden file behind, and a Ctrl-C could end it with exit 130 after it said "backed up"."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived before the work was done."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_status(self) -> int:
        """As a shell reports a command ended by the signal: 130, 143."""
        return 128 + self.signum


@contextmanager
def undoable() -> Iterator[Callable[[], None]]:
    """In the block, SIGINT and SIGTERM raise `Interrupted`, so its cleanup runs. The block
    calls the function it is given before it moves its work into place: from then on to its
    end, a signal is ignored, so what the command prints is what its exit status says.

    In an event loop the signal cancels the loop's tasks instead (uvloop only logs what a
    signal handler raises), and the block raises `Interrupted` when the loop gives up.
    """
    received: list[int] = []
    done = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if done:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise Interrupted(signum) from None
        received.append(signum)
        for task in asyncio.all_tasks(loop):
            task.cancel()

    def finished() -> None:
        nonlocal done
        if received:  # when the loop had no task left to cancel
            raise Interrupted(received[0])
        done = True

    previous = {signum: signal.signal(signum, interrupt) for signum in _SIGNALS}
    try:
        yield finished
    except asyncio.CancelledError:
        if not received:
            raise
        raise Interrupted(received[0]) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
