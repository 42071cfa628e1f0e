"""The loop the commands run on, as `AGGREGATOR_EVENT_LOOP` chooses it."""

from __future__ import annotations

import inspect
import sys

import pytest
import uvloop

from aggregator import eventloop
from aggregator.errors import ConfigError


@pytest.mark.parametrize("value", ["auto", "", " UVLOOP ", "uvloop"])
def test_uvloop_where_installed(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AGGREGATOR_EVENT_LOOP", value)
    assert eventloop.loop_factory() is uvloop.new_event_loop


def test_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_EVENT_LOOP", "asyncio")
    assert eventloop.loop_factory() is None

    async def kind() -> str:
        return eventloop.loop_name()

    assert eventloop.run(kind()) == "asyncio"
    monkeypatch.delenv("AGGREGATOR_EVENT_LOOP")
    assert eventloop.run(kind()) == "uvloop"


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as where it is not installed
    monkeypatch.setenv("AGGREGATOR_EVENT_LOOP", "auto")
    assert eventloop.loop_factory() is None
    monkeypatch.setenv("AGGREGATOR_EVENT_LOOP", "uvloop")
    with pytest.raises(ConfigError, match="AGGREGATOR_EVENT_LOOP: uvloop is asked for but not"):
        eventloop.loop_factory()


def test_a_refused_choice_closes_the_coroutine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_EVENT_LOOP", "tokio")

    async def never() -> None:
        raise AssertionError("must not run")

    coroutine = never()
    with pytest.raises(ConfigError, match="'tokio' is not one of auto, uvloop, asyncio"):
        eventloop.run(coroutine)
    assert inspect.getcoroutinestate(coroutine) == "CORO_CLOSED"  # no "never awaited" warning
