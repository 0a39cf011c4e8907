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
        pending = {
            asyncio.ensure_future(self._decide_origin(token, purposes, origin, indexes, urls))
            for origin, indexes in origins.items()
        }
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    group.extend(task.result())
                yield group
                group = []
        finally:
            for task in pending:  # the caller stopped listening (a client gone): stop working
                task.cancel()
        if group:  # piracy refusals only
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
        entries = await asyncio.gather(
            *(self._store.get_url(url, kind) for kind, url in wanted)
        )
        return {url: entry for (_, url), entry in zip(wanted, entries, strict=True)}

    async def _decide_origin(
        self,
        token: str,
        purposes: Sequence[Purpose],
        origin: str,
        indexes: list[int],
        urls: Sequence[NormalisedURL],
    ) -> Group:
        stored = await self.documents(origin)
        site = Site(
            origin,
            token,
            frozenset(purposes),
            {kind: entry.document() for kind, entry in stored.items()},
        )
        used = list(stored.values())
        if any(True for check in self.checks for _ in check.linked(site)):
            linked = await self.linked(site)
            site = Site(
                origin,
                token,
                site.purposes,
                site.documents,
                {url: entry.document() for url, entry in linked.items()},
            )
            used.extend(linked.values())
        fetch_ids = tuple(dict.fromkeys(entry.fetch_id for entry in used))
        robots = stored.get(ROBOTS)
        robots_fetch_id = robots.fetch_id if robots is not None else None
        rules = robots_rules(site.document(ROBOTS))
        # robots.txt's crawl delay is the origin's, whatever the path.
        crawl_delay = rules.evaluate("/robots.txt", token).crawl_delay if rules else None
        paths = [urls[i].path_query for i in indexes]
        if sum(entry.size for entry in used) <= INLINE_CHECK_BYTES:
            readings = self.read(site, paths, purposes)
        else:  # a big file: its lookups can take milliseconds, off the event loop
            readings = await to_thread.run_sync(
                self.read, site, paths, purposes, limiter=self._store.parse_limiter
            )
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

