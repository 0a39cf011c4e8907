"""robots.txt per origin: fetched once, stored, cached, and shared by every waiter.

Concurrent decisions for an origin whose robots.txt is not known yet all await one asyncio task
(each through its own ``shield``, so a cancelled waiter never cancels the fetch or another
waiter). Successful and 4xx answers are cached up to ``robots.cache_seconds`` (at most 24 h);
failures (5xx, network) for ``robots.error_cache_seconds``, during which the origin stays fully
disallowed. When a refetch fails, the origin is disallowed even if an older copy said otherwise:
RFC 9309 2.3.1.4 allows reusing a cached copy, we choose the stricter reading.

Memory is bounded in bytes (docs/robots.md, "Budgets"). Parsed files are kept once per sha256 in
an LRU cache counted by their estimated size (``robots.parsed_cache_bytes``); origins in an LRU
cache counted by their entries (``robots.origin_cache_bytes``, and at most
``robots.max_cached_origins``). An origin entry pointing at a parsed file leaves the cache with
that file, so nothing evicted stays reachable. Parsing runs in a worker thread, at most
``robots.parse_concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from anyio import CapacityLimiter, to_thread

from optout_service.config import RobotsSettings
from optout_service.fetcher import FetchResult, PolicyFetcher
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules, RobotsVerdict
from optout_service.repository import PolicyFetchRecord, StoredFetch


class FetchLog(Protocol):
    """Where each fetch is recorded: the service's ``repository.DecisionLog``."""

    async def store_policy_fetch(self, record: PolicyFetchRecord) -> StoredFetch: ...


@dataclass(frozen=True, slots=True)
class RobotsEntry:
    origin: str
    rules: RobotsRules
    fetch_id: int
    sha256: str | None
    status: int | None
    expires_at: float  # time.monotonic()
    # Bytes the origin cache counts for this entry: the entry itself, plus its rules when they
    # are not counted in the parsed-file cache.
    size: int = 0


@dataclass(slots=True)
class _Parsed:
    rules: RobotsRules
    size: int
    origins: set[str] = field(default_factory=set)  # cached origins serving these bytes


# An OrderedDict node and dict slot, the origin's place in its parsed file's set, and the ints
# and floats of the entry: what sys.getsizeof of the entry and its strings does not see.
_ENTRY_OVERHEAD = 100 + 8 * 3 + 64 + 3 * 32
# Files whose estimate is above this are evaluated in a worker thread by :meth:`evaluate`: with
# a few thousand rules a lookup can take milliseconds.
_INLINE_EVALUATE_BYTES = 256 * 1024


def _parse(outcome: FetchOutcome, body: bytes | None, status: int | None) -> RobotsRules:
    rules = RobotsRules(outcome, body, status)
    rules.estimated_bytes()  # computed here, in the worker thread, and remembered
    return rules


