"""Before the fetch: the ordered checks that decide one URL.

Order (stopping at the first deny): piracy list (registrable domain, subdomains included, so a
listed site is never contacted, not even for robots.txt) -> robots.txt of the origin. Origins
are decided concurrently, and ``decide_by_origin`` hands out each origin's verdicts as soon as
they are known. Reservations
registered by rights holders and site-wide reservation files slot in between and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from optout_service.reasons import Reason
from optout_service.robots_store import RobotsEntry, RobotsStore
from optout_service.urls import NormalisedURL
from piracy_lists import PiracyMatcher


@dataclass(frozen=True, slots=True)
class Verdict:
    url: NormalisedURL
    decision: Literal["allow", "deny"]
    reasons: tuple[Reason, ...]
    crawl_delay: float | None = None
    robots_fetch_id: int | None = None


# One origin's (or the piracy check's) verdicts, each with the index of its URL in the request.
Group = list[tuple[int, Verdict]]


class DecisionEngine:
    def __init__(self, piracy: PiracyMatcher, robots: RobotsStore) -> None:
        self._piracy = piracy
        self._robots = robots

    async def decide(self, token: str, urls: Sequence[NormalisedURL]) -> list[Verdict]:
        """Every URL's verdict, in the order of ``urls``."""
        verdicts: list[Verdict | None] = [None] * len(urls)
        async for group in self.decide_by_origin(token, urls):
            for index, verdict in group:
                verdicts[index] = verdict
        return [v for v in verdicts if v is not None]

    async def decide_by_origin(
        self, token: str, urls: Sequence[NormalisedURL]
    ) -> AsyncIterator[Group]:
        """The verdicts in groups, each as soon as it is known: every origin decided since the
        last group (with the piracy refusals in the first). A slow robots.txt holds up only its
        own origin's URLs; origins whose robots.txt is at hand come out together, in one group.
        """
        group: Group = []
        origins: dict[str, list[int]] = {}
        for index, url in enumerate(urls):
            if self._piracy.match(url.host) is not None:
                group.append((index, Verdict(url, "deny", (Reason.PIRACY_LISTED,))))
            else:
                origins.setdefault(url.origin, []).append(index)
        pending = {
            asyncio.ensure_future(self._decide_origin(token, origin, indexes, urls))
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

    async def _decide_origin(
        self, token: str, origin: str, indexes: list[int], urls: Sequence[NormalisedURL]
    ) -> Group:
        entry: RobotsEntry = await self._robots.get(origin)
        # A big file is evaluated in a worker thread, never on the event loop.
        found = await self._robots.evaluate(entry, [urls[i].path_query for i in indexes], token)
        return [
            (
                index,
                Verdict(
                    urls[index],
                    "allow" if verdict.allowed else "deny",
                    (verdict.reason, verdict.detail) if verdict.detail else (verdict.reason,),
                    verdict.crawl_delay,
                    entry.fetch_id,
                ),
            )
            for index, verdict in zip(indexes, found, strict=True)
        ]
