"""Before the fetch: every site check for every URL, one decision each.

First the piracy list (registrable domain, subdomains included): a listed host is refused and
never contacted, not even for its robots.txt. Every other URL is decided with its origin: the
origin's policy documents (every kind some check reads) are fetched concurrently through the
policy store, then the documents they point to (RSL licences), then every site check runs for
every URL of the origin (``optout_service.checks.SITE_CHECKS``, in that order) and the findings
are combined: the most restrictive applicable statement wins, and the answer lists every
reason that applies.

Origins are decided concurrently, and ``decide_by_origin`` hands out each origin's verdicts as
soon as they are known.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from anyio import to_thread

from optout_service.checks.base import Finding, Site, SiteCheck, refusal
from optout_service.checks.combine import combine
from optout_service.checks.robots import KIND as ROBOTS
from optout_service.checks.robots import robots_rules
from optout_service.policy_store import INLINE_CHECK_BYTES, PolicyStore, StoredDocument
from optout_service.purposes import Purpose
from optout_service.reasons import Reason
from optout_service.urls import NormalisedURL
from piracy_lists import PiracyMatcher


@dataclass(frozen=True, slots=True)
class Verdict:
    url: NormalisedURL
    decision: Literal["allow", "deny"]
    reasons: tuple[str, ...]
    crawl_delay: float | None = None
    robots_fetch_id: int | None = None
    fetch_ids: tuple[int, ...] = ()  # every policy document the decision read
    licenses: tuple[str, ...] = ()


# One origin's (or the piracy check's) verdicts, each with the index of its URL in the request.
Group = list[tuple[int, Verdict]]


def _site(
    origin: str,
    token: str,
    purposes: Sequence[Purpose],
    stored: dict[str, StoredDocument],
    linked: dict[str, StoredDocument] | None = None,
) -> Site:
    return Site(
        origin,
        token,
        frozenset(purposes),
        {kind: entry.document() for kind, entry in stored.items()},
        {url: entry.document() for url, entry in (linked or {}).items()},
    )


class DecisionEngine:
    def __init__(
        self,
        piracy: PiracyMatcher,
        store: PolicyStore,
        checks: Sequence[SiteCheck],
    ) -> None:
        self._piracy = piracy
        self._store = store
        self.checks = tuple(checks)
        # Every kind some check reads, robots.txt first (its crawl delay is read by the engine).
        kinds = dict.fromkeys(k for check in self.checks for k in check.documents)
        self.kinds = tuple(sorted(kinds, key=lambda k: k != ROBOTS))

    async def decide(
        self, token: str, urls: Sequence[NormalisedURL], purposes: Sequence[Purpose]
    ) -> list[Verdict]:
        """Every URL's verdict, in the order of ``urls``."""
        verdicts: list[Verdict | None] = [None] * len(urls)
        async for group in self.decide_by_origin(token, urls, purposes):
            for index, verdict in group:
                verdicts[index] = verdict
        return [v for v in verdicts if v is not None]

    async def decide_by_origin(
        self, token: str, urls: Sequence[NormalisedURL], purposes: Sequence[Purpose]
    ) -> AsyncIterator[Group]:
        """The verdicts in groups, each as soon as it is known: every origin decided since the
        last group (with the piracy refusals in the first). A slow document holds up only its
        own origin's URLs; origins whose documents are at hand come out together, in one group.
        """
        group: Group = []
        origins: dict[str, list[int]] = {}
        for index, url in enumerate(urls):
            if self._piracy.match(url.host) is not None:
                group.append((index, Verdict(url, "deny", (Reason.PIRACY_LISTED,))))
            else:
                origins.setdefault(url.origin, []).append(index)
        pending: set[asyncio.Future[Group]] = set()
        for origin, indexes in origins.items():
            cached = self._cached_site(token, purposes, origin)
            if cached is not None and sum(e.size for e in cached[1]) <= INLINE_CHECK_BYTES:
                # Everything at hand: decided now, without a task (the common case once an
                # origin is known; a task per origin cost more than its checks).
                group.extend(self._verdicts(*cached, purposes, indexes, urls))
            else:
                pending.add(
                    asyncio.ensure_future(
                        self._decide_origin(token, purposes, origin, indexes, urls)
                    )
                )
        try:
            if group and pending:
                yield group
                group = []
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    group.extend(task.result())
                yield group
                group = []
        finally:
            for task in pending:  # the caller stopped listening (a client gone): stop working
                task.cancel()
        if group:  # nothing had to be fetched
            yield group

    async def documents(self, origin: str) -> dict[str, StoredDocument]:
        """The origin's documents of every kind the checks read, fetched concurrently."""
        entries = await asyncio.gather(*(self._store.get(origin, kind) for kind in self.kinds))
        return dict(zip(self.kinds, entries, strict=True))

    async def linked(self, site: Site) -> dict[str, StoredDocument]:
        """Documents the site's documents point to (RSL licences), fetched concurrently; a
        URL on a listed host is not contacted (its entry says so)."""
        wanted = dict.fromkeys(
            (kind, url) for check in self.checks for kind, url in check.linked(site)
        )
        entries = await asyncio.gather(*(self._store.get_url(url, kind) for kind, url in wanted))
        return {url: entry for (_, url), entry in zip(wanted, entries, strict=True)}

    def _cached_site(
        self, token: str, purposes: Sequence[Purpose], origin: str
    ) -> tuple[Site, list[StoredDocument]] | None:
        """The origin's site from the cache alone (its documents and the licences they name
        all fresh), or None when something must be fetched."""
        stored: dict[str, StoredDocument] = {}
        for kind in self.kinds:
            entry = self._store.fresh(origin, kind)
            if entry is None:
                return None
            stored[kind] = entry
        site = _site(origin, token, purposes, stored)
        wanted = dict.fromkeys(
            (kind, url) for check in self.checks for kind, url in check.linked(site)
        )
        if not wanted:
            return site, list(stored.values())
        linked: dict[str, StoredDocument] = {}
        for kind, url in wanted:
            entry = self._store.fresh(url, kind)
            if entry is None:
                return None
            linked[url] = entry
        site = _site(origin, token, purposes, stored, linked)
        return site, [*stored.values(), *linked.values()]

    async def _fetched_site(
        self, token: str, purposes: Sequence[Purpose], origin: str
    ) -> tuple[Site, list[StoredDocument]]:
        stored = await self.documents(origin)
        site = _site(origin, token, purposes, stored)
        used = list(stored.values())
        if any(True for check in self.checks for _ in check.linked(site)):
            linked = await self.linked(site)
            site = _site(origin, token, purposes, stored, linked)
            used.extend(linked.values())
        return site, used

    async def _decide_origin(
        self,
        token: str,
        purposes: Sequence[Purpose],
        origin: str,
        indexes: list[int],
        urls: Sequence[NormalisedURL],
    ) -> Group:
        site, used = await self._fetched_site(token, purposes, origin)
        if sum(entry.size for entry in used) <= INLINE_CHECK_BYTES:
            return self._verdicts(site, used, purposes, indexes, urls)
        # A big file: its lookups can take milliseconds, off the event loop.
        return await to_thread.run_sync(
            self._verdicts, site, used, purposes, indexes, urls, limiter=self._store.parse_limiter
        )

    def _verdicts(
        self,
        site: Site,
        used: Sequence[StoredDocument],
        purposes: Sequence[Purpose],
        indexes: list[int],
        urls: Sequence[NormalisedURL],
    ) -> Group:
        fetch_ids = tuple(dict.fromkeys(entry.fetch_id for entry in used))
        robots = next((entry for entry in used if entry.kind == ROBOTS), None)
        robots_fetch_id = robots.fetch_id if robots is not None else None
        rules = robots_rules(site.document(ROBOTS))
        # robots.txt's crawl delay is the origin's, whatever the path.
        crawl_delay = rules.evaluate("/robots.txt", site.token).crawl_delay if rules else None
        readings = self.read(site, [urls[i].path_query for i in indexes], purposes)
        return [
            (
                index,
                Verdict(
                    urls[index],
                    "deny" if reserved else "allow",
                    reasons,
                    crawl_delay,
                    robots_fetch_id,
                    fetch_ids,
                    licenses,
                ),
            )
            for index, (reserved, reasons, licenses) in zip(indexes, readings, strict=True)
        ]

    def read(
        self, site: Site, paths: Sequence[str], purposes: Sequence[Purpose]
    ) -> list[tuple[bool, tuple[str, ...], tuple[str, ...]]]:
        """(reserved, reasons, licences) of each path of ``site``."""
        readings = []
        for path in paths:
            combined = combine(self.findings(site, path), purposes)
            readings.append((combined.reserved, combined.reasons, combined.licenses))
        return readings

    def findings(self, site: Site, path_query: str) -> list[Finding]:
        """Every site check's findings for one URL, in check order. A check that fails is a
        refusal (``check.failed``): a bug never lets a URL through."""
        found: list[Finding] = []
        for check in self.checks:
            try:
                found.extend(check.check(site, path_query))
            except Exception as exc:  # fail closed, and say which check
                found.append(refusal(Reason.CHECK_FAILED, f"{check.name}: {exc!r}"[:300]))
        return found
