"""ASGI middleware that refuses oversized bodies and floods before any route code runs.

* :class:`BodySizeLimitMiddleware` reads the whole body first and answers 413 as soon as it
  passes the limit, whether the size was declared (``Content-Length``) or not (chunked), so no
  parser ever sees it. Public routes have a smaller limit of their own.
* :class:`PublicBudgetMiddleware` gives each client of the public, keyless routes a token
  bucket (429 with ``Retry-After`` when it is empty) and a time budget per request (503 when
  the answer is not ready in time).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from optout_service import errors


async def _send_error(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        public_paths: Collection[str] = (),
        public_max_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.public_paths = frozenset(public_paths)
        self.public_max_bytes = public_max_bytes if public_max_bytes is not None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.public_max_bytes if scope["path"] in self.public_paths else self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await _send_error(send, 413, errors.BODY_TOO_LARGE.format(limit=limit))
                    return
        # The body is read here, up to the limit, before the app sees any of it: an exception
        # raised from inside the app's own receive() would be turned into a 400 by the body
        # parser, and a chunked body has no size to check up front.
        chunks: list[bytes] = []
        size = 0
        more = True
        disconnect: Message | None = None
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnect = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_error(send, 413, errors.BODY_TOO_LARGE.format(limit=limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if disconnect is not None:
                    return disconnect
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: only the disconnect is left to wait for

        await self.app(scope, replay, send)


class TokenBuckets:
    """One token bucket per client: ``rate`` tokens a second, at most ``burst`` saved up.

    At most ``max_clients`` buckets are kept (least recently seen dropped first), so memory is
    bounded whatever the number of clients.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """0 when a request of ``client`` may go ahead, else the seconds until it may."""
        now = self._clock()
        tokens, seen = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - seen) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class PublicBudgetMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        public_paths: Collection[str],
        buckets: TokenBuckets | None,
        time_budget: float,
    ) -> None:
        self.app = app
        self.public_paths = frozenset(public_paths)
        self.buckets = buckets
        self.time_budget = time_budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.public_paths:
            await self.app(scope, receive, send)
            return
        if self.buckets is not None:
            client = scope.get("client")
            wait = self.buckets.take(client[0] if client else "-")
            if wait > 0:
                await _send_error(
                    send,
                    429,
                    errors.RATE_LIMITED,
                    [(b"retry-after", str(max(1, math.ceil(wait))).encode())],
                )
                return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(self.time_budget):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not started:
                await _send_error(send, 503, errors.TIME_BUDGET.format(seconds=self.time_budget))
