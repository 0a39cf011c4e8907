"""What the service keeps in memory between requests is bounded in bytes, and freed memory goes
back to the system (benchmarks/service_memory.py measures both over 100,000 origins)."""

from __future__ import annotations

import asyncio
import ctypes.util

import pytest

from optout_service import heap
from optout_service.repository import DecisionRef, RecentDecisions, _ref_bytes


def ref(n: int, url_length: int = 100) -> DecisionRef:
    host = f"h{n:04d}.example"  # every entry the same size
    url = f"http://{host}/" + "p" * url_length
    return DecisionRef(f"id-{n}", "job", url, host, "ExampleBot", "crawler", "allow")


def test_recent_decisions_are_bounded_in_bytes_oldest_first() -> None:
    one = _ref_bytes(ref(0))
    recent = RecentDecisions(max_bytes=10 * one)
    recent.add(ref(n) for n in range(25))
    assert len(recent) == 10
    assert recent.bytes <= 10 * one
    assert recent.get("id-14") is None  # evicted
    assert recent.get("id-15") is not None
    # Long URLs take more of the budget: fewer of them are kept.
    recent.add(ref(n, url_length=10 * one) for n in range(100, 103))
    assert recent.bytes <= 10 * one
    assert recent.get("id-15") is None
    assert len(recent) == 0  # each alone is over the budget: none is kept


def test_a_decision_added_again_is_counted_once() -> None:
    recent = RecentDecisions(max_bytes=1_000_000)
    recent.add([ref(1), ref(1), ref(2)])
    assert len(recent) == 2
    assert recent.bytes == _ref_bytes(ref(1)) + _ref_bytes(ref(2))


async def test_freed_memory_is_given_back_at_each_interval() -> None:
    calls = 0

    def trim() -> int:
        nonlocal calls
        calls += 1
        return 1

    task = asyncio.ensure_future(heap.trim_periodically(0.01, trim))
    await asyncio.sleep(0.2)
    task.cancel()
    assert calls >= 3


def test_without_a_c_library_to_ask_nothing_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert heap.malloc_trim() is None
    # And the periodic task ends at once instead of looping.
    asyncio.run(asyncio.wait_for(heap.trim_periodically(0.01), 1))


def test_glibc_trim_is_found_here() -> None:
    trim = heap.malloc_trim()
    assert trim is not None  # the machines this runs on use glibc
    assert trim() in (0, 1)
