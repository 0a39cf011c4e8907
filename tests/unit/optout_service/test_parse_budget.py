"""The memory budget of parses at once: admission by estimated peak, arrival order, and
cancellation (optout_service/parse_budget.py)."""

from __future__ import annotations

import asyncio

import pytest

from optout_service.config import RobotsSettings
from optout_service.parse_budget import PEAK_BYTES_PER_BYTE, PEAK_FIXED_BYTES, ParseMemory

MIB = 1024 * 1024


async def hold(
    budget: ParseMemory, size: int, log: list[str], name: str, go: asyncio.Event
) -> None:
    async with budget.hold(size):
        log.append(f"+{name}")
        await go.wait()
        log.append(f"-{name}")


def test_cost_is_the_tested_peak_ceiling_cut_to_the_budget() -> None:
    budget = ParseMemory(256 * MIB)
    assert budget.cost(0) == PEAK_FIXED_BYTES
    assert budget.cost(100_000) == PEAK_BYTES_PER_BYTE * 100_000 + PEAK_FIXED_BYTES
    # The largest robots.txt the service reads by default would be 257 MiB: cut to the budget.
    assert budget.cost(RobotsSettings().max_bytes) == 256 * MIB
    with pytest.raises(ValueError, match="positive"):
        ParseMemory(0)


async def test_small_parses_run_together_and_a_large_one_waits_for_room() -> None:
    budget = ParseMemory(10 * MIB)
    log: list[str] = []
    go = asyncio.Event()
    small = [asyncio.create_task(hold(budget, 1000, log, f"s{n}", go)) for n in range(3)]
    await asyncio.sleep(0)
    assert sorted(log) == ["+s0", "+s1", "+s2"]  # ~1 MiB each: all fit
    large = asyncio.create_task(hold(budget, 5 * MIB, log, "L", go))  # cut to 10 MiB
    await asyncio.sleep(0)
    assert "+L" not in log
    assert budget.waiting == 1
    go.set()
    await asyncio.gather(*small, large)
    assert log.index("+L") > max(log.index(f"-s{n}") for n in range(3))
    assert budget.in_use == 0


async def test_waiters_are_served_in_arrival_order() -> None:
    budget = ParseMemory(4 * MIB)
    log: list[str] = []
    first, second = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(hold(budget, 60_000, log, "a", first))  # ~2.8 MiB
    await asyncio.sleep(0)
    large = asyncio.create_task(hold(budget, 90_000, log, "L", second))  # ~3.7 MiB: waits
    await asyncio.sleep(0)
    # A small parse arriving after the large one would fit now, but waits behind it.
    late = asyncio.create_task(hold(budget, 0, log, "z", second))
    await asyncio.sleep(0)
    assert log == ["+a"]
    first.set()
    await running
    await asyncio.sleep(0)
    assert log[:3] == ["+a", "-a", "+L"]
    second.set()
    await asyncio.gather(large, late)
    assert log.index("+z") > log.index("+L")
    assert budget.in_use == 0


async def test_a_cancelled_waiter_gives_its_place_to_the_next() -> None:
    budget = ParseMemory(4 * MIB)
    log: list[str] = []
    go, never = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(hold(budget, 60_000, log, "a", go))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(hold(budget, 90_000, log, "L", never))
    await asyncio.sleep(0)
    behind = asyncio.create_task(hold(budget, 0, log, "z", go))
    await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await asyncio.sleep(0)
    assert "+z" in log  # ~1 MiB fits beside "a" once the large waiter is gone
    go.set()
    await asyncio.gather(running, behind)
    assert "+L" not in log
    assert budget.in_use == 0
    assert budget.waiting == 0


async def test_a_waiter_cancelled_after_its_grant_returns_it() -> None:
    budget = ParseMemory(4 * MIB)
    log: list[str] = []
    held = budget.hold(60_000)
    await held.__aenter__()
    waiter = asyncio.create_task(hold(budget, 60_000, log, "b", asyncio.Event()))
    await asyncio.sleep(0)
    assert budget.waiting == 1
    await held.__aexit__(None, None, None)  # grants "b" without letting it run
    assert budget.in_use == budget.cost(60_000)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert "+b" not in log
    assert budget.in_use == 0
