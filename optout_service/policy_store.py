"""Policy documents by (kind, origin): fetched once, stored, cached, and shared by every waiter.

One store serves every kind of document (robots.txt, tdmrep.json, ai.txt, RSL licences; the kinds
and their parsers are data, ``optout_service.checks.DOCUMENT_KINDS``). A kind with a ``path`` is
fetched per origin (``get(origin, kind)``); one without, such as an RSL licence named by a
robots.txt, per URL (``get_url(url, kind)``). What a failed fetch means is the business of each
kind's parser (written beside it); the store only records and caches.

Concurrent decisions for an origin whose document is not known yet all await one asyncio task
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
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from anyio import CapacityLimiter, to_thread

from optout_service.checks.base import Document
from optout_service.config import RobotsSettings
from optout_service.fetcher import FetchResult, PolicyFetcher
from optout_service.outcomes import FetchOutcome
from optout_service.parse_budget import ParseMemory
from optout_service.repository import PolicyFetchRecord, StoredFetch


class FetchLog(Protocol):
    """Where each fetch is recorded: the service's ``repository.DecisionLog``."""

    async def store_policy_fetch(self, record: PolicyFetchRecord) -> StoredFetch: ...


class Parsed(Protocol):
    """What a kind's parser makes of a fetch: anything that can tell its own size."""

    def estimated_bytes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One kind of policy document: where it lives and how it is read."""

    name: str  # "robots_txt": the policy_fetch.kind of its fetches
    path: str | None  # "/robots.txt"; None: fetched by URL only (RSL licences)
    # (outcome, body or None, HTTP status) -> the parsed document; pure, bounded, never raises.
    parse: Callable[[FetchOutcome, bytes | None, int | None], Parsed]
    max_bytes: int | None = None  # the body cap (None: fetch.max_bytes)


Key = tuple[str, str]  # (kind, origin) or (kind, URL) for kinds fetched by URL


@dataclass(frozen=True, slots=True)
class StoredDocument:
    kind: str
    origin: str  # the origin, or the URL for kinds fetched by URL
    url: str
    outcome: FetchOutcome
    parsed: Parsed
    fetch_id: int
    sha256: str | None
    status: int | None
    truncated: bool
    expires_at: float  # time.monotonic()
    # Bytes the origin cache counts for this entry: the entry itself, plus its parsed document
    # when it is not counted in the parsed-file cache.
    size: int = 0

    @property
    def key(self) -> Key:
        return (self.kind, self.origin)

    def document(self) -> Document:
        """The entry as checks read it."""
        return Document(
            self.kind,
            self.url,
            self.outcome,
            self.status,
            self.parsed,
            sha256=self.sha256,
            fetch_id=self.fetch_id,
            truncated=self.truncated,
        )


@dataclass(slots=True)
class _Parsed:
    parsed: Parsed
    size: int
    keys: set[Key] = field(default_factory=set)  # cached entries serving these bytes


# An OrderedDict node and dict slot, the origin's place in its parsed file's set, and the ints
# and floats of the entry: what sys.getsizeof of the entry and its strings does not see.
_ENTRY_OVERHEAD = 100 + 8 * 3 + 64 + 3 * 32
# Documents whose estimate is above this are checked in a worker thread by the decision engine:
# with a few thousand rules a lookup can take milliseconds.
INLINE_CHECK_BYTES = 256 * 1024


def _parse(
    kind: DocumentKind, outcome: FetchOutcome, body: bytes | None, status: int | None
) -> Parsed:
    parsed = kind.parse(outcome, body, status)
    parsed.estimated_bytes()  # computed here, in the worker thread, and remembered
    return parsed


class PolicyStore:
    def __init__(
        self,
        fetcher: PolicyFetcher,
        log: FetchLog,
        settings: RobotsSettings,
        kinds: Sequence[DocumentKind],
        *,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[str, FetchOutcome, bool], None] | None = None,
        never_contact: Callable[[str], bool] | None = None,
    ) -> None:
        self.kinds = {kind.name: kind for kind in kinds}
        # Hosts never to contact at all (on a piracy list): their documents are not fetched.
        self._never_contact = never_contact
        self._fetcher = fetcher
        self._log = log
        self._settings = settings
        self._clock = clock
        self._on_fetch = on_fetch
        # Shared with the public self-check: every document parse of the process waits here.
        self.parse_limiter = CapacityLimiter(settings.parse_concurrency)
        # ... and within the memory their peaks may take together.
        self.parse_memory = ParseMemory(settings.parse_memory_bytes)
        self._cache: OrderedDict[Key, StoredDocument] = OrderedDict()
        self._cache_bytes = 0
        # Parsed files by (kind, sha256): many origins serve byte-identical files.
        self._parsed: OrderedDict[Key, _Parsed] = OrderedDict()
        self._parsed_bytes = 0
        self._inflight: dict[Key, asyncio.Task[StoredDocument]] = {}

    @property
    def cached_bytes(self) -> int:
        """Bytes counted against ``origin_cache_bytes``."""
        return self._cache_bytes

    @property
    def parsed_bytes(self) -> int:
        """Bytes counted against ``parsed_cache_bytes``."""
        return self._parsed_bytes

    def cached_origins(self, kind: str = "robots_txt") -> list[str]:
        """Cached origins (or URLs) of ``kind``, least recently used first."""
        return [origin for k, origin in self._cache if k == kind]

    def parsed_files(self, kind: str = "robots_txt") -> list[str]:
        """sha256 of the cached parsed files of ``kind``, least recently used first."""
        return [digest for k, digest in self._parsed if k == kind]

    def cached(self, origin: str, kind: str = "robots_txt") -> StoredDocument | None:
        """The fresh cached entry, without fetching (None when absent or expired)."""
        entry = self._cache.get((kind, origin))
        if entry is None or entry.expires_at <= self._clock():
            return None
        return entry

    async def get(self, origin: str, kind: str = "robots_txt") -> StoredDocument:
        """The document of ``kind`` at its path on ``origin``: cached, or fetched once for
        every waiter."""
        path = self.kinds[kind].path
        if path is None:
            raise ValueError(f"documents of kind {kind!r} are fetched by URL (get_url)")
        return await self._entry((kind, origin), origin + path)

    async def get_url(self, url: str, kind: str) -> StoredDocument:
        """The document of ``kind`` at ``url`` (an RSL licence, possibly on another host)."""
        return await self._entry((kind, url), url)

    def fresh(self, origin: str, kind: str = "robots_txt") -> StoredDocument | None:
        """The fresh cached document of ``kind`` for ``origin`` (or for a URL, for kinds
        fetched by URL), marked as just used; None when it must be fetched. Synchronous: an
        answer from the cache needs no task and no turn of the event loop."""
        key = (kind, origin)
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            self._forget(key)
            return None
        self._cache.move_to_end(key)
        if entry.sha256 is not None:
            parsed_key = (entry.kind, entry.sha256)
            if parsed_key in self._parsed:
                self._parsed.move_to_end(parsed_key)
        return entry

    async def _entry(self, key: Key, url: str) -> StoredDocument:
        entry = self.fresh(key[1], key[0])
        if entry is not None:
            return entry
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(key, url))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def parse(
        self, kind: str, outcome: FetchOutcome, body: bytes | None, status: int | None
    ) -> Parsed:
        """A fetch result read by its kind's parser, in a worker thread under the limiter.

        Parsing is linear in the body, which is capped, so the thread ends in bounded time even
        when the awaiting request is cancelled (threads cannot be).
        """
        document_kind = self.kinds[kind]
        if outcome is not FetchOutcome.OK or not body:
            return document_kind.parse(outcome, body, status)  # nothing to parse
        async with self.parse_memory.hold(len(body)):
            return await to_thread.run_sync(
                _parse, document_kind, outcome, body, status, limiter=self.parse_limiter
            )

    async def _load(self, key: Key, url: str) -> StoredDocument:
        kind, origin = key
        host = urlsplit(url).hostname or ""
        if self._never_contact is not None and self._never_contact(host):
            result = FetchResult(
                url, FetchOutcome.BLOCKED_ADDRESS, datetime.now(UTC), error="host never contacted"
            )
        else:
            result = await self._fetcher.fetch(url, max_bytes=self.kinds[kind].max_bytes)
        if self._on_fetch is not None:
            self._on_fetch(kind, result.outcome, result.truncated)
        # A document fetched by URL is recorded under the origin of its URL.
        record_origin = origin if self.kinds[kind].path is not None else _origin_of(url)
        stored = await self._log.store_policy_fetch(_record(kind, record_origin, result))
        sha256 = stored.sha256 if result.outcome is FetchOutcome.OK else None
        cached = self._parsed.get((kind, sha256)) if sha256 is not None else None
        parsed = (
            cached.parsed
            if cached is not None
            else await self.parse(kind, result.outcome, result.body, result.status)
        )
        # From here to the return nothing awaits: the caches change in one step.
        kept = self._keep_parsed((kind, sha256), parsed) if sha256 is not None else None
        if kept is not None:
            parsed = kept  # the copy another origin's fetch may have kept meanwhile
        ttl = (
            self._settings.cache_seconds
            if result.outcome in (FetchOutcome.OK, FetchOutcome.CLIENT_ERROR)
            else self._settings.error_cache_seconds
        )
        entry = StoredDocument(
            kind=kind,
            origin=origin,
            url=url,
            outcome=result.outcome,
            parsed=parsed,
            fetch_id=stored.id,
            sha256=stored.sha256,
            status=result.status,
            truncated=result.truncated,
            expires_at=self._clock() + ttl,
        )
        size = _entry_bytes(entry) + (0 if kept is not None else parsed.estimated_bytes())
        entry = replace(entry, size=size)
        self._remember(entry, sha256 is not None and kept is not None)
        return entry

    def _keep_parsed(self, key: Key, parsed: Parsed) -> Parsed | None:
        """The parsed file kept for ``key``, keeping ``parsed`` if none is; None when it is
        larger than the whole budget (it then serves the answer at hand only)."""
        found = self._parsed.get(key)
        if found is not None:
            self._parsed.move_to_end(key)
            return found.parsed
        size = parsed.estimated_bytes()
        if size > self._settings.parsed_cache_bytes:
            return None
        self._parsed[key] = _Parsed(parsed, size)
        self._parsed_bytes += size
        while self._parsed_bytes > self._settings.parsed_cache_bytes:
            self._evict_parsed()  # never the file just kept: it is the most recent
        return parsed

    def _evict_parsed(self) -> None:
        """Drop the least recently used parsed file and every entry that holds it."""
        _, parsed = self._parsed.popitem(last=False)
        self._parsed_bytes -= parsed.size
        for key in parsed.keys:
            entry = self._cache.pop(key, None)
            if entry is not None:
                self._cache_bytes -= entry.size

    def _remember(self, entry: StoredDocument, shared: bool) -> None:
        key = entry.key
        if key in self._cache:
            self._forget(key)
        settings = self._settings
        if entry.size > settings.origin_cache_bytes:
            return  # used for this answer only
        self._cache[key] = entry
        self._cache_bytes += entry.size
        if shared and entry.sha256 is not None:
            self._parsed[(entry.kind, entry.sha256)].keys.add(key)
        while (
            self._cache_bytes > settings.origin_cache_bytes
            or len(self._cache) > settings.max_cached_origins
        ):
            self._forget(next(iter(self._cache)))

    def _forget(self, key: Key) -> None:
        entry = self._cache.pop(key)
        self._cache_bytes -= entry.size
        if entry.sha256 is not None:
            parsed = self._parsed.get((entry.kind, entry.sha256))
            if parsed is not None:
                parsed.keys.discard(key)


def _entry_bytes(entry: StoredDocument) -> int:
    size = sys.getsizeof(entry) + sys.getsizeof(entry.origin) + _ENTRY_OVERHEAD
    if entry.url is not entry.origin:
        size += sys.getsizeof(entry.url)
    if entry.sha256 is not None:
        size += sys.getsizeof(entry.sha256)
    return size


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"[:320]


def _record(kind: str, origin: str, result: FetchResult) -> PolicyFetchRecord:
    return PolicyFetchRecord(
        kind=kind,
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
