"""robots.txt per origin: fetched once, stored, cached, and shared by every waiter.

Concurrent decisions for an origin whose robots.txt is not known yet all await one asyncio task
(each through its own ``shield``, so a cancelled waiter never cancels the fetch or another
waiter). Successful and 4xx answers are cached up to ``robots.cache_seconds`` (at most 24 h);
failures (5xx, network) for ``robots.error_cache_seconds``, during which the origin stays fully
disallowed. When a refetch fails, the origin is disallowed even if an older copy said otherwise:
RFC 9309 2.3.1.4 allows reusing a cached copy, we choose the stricter reading.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from anyio import to_thread

from optout_service.config import RobotsSettings
from optout_service.fetcher import FetchResult, PolicyFetcher
from optout_service.policy.robots import FetchOutcome, RobotsRules
from optout_service.repository import PolicyFetchRecord, Repository


@dataclass(frozen=True, slots=True)
class RobotsEntry:
    origin: str
    rules: RobotsRules
    fetch_id: int
    sha256: str | None
    status: int | None
    expires_at: float  # time.monotonic()


class RobotsStore:
    def __init__(
        self,
        fetcher: PolicyFetcher,
        repository: Repository,
        settings: RobotsSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[FetchOutcome], None] | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._repository = repository
        self._settings = settings
        self._clock = clock
        self._on_fetch = on_fetch
        self._cache: OrderedDict[str, RobotsEntry] = OrderedDict()
        # Parsed files by sha256: many origins serve byte-identical robots.txt files.
        self._parsed: OrderedDict[str, RobotsRules] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[RobotsEntry]] = {}

    async def get(self, origin: str) -> RobotsEntry:
        entry = self._cache.get(origin)
        if entry is not None:
            if entry.expires_at > self._clock():
                self._cache.move_to_end(origin)
                return entry
            del self._cache[origin]
        task = self._inflight.get(origin)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(origin))
            self._inflight[origin] = task
            task.add_done_callback(lambda _t: self._inflight.pop(origin, None))
        return await asyncio.shield(task)

    async def _load(self, origin: str) -> RobotsEntry:
        result = await self._fetcher.fetch(origin + "/robots.txt")
        if self._on_fetch is not None:
            self._on_fetch(result.outcome)
        stored = await to_thread.run_sync(
            self._repository.store_policy_fetch, _record(origin, result)
        )
        rules = self._rules(result, stored.sha256)
        ttl = (
            self._settings.cache_seconds
            if result.outcome in (FetchOutcome.OK, FetchOutcome.CLIENT_ERROR)
            else self._settings.error_cache_seconds
        )
        entry = RobotsEntry(
            origin=origin,
            rules=rules,
            fetch_id=stored.id,
            sha256=stored.sha256,
            status=result.status,
            expires_at=self._clock() + ttl,
        )
        self._cache[origin] = entry
        while len(self._cache) > self._settings.max_cached_origins:
            self._cache.popitem(last=False)
        return entry

    def _rules(self, result: FetchResult, sha256: str | None) -> RobotsRules:
        if sha256 is None:
            return RobotsRules(result.outcome, result.body, result.status)
        rules = self._parsed.get(sha256)
        if rules is None:
            rules = RobotsRules(result.outcome, result.body, result.status)
            self._parsed[sha256] = rules
            if len(self._parsed) > _MAX_PARSED:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(sha256)
        return rules


_MAX_PARSED = 10_000


def _record(origin: str, result: FetchResult) -> PolicyFetchRecord:
    return PolicyFetchRecord(
        kind="robots_txt",
        origin=origin,
        url=result.url,
        final_url=result.final_url,
        status=result.status,
        outcome=result.outcome.value,
        error=result.error,
        truncated=result.truncated,
        body=result.body if result.outcome is FetchOutcome.OK else None,
        fetched_at=result.fetched_at,
    )