class RobotsStore:
    def __init__(
        self,
        fetcher: PolicyFetcher,
        log: FetchLog,
        settings: RobotsSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[FetchOutcome], None] | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._log = log
        self._settings = settings
        self._clock = clock
        self._on_fetch = on_fetch
        # Shared with the public self-check: every robots.txt parse of the process waits here.
        self.parse_limiter = CapacityLimiter(settings.parse_concurrency)
        self._cache: OrderedDict[str, RobotsEntry] = OrderedDict()
        self._cache_bytes = 0
        # Parsed files by sha256: many origins serve byte-identical robots.txt files.
        self._parsed: OrderedDict[str, _Parsed] = OrderedDict()
        self._parsed_bytes = 0
        self._inflight: dict[str, asyncio.Task[RobotsEntry]] = {}

    @property
    def cached_bytes(self) -> int:
        """Bytes counted against ``origin_cache_bytes``."""
        return self._cache_bytes

    @property
    def parsed_bytes(self) -> int:
        """Bytes counted against ``parsed_cache_bytes``."""
        return self._parsed_bytes

    def cached_origins(self) -> list[str]:
        """Cached origins, least recently used first."""
        return list(self._cache)

    def parsed_files(self) -> list[str]:
        """sha256 of the cached parsed files, least recently used first."""
        return list(self._parsed)

    async def get(self, origin: str) -> RobotsEntry:
        entry = self._cache.get(origin)
        if entry is not None:
            if entry.expires_at > self._clock():
                self._cache.move_to_end(origin)
                if entry.sha256 is not None and entry.sha256 in self._parsed:
                    self._parsed.move_to_end(entry.sha256)
                return entry
            self._forget(origin)
        task = self._inflight.get(origin)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(origin))
            self._inflight[origin] = task
            task.add_done_callback(lambda _t: self._inflight.pop(origin, None))
        return await asyncio.shield(task)

    async def parse(
        self, outcome: FetchOutcome, body: bytes | None, status: int | None
    ) -> RobotsRules:
        """A fetch result read into rules, parsed in a worker thread under the parse limiter.

        Parsing is linear in the body, which is capped (``fetch.max_bytes``), so the thread
        ends in bounded time even when the awaiting request is cancelled (threads cannot be).
        """
        if outcome is not FetchOutcome.OK or not body:
            return RobotsRules(outcome, body, status)  # nothing to parse
        return await to_thread.run_sync(_parse, outcome, body, status, limiter=self.parse_limiter)

    async def evaluate(
        self, entry: RobotsEntry, paths: Sequence[str], token: str
    ) -> list[RobotsVerdict]:
        """Decide ``paths`` (path and query) of the entry's origin for ``token``: inline for
        the usual small file, in a worker thread for a big one."""
        rules = entry.rules
        if rules.estimated_bytes() <= _INLINE_EVALUATE_BYTES:
            return [rules.evaluate(path, token) for path in paths]
        return await to_thread.run_sync(
            lambda: [rules.evaluate(path, token) for path in paths], limiter=self.parse_limiter
        )

    async def _load(self, origin: str) -> RobotsEntry:
        result = await self._fetcher.fetch(origin + "/robots.txt")
        if self._on_fetch is not None:
            self._on_fetch(result.outcome)
        stored = await self._log.store_policy_fetch(_record(origin, result))
        sha256 = stored.sha256 if result.outcome is FetchOutcome.OK else None
        parsed = self._parsed.get(sha256) if sha256 is not None else None
        rules = (
            parsed.rules
            if parsed is not None
            else await self.parse(result.outcome, result.body, result.status)
        )
        # From here to the return nothing awaits: the caches change in one step.
        kept = self._keep_parsed(sha256, rules) if sha256 is not None else None
        if kept is not None:
            rules = kept  # the copy another origin's fetch may have kept meanwhile
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
        size = _entry_bytes(entry) + (0 if kept is not None else rules.estimated_bytes())
        entry = replace(entry, size=size)
        self._remember(entry, sha256 if kept is not None else None)
        return entry

    def _keep_parsed(self, sha256: str, rules: RobotsRules) -> RobotsRules | None:
        """The rules kept for ``sha256``, keeping ``rules`` if none are; None when ``rules`` are
        larger than the whole budget (they then serve the answer at hand only)."""
        parsed = self._parsed.get(sha256)
        if parsed is not None:
            self._parsed.move_to_end(sha256)
            return parsed.rules
        size = rules.estimated_bytes()
        if size > self._settings.parsed_cache_bytes:
            return None
        self._parsed[sha256] = _Parsed(rules, size)
        self._parsed_bytes += size
        while self._parsed_bytes > self._settings.parsed_cache_bytes:
            self._evict_parsed()  # never the file just kept: it is the most recent
        return rules

    def _evict_parsed(self) -> None:
        """Drop the least recently used parsed file and every origin entry that holds it."""
        _, parsed = self._parsed.popitem(last=False)
        self._parsed_bytes -= parsed.size
        for origin in parsed.origins:
            entry = self._cache.pop(origin, None)
            if entry is not None:
                self._cache_bytes -= entry.size

    def _remember(self, entry: RobotsEntry, sha256: str | None) -> None:
        if entry.origin in self._cache:
            self._forget(entry.origin)
        settings = self._settings
        if entry.size > settings.origin_cache_bytes:
            return  # used for this answer only
        self._cache[entry.origin] = entry
        self._cache_bytes += entry.size
        if sha256 is not None:
            self._parsed[sha256].origins.add(entry.origin)
        while (
            self._cache_bytes > settings.origin_cache_bytes
            or len(self._cache) > settings.max_cached_origins
        ):
            self._forget(next(iter(self._cache)))

    def _forget(self, origin: str) -> None:
        entry = self._cache.pop(origin)
        self._cache_bytes -= entry.size
        if entry.sha256 is not None:
            parsed = self._parsed.get(entry.sha256)
            if parsed is not None:
                parsed.origins.discard(origin)


def _entry_bytes(entry: RobotsEntry) -> int:
    size = sys.getsizeof(entry) + sys.getsizeof(entry.origin) + _ENTRY_OVERHEAD
    if entry.sha256 is not None:
        size += sys.getsizeof(entry.sha256)
    return size


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
