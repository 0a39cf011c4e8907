"""The robots.txt store: caches bounded in bytes with LRU eviction, parsing off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import cast

import pytest

from optout_service.config import RobotsSettings
from optout_service.fetcher import FetchResult, PolicyFetcher
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules
from optout_service.policy.robotstxt import RobotsTxt
from optout_service.policy_store import DocumentKind, StoredDocument
from optout_service.policy_store import PolicyStore as RobotsStore
from optout_service.repository import PolicyFetchRecord, StoredFetch

ROBOTS = DocumentKind("robots_txt", "/robots.txt", RobotsRules)


def rules_of(entry: StoredDocument) -> RobotsRules:
    assert isinstance(entry.parsed, RobotsRules)
    return entry.parsed


class FakeFetcher:
    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.fetched: list[str] = []

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        origin = url.removesuffix("/robots.txt")
        self.fetched.append(origin)
        body = self.bodies.get(origin)
        if body is None:
            return FetchResult(url, FetchOutcome.CLIENT_ERROR, datetime.now(UTC), status=404)
        return FetchResult(url, FetchOutcome.OK, datetime.now(UTC), status=200, body=body)


class FakeLog:
    def __init__(self) -> None:
        self.stored = 0

    async def store_policy_fetch(self, record: PolicyFetchRecord) -> StoredFetch:
        self.stored += 1
        digest = hashlib.sha256(record.body).hexdigest() if record.body is not None else None
        return StoredFetch(id=self.stored, sha256=digest)


def big_file(seed: int, rules: int = 2_000) -> bytes:
    lines = [f"User-agent: *\nDisallow: /only-{seed}\n"]
    lines += [f"Disallow: /{seed}/{i}/page\nAllow: /{seed}/{i}/page/open\n" for i in range(rules)]
    return "".join(lines).encode()


def size_of(body: bytes) -> int:
    return RobotsRules(FetchOutcome.OK, body).estimated_bytes()


def make_store(
    bodies: dict[str, bytes],
    *,
    clock: Callable[[], float] = time.monotonic,
    **settings: int,
) -> tuple[RobotsStore, FakeFetcher]:
    fetcher = FakeFetcher(bodies)
    store = RobotsStore(
        cast(PolicyFetcher, fetcher),
        FakeLog(),
        RobotsSettings(**settings),
        [ROBOTS],
        clock=clock,
    )
    return store, fetcher


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def within_budgets(store: RobotsStore, parsed: int, origins: int) -> None:
    assert store.parsed_bytes <= parsed
    assert store.cached_bytes <= origins


async def test_parsed_files_are_bounded_in_bytes_and_evicted_lru() -> None:
    bodies = {f"http://site{i}.example": big_file(i) for i in range(8)}
    one = max(size_of(body) for body in bodies.values())
    budget = 3 * one + one // 2  # room for three files
    store, fetcher = make_store(bodies, parsed_cache_bytes=budget)
    origins = list(bodies)
    for origin in origins[:3]:
        entry = await store.get(origin)
        assert not rules_of(entry).evaluate(f"/only-{origin[-9]}", "ExampleBot").allowed
        within_budgets(store, budget, 64 * 1024 * 1024)
    assert store.parsed_files() == [sha(bodies[o]) for o in origins[:3]]
    await store.get(origins[0])  # now the most recently used
    await store.get(origins[3])
    within_budgets(store, budget, 64 * 1024 * 1024)
    # site1 was the least recently used: its parsed file and its origin entry went together.
    assert store.parsed_files() == [sha(bodies[o]) for o in (origins[2], origins[0], origins[3])]
    assert store.cached_origins() == [origins[2], origins[0], origins[3]]
    fetched = len(fetcher.fetched)
    await store.get(origins[1])
    assert len(fetcher.fetched) == fetched + 1  # fetched again
    for origin in origins[4:]:
        await store.get(origin)
        within_budgets(store, budget, 64 * 1024 * 1024)
        assert len(store.parsed_files()) == 3
    assert store.parsed_bytes == sum(size_of(bodies[o]) for o in origins[5:])


async def test_origin_entries_are_bounded_in_bytes() -> None:
    bodies = {f"http://o{i}.example": b"User-agent: *\nDisallow: /x\n" for i in range(50)}
    store, _ = make_store(bodies, origin_cache_bytes=4_000)
    for origin in bodies:
        await store.get(origin)
        within_budgets(store, 64 * 1024 * 1024, 4_000)
    kept = store.cached_origins()
    assert 0 < len(kept) < 50
    assert kept == list(bodies)[-len(kept) :]  # the most recent ones
    assert len(store.parsed_files()) == 1  # fifty origins, one file, counted once


async def test_an_entry_larger_than_the_budget_is_used_but_not_kept() -> None:
    body = big_file(1)
    store, fetcher = make_store(
        {"http://big.example": body}, parsed_cache_bytes=10_000, origin_cache_bytes=10_000
    )
    for _ in range(2):
        entry = await store.get("http://big.example")
        assert not rules_of(entry).evaluate("/1/5/page", "ExampleBot").allowed
        assert rules_of(entry).evaluate("/1/5/page/open", "ExampleBot").allowed
    assert (store.parsed_files(), store.cached_origins()) == ([], [])
    assert (store.parsed_bytes, store.cached_bytes) == (0, 0)
    assert fetcher.fetched == ["http://big.example"] * 2
    # Too big for the parsed-file cache only: the origin cache counts the file in its entry.
    store, fetcher = make_store({"http://big.example": body}, parsed_cache_bytes=10_000)
    await store.get("http://big.example")
    await store.get("http://big.example")
    assert fetcher.fetched == ["http://big.example"]
    assert store.cached_bytes > size_of(body)


async def test_expired_entries_leave_the_accounts() -> None:
    now = [0.0]
    bodies = {"http://a.example": big_file(1), "http://b.example": big_file(1)}
    store, _ = make_store(bodies, clock=lambda: now[0])
    await store.get("http://a.example")
    await store.get("http://b.example")
    both = store.cached_bytes
    now[0] = 10 * 24 * 3600.0
    first = await store.get("http://a.example")  # expired: fetched again, replacing the old one
    assert first.expires_at > now[0]
    assert store.cached_origins() == ["http://b.example", "http://a.example"]
    assert store.cached_bytes == both  # the old entry left the account as the new one came
    assert store.parsed_bytes == size_of(bodies["http://a.example"])


def blocking_parse(
    monkeypatch: pytest.MonkeyPatch, release: threading.Event
) -> tuple[threading.Event, list[int]]:
    """Make every parse wait for ``release`` in its own thread, recording where it ran."""
    started = threading.Event()
    threads: list[int] = []
    real = RobotsTxt.parse.__func__  # type: ignore[attr-defined]

    def parse(cls: type[RobotsTxt], text: str, tokens: Iterable[str] | None = None) -> RobotsTxt:
        threads.append(threading.get_ident())
        started.set()
        # On the event loop this would block the very coroutine that sets `release`.
        assert release.wait(10), "the event loop could not run while a parse was in progress"
        parsed: RobotsTxt = real(cls, text, tokens)
        return parsed

    monkeypatch.setattr(RobotsTxt, "parse", classmethod(parse))
    return started, threads


async def test_parsing_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    started, threads = blocking_parse(monkeypatch, release)
    store, _ = make_store({"http://slow.example": big_file(3, rules=20_000)})
    fetch = asyncio.create_task(store.get("http://slow.example"))
    assert await asyncio.to_thread(started.wait, 10)  # a parse is under way
    # A parse is in progress and this coroutine still runs: the loop is free.
    done = await asyncio.wait_for(asyncio.sleep(0, result="ran"), timeout=5)
    release.set()
    entry = await fetch
    assert done == "ran"
    assert threads
    assert threading.get_ident() not in threads
    assert not rules_of(entry).evaluate("/3/19999/page", "ExampleBot").allowed


async def test_parses_at_once_are_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    threads: set[int] = set()
    real = RobotsTxt.parse.__func__  # type: ignore[attr-defined]

    def parse(cls: type[RobotsTxt], text: str, tokens: Iterable[str] | None = None) -> RobotsTxt:
        nonlocal running, most
        with lock:
            threads.add(threading.get_ident())
            running += 1
            most = max(most, running)
        time.sleep(0.02)  # long enough for the others to pile up if they could
        with lock:
            running -= 1
        parsed: RobotsTxt = real(cls, text, tokens)
        return parsed

    monkeypatch.setattr(RobotsTxt, "parse", classmethod(parse))
    bodies = {f"http://p{i}.example": big_file(i, rules=10) for i in range(12)}
    store, _ = make_store(bodies, parse_concurrency=2)
    await asyncio.gather(*(store.get(origin) for origin in bodies))
    assert 1 <= most <= 2
    assert threading.get_ident() not in threads  # in worker threads, two at a time at most
