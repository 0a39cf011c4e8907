"""The micro-batcher: one future per caller, batches bounded, retries, errors reach every waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

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


async def test_a_streaming_sender_answers_each_caller_as_its_result_arrives() -> None:
    release = asyncio.Event()

    async def stream(items: Sequence[str], deliver: Callable[[int, str], None]) -> None:
        deliver(1, items[1].upper())  # the fast one
        await release.wait()
        deliver(0, items[0].upper())

    batcher: Batcher[str, str] = Batcher(stream=stream, max_batch=2, max_delay=60)
    slow = asyncio.ensure_future(batcher.submit("slow"))
    fast = asyncio.ensure_future(batcher.submit("fast"))  # fills the batch: sent at once
    assert await asyncio.wait_for(fast, 2) == "FAST"
    assert not slow.done()
    release.set()
    assert await slow == "SLOW"


async def test_a_stream_cut_short_is_retried_for_the_items_left_only() -> None:
    calls: list[list[int]] = []

    async def stream(items: Sequence[int], deliver: Callable[[int, int], None]) -> None:
        calls.append(list(items))
        deliver(0, items[0] * 10)
        if len(calls) == 1:
            raise ServiceError("connection reset")  # after the first result
        for index in range(1, len(items)):
            deliver(index, items[index] * 10)

    batcher: Batcher[int, int] = Batcher(stream=stream, max_batch=3, max_delay=0.001, backoff=0.001)
    assert await asyncio.gather(*(batcher.submit(i) for i in (1, 2, 3))) == [10, 20, 30]
    assert calls == [[1, 2, 3], [2, 3]]


async def test_a_stream_that_leaves_an_item_unanswered_fails_that_item() -> None:
    async def stream(items: Sequence[int], deliver: Callable[[int, int], None]) -> None:
        deliver(0, 0)

    batcher: Batcher[int, int] = Batcher(stream=stream, max_batch=2, max_delay=0.001, retries=0)
    first, second = await asyncio.gather(
        batcher.submit(1), batcher.submit(2), return_exceptions=True
    )
    assert first == 0
    assert isinstance(second, ServiceError)


def test_one_sender_exactly() -> None:
    async def send(items: Sequence[int]) -> list[int]:
        return list(items)

    with pytest.raises(TypeError):
        Batcher()
    with pytest.raises(TypeError):
        Batcher(send, stream=lambda items, deliver: send(items))  # type: ignore[arg-type,return-value]
