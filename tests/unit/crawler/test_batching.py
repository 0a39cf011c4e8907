"""The micro-batcher: one future per caller, batches bounded, retries, errors reach every waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from crawler.batching import Batcher
from crawler.optout_client import ServiceError, ServiceRejected


async def test_concurrent_callers_share_calls_but_each_gets_its_own_result() -> None:
    calls: list[list[int]] = []

    async def send(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        await asyncio.sleep(0)
        return [i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(send, max_batch=16, max_delay=0.001)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(100)))
    assert results == [i * 10 for i in range(100)]
    assert all(len(c) <= 16 for c in calls)
    assert len(calls) == 7  # 100 items, 16 per batch
    assert sorted(i for c in calls for i in c) == list(range(100))


async def test_transient_errors_are_retried_with_backoff() -> None:
    attempts = 0

    async def flaky(items: Sequence[int]) -> list[int]:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ServiceError("down")
        return list(items)

    retries: list[int] = []
    batcher: Batcher[int, int] = Batcher(
        flaky, retries=3, backoff=0.001, on_retry=lambda e, n: retries.append(n)
    )
    assert list(await asyncio.gather(batcher.submit(1), batcher.submit(2))) == [1, 2]
    assert retries == [1, 2]


async def test_after_the_last_retry_every_waiter_gets_the_error() -> None:
    calls = 0

    async def down(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        raise ServiceError("down")

    batcher: Batcher[int, int] = Batcher(down, retries=2, backoff=0.001)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, ServiceError) for r in results)
    assert calls == 3


async def test_rejections_are_not_retried() -> None:
    calls = 0

    async def reject(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        raise ServiceRejected(422, "bad")

    batcher: Batcher[int, int] = Batcher(reject, retries=5, backoff=0.001)
    with pytest.raises(ServiceRejected):
        await batcher.submit(1)
    assert calls == 1


async def test_a_short_answer_fails_the_batch() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return list(items)[:-1]

    batcher: Batcher[int, int] = Batcher(short, retries=0)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert all(isinstance(r, ServiceError) for r in results)


async def test_a_cancelled_waiter_does_not_disturb_the_others() -> None:
    gate = asyncio.Event()

    async def slow(items: Sequence[int]) -> list[int]:
        await gate.wait()
        return list(items)

    batcher: Batcher[int, int] = Batcher(slow, max_delay=0)
    first = asyncio.ensure_future(batcher.submit(1))
    second = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    first.cancel()
    gate.set()
    assert await second == 2
    assert first.cancelled()
    await batcher.aclose()


async def test_a_rejected_batch_is_split_so_only_the_bad_item_fails() -> None:
    calls: list[list[int]] = []

    async def picky(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if 13 in items:
            raise ServiceRejected(422, "urls.0: invalid")
        return list(items)

    batcher: Batcher[int, int] = Batcher(picky, max_batch=8)
    results = await asyncio.gather(
        *(batcher.submit(i) for i in range(10, 16)), return_exceptions=True
    )
    assert [r if not isinstance(r, Exception) else "rejected" for r in results] == [
        10,
        11,
        12,
        "rejected",
        14,
        15,
    ]
    assert calls[0] == [10, 11, 12, 13, 14, 15]
    assert sorted(len(c) for c in calls[1:]) == [1] * 6


async def test_a_rejected_api_key_fails_the_batch_without_splitting_it() -> None:
    calls = 0

    async def unauthorised(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        raise ServiceRejected(401, "unknown API key")

    batcher: Batcher[int, int] = Batcher(unauthorised, max_batch=8)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(6)), return_exceptions=True)
    assert all(isinstance(r, ServiceRejected) for r in results)
    assert calls == 1


async def test_backoff_doubles_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float) -> None:
        pauses.append(delay)
        await real_sleep(0)

    async def down(items: Sequence[int]) -> list[int]:
        raise ServiceError("down")

    batcher: Batcher[int, int] = Batcher(down, retries=5, backoff=1.0, max_backoff=5.0)
    monkeypatch.setattr("crawler.batching.asyncio.sleep", record)
    with pytest.raises(ServiceError):
        await batcher.submit(1)
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_a_full_batch_goes_out_without_waiting_for_the_delay() -> None:
    async def echo(items: Sequence[int]) -> list[int]:
        return list(items)

    batcher: Batcher[int, int] = Batcher(echo, max_batch=4, max_delay=60)
    results = await asyncio.wait_for(
        asyncio.gather(*(batcher.submit(i) for i in range(4))), timeout=5
    )
    assert results == [0, 1, 2, 3]


async def test_items_of_different_keys_never_share_a_call() -> None:
    calls: list[list[str]] = []

    async def send(items: Sequence[str]) -> list[str]:
        calls.append(list(items))
        return [i.upper() for i in items]

    batcher: Batcher[str, str] = Batcher(send, max_batch=3, max_delay=0.001)
    keyed = [("a1", "a"), ("b1", "b"), ("n1", None), ("a2", "a"), ("n2", None), ("b2", "b")]
    keyed += [("a3", "a"), ("a4", "a")]
    results = await asyncio.gather(*(batcher.submit(item, key) for item, key in keyed))
    assert results == [item.upper() for item, _ in keyed]
    assert sorted(calls) == [["a1", "a2", "a3"], ["a4"], ["b1", "b2"], ["n1", "n2"]]


async def test_closing_sends_what_waits_under_every_key() -> None:
    sent: list[str] = []

    async def send(items: Sequence[str]) -> list[str]:
        sent.extend(items)
        return list(items)

    batcher: Batcher[str, str] = Batcher(send, max_batch=8, max_delay=60)
    waiting = [asyncio.ensure_future(batcher.submit(i, key=i[0])) for i in ("x1", "y1", "z1")]
    await asyncio.sleep(0)
    await batcher.aclose()  # long before the 60 s delay
    assert await asyncio.gather(*waiting) == ["x1", "y1", "z1"]
    assert sorted(sent) == ["x1", "y1", "z1"]
