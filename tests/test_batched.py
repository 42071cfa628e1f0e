"""Lookups asked for one at a time and answered many to a statement: sharing, limits, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from storage import Database, FetchOutcome
from storage.batched import MAX_BATCH, BatchedLookup

NOW = 1_700_000_000.0


class Squares:
    """A load that records the batches it was given, and can be told to fail or to wait."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_next = False
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, keys: Sequence[int]) -> dict[int, int]:
        self.batches.append(list(keys))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("disk on fire")
        return {key: key * key for key in keys if key >= 0}


async def test_callers_of_one_turn_share_a_load_and_each_gets_its_own_answer() -> None:
    load = Squares()
    lookup = BatchedLookup(load, missing=-1)
    answers = await asyncio.gather(*(lookup.get(key) for key in [3, 1, 3, -5, 2]))
    assert answers == [9, 1, 9, -1, 4], "a key the load leaves out gets `missing`"
    assert load.batches == [[3, 1, -5, 2]], "one load, each key once"


async def test_a_lone_caller_is_answered_at_once_and_batches_stay_bounded() -> None:
    load = Squares()
    lookup = BatchedLookup(load, missing=-1)
    assert await lookup.get(7) == 49
    assert load.batches == [[7]]
    keys = list(range(2 * MAX_BATCH + 10))
    assert await asyncio.gather(*(lookup.get(key) for key in keys)) == [k * k for k in keys]
    assert [len(batch) for batch in load.batches[1:]] == [MAX_BATCH, MAX_BATCH, 10]


async def test_keys_asked_for_during_a_load_go_together_in_the_next() -> None:
    load = Squares()
    load.gate = asyncio.Event()
    lookup = BatchedLookup(load, missing=-1)
    first = asyncio.ensure_future(lookup.get(1))
    await load.entered.wait()
    assert load.batches == [[1]]
    later = [asyncio.ensure_future(lookup.get(key)) for key in (2, 3, 4)]
    await asyncio.sleep(0)
    assert load.batches == [[1]], "no second load while the first runs"
    load.gate.set()
    assert await asyncio.gather(first, *later) == [1, 4, 9, 16]
    assert load.batches == [[1], [2, 3, 4]]


async def test_a_failed_load_fails_its_callers_only() -> None:
    load = Squares()
    load.gate = asyncio.Event()
    lookup = BatchedLookup(load, missing=-1)
    load.fail_next = True
    doomed = [asyncio.ensure_future(lookup.get(key)) for key in (1, 2)]
    await load.entered.wait()
    waiting = asyncio.ensure_future(lookup.get(3))
    await asyncio.sleep(0)
    load.gate.set()
    results = await asyncio.gather(*doomed, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) and "disk on fire" in str(r) for r in results)
    assert await waiting == 9, "the next load still runs"
    assert await lookup.get(4) == 16


async def test_a_cancelled_caller_leaves_the_others_answered() -> None:
    load = Squares()
    load.gate = asyncio.Event()
    lookup = BatchedLookup(load, missing=-1)
    gone, kept = asyncio.ensure_future(lookup.get(5)), asyncio.ensure_future(lookup.get(5))
    await load.entered.wait()
    gone.cancel()
    load.gate.set()
    assert await kept == 25
    assert gone.cancelled()


async def test_fetch_states_of_many_sources_starting_together(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "batched.sqlite3")
    try:
        ids = [f"s{n}" for n in range(MAX_BATCH + 20)]
        await db.register_sources(
            [(source_id, f"https://example.org/{source_id}") for source_id in ids]
        )
        for n, source_id in enumerate(ids[:30]):
            outcome = FetchOutcome(
                attempted_at=NOW, seconds=0.1, ok=True, result="ok", status=200,
                etag=f'"{n}"', next_fetch=NOW + 60,
            )  # fmt: skip
            await db.store_fetch(source_id, outcome, [])
        states = await asyncio.gather(*(db.fetch_state(s) for s in [*ids, "unknown"]))
        assert [state.etag for state in states[:30]] == [f'"{n}"' for n in range(30)]
        assert all(state.etag is None for state in states[30:])
        assert states[-1].error_streak == 0, "a source without a row has the empty state"
    finally:
        await db.close()


@pytest.mark.parametrize("count", [1, 3])
async def test_fetch_state_sees_a_write_committed_just_before(tmp_path: Path, count: int) -> None:
    db = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        await db.register_sources([("s", "https://example.org/")])
        for n in range(count):
            outcome = FetchOutcome(
                attempted_at=NOW + n, seconds=0.1, ok=True, result="ok", status=200,
                etag=f'"v{n}"', next_fetch=NOW + 60,
            )  # fmt: skip
            await db.store_fetch("s", outcome, [])
            assert (await db.fetch_state("s")).etag == f'"v{n}"'
    finally:
        await db.close()
