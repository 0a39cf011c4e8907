"""Micro-batching of calls to the service, with retries, one future per caller.

Concurrent callers each get their own ``asyncio.Future``; a flush sends every pending item in one
call once ``max_batch`` items are waiting or ``max_delay`` has passed. A streaming sender hands
out each result as it arrives, so a caller is answered as soon as its own result is in, not when
the whole batch is. Transient failures are retried with exponential backoff (only the items still
without a result); after the last try every caller of the batch left gets the error.
Nothing is shared between waiters that one of them could consume (the failure of Scrapy's
robots.txt middleware, see DESIGN.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from crawler.optout_client import ServiceError, ServiceRejected

T = TypeVar("T")
R = TypeVar("R")

# Rejections caused by what was sent (bad item, batch too large), which splitting can cure; a
# rejected API key (401/403) fails every item alike, so the batch is not split for it.
_CONTENT_REJECTIONS = frozenset({400, 413, 422})

Sender = Callable[[Sequence[T]], Awaitable[Sequence[R]]]
# send(items, deliver): calls deliver(index, result) for each item as its result arrives.
StreamSender = Callable[[Sequence[T], Callable[[int, R], None]], Awaitable[None]]


class Batcher(Generic[T, R]):
    """Collects items submitted concurrently and sends them together with ``send(items)``.

    ``send`` answers one result per item, in order. A batch goes out when ``max_batch`` items
    wait, or ``max_delay`` seconds after the first of them arrived. A transient
    :class:`ServiceError` is retried ``retries`` times, the pause starting at ``backoff``
    seconds and doubling up to ``max_backoff``; ``on_retry(error, attempt)`` is told each time.
    """

    def __init__(
        self,
        send: Sender[T, R] | None = None,
        *,
        stream: StreamSender[T, R] | None = None,
        max_batch: int = 64,
        max_delay: float = 0.002,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        on_retry: Callable[[Exception, int], None] | None = None,
    ) -> None:
        if (send is None) == (stream is None):
            raise TypeError("give send or stream, not both")
        self._stream: StreamSender[T, R] = stream if stream is not None else _streamed(send)
        self._max_batch = max(1, max_batch)
        self._max_delay = max_delay
        self._retries = max(0, retries)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._on_retry = on_retry
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._max_delay, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        live = [(item, future) for item, future in batch if not future.done()]
        if not live:
            return
        try:
            await self._call(live)
        except ServiceRejected as exc:
            left = [pair for pair in live if not pair[1].done()]
            if len(left) > 1 and exc.status in _CONTENT_REJECTIONS:
                # One bad item (say a URL the service cannot normalise) must not sink the
                # others: each is sent on its own, and only what the service rejects fails.
                await asyncio.gather(*(self._run([pair]) for pair in left))
            else:
                _fail(left, exc)
            return
        except Exception as exc:
            _fail(live, exc)
            return
        except BaseException:
            _fail(live, ServiceError("cancelled"))
            raise

    async def _call(self, live: Sequence[tuple[T, asyncio.Future[R]]]) -> None:
        """Send the items still without a result until each has one, retrying transient
        failures; a caller's future is resolved as soon as its result arrives."""
        delay = self._backoff
        attempt = 0
        while True:
            pending = [pair for pair in live if not pair[1].done()]
            if not pending:
                return

            def deliver(index: int, result: R, pending: Sequence[Any] = pending) -> None:
                future = pending[index][1]
                if not future.done():
                    future.set_result(result)

            try:
                await self._stream([item for item, _ in pending], deliver)
            except ServiceError as exc:
                if not exc.transient or attempt >= self._retries:
                    raise
                attempt += 1
                if self._on_retry is not None:
                    self._on_retry(exc, attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            if any(not future.done() for _, future in pending):
                raise ServiceError("the service answered fewer results than asked")
            return

    async def aclose(self) -> None:
        self._flush()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail(pairs: Sequence[tuple[object, asyncio.Future[Any]]], error: Exception) -> None:
    for _, future in pairs:
        if not future.done():
            future.set_exception(error)


def _streamed(send: Sender[T, R] | None) -> StreamSender[T, R]:
    """A sender of whole answers as a streaming one: every result delivered at the end."""
    assert send is not None

    async def stream(items: Sequence[T], deliver: Callable[[int, R], None]) -> None:
        results = await send(items)
        if len(results) != len(items):
            raise ServiceError("the service answered a different number of results")
        for index, result in enumerate(results):
            deliver(index, result)

    return stream
