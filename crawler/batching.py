"""Micro-batching of calls to the service, with retries, one future per caller.

Concurrent callers each get their own ``asyncio.Future``; a flush sends every pending item in one
call once ``max_batch`` items are waiting or ``max_delay`` has passed. Items submitted under
different keys never share a call (the compliance middleware keeps each origin it has not
had an answer for apart, so that one slow robots.txt holds up only its own origin's URLs).
Transient failures are retried with exponential backoff; after the last try every caller of
the batch gets the error.
Nothing is shared between waiters that one of them could consume (the failure of Scrapy's
robots.txt middleware, see DESIGN.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from crawler.optout_client import ServiceError, ServiceRejected

T = TypeVar("T")
R = TypeVar("R")

# Rejections caused by what was sent (bad item, batch too large), which splitting can cure; a
# rejected API key (401/403) fails every item alike, so the batch is not split for it.
_CONTENT_REJECTIONS = frozenset({400, 413, 422})

Sender = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


class Batcher(Generic[T, R]):
    """Collects items submitted concurrently and sends them together with ``send(items)``.

    ``send`` answers one result per item, in order. A batch goes out when ``max_batch`` items
    wait, or ``max_delay`` seconds after the first of them arrived. A transient
    :class:`ServiceError` is retried ``retries`` times, the pause starting at ``backoff``
    seconds and doubling up to ``max_backoff``; ``on_retry(error, attempt)`` is told each time.
    """

    def __init__(
        self,
        send: Sender[T, R],
        *,
        max_batch: int = 64,
        max_delay: float = 0.002,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        on_retry: Callable[[Exception, int], None] | None = None,
    ) -> None:
        self._send = send
        self._max_batch = max(1, max_batch)
        self._max_delay = max_delay
        self._retries = max(0, retries)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._on_retry = on_retry
        # Per key: the items waiting, and the timer that sends them.
        self._pending: dict[Hashable, list[tuple[T, asyncio.Future[R]]]] = {}
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T, key: Hashable = None) -> R:
        """Send ``item`` in the next call for ``key`` (items of other keys never share it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = []
        pending.append((item, future))
        if len(pending) >= self._max_batch:
            self._flush(key)
        elif key not in self._timers:
            self._timers[key] = loop.call_later(self._max_delay, self._flush, key)
        return await future

    def _flush(self, key: Hashable) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        pending = self._pending.pop(key, None)
        if not pending:
            return
        loop = asyncio.get_running_loop()
        for start in range(0, len(pending), self._max_batch):
            task = loop.create_task(self._run(pending[start : start + self._max_batch]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        live = [(item, future) for item, future in batch if not future.done()]
        if not live:
            return
        try:
            results = await self._call([item for item, _ in live])
        except ServiceRejected as exc:
            if len(live) > 1 and exc.status in _CONTENT_REJECTIONS:
                # One bad item (say a URL the service cannot normalise) must not sink the
                # others: each is sent on its own, and only what the service rejects fails.
                await asyncio.gather(*(self._run([pair]) for pair in live))
            else:
                _fail(live, exc)
            return
        except Exception as exc:
            _fail(live, exc)
            return
        except BaseException:
            _fail(live, ServiceError("cancelled"))
            raise
        for (_, future), result in zip(live, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _call(self, items: Sequence[T]) -> Sequence[R]:
        delay = self._backoff
        attempt = 0
        while True:
            try:
                results = await self._send(items)
            except ServiceError as exc:
                if not exc.transient or attempt >= self._retries:
                    raise
                attempt += 1
                if self._on_retry is not None:
                    self._on_retry(exc, attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            if len(results) != len(items):
                raise ServiceError("the service answered a different number of results")
            return results

    async def aclose(self) -> None:
        for key in list(self._pending):
            self._flush(key)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail(pairs: Sequence[tuple[object, asyncio.Future[Any]]], error: Exception) -> None:
    for _, future in pairs:
        if not future.done():
            future.set_exception(error)
