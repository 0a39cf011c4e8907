"""Before the fetch: the ordered checks that decide one URL.

Order (stopping at the first deny): piracy list (registrable domain, subdomains included, so a
listed site is never contacted, not even for robots.txt) -> robots.txt of the origin. Reservations
registered by rights holders and site-wide reservation files slot in between and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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


class DecisionEngine:
    def __init__(self, piracy: PiracyMatcher, robots: RobotsStore) -> None:
        self._piracy = piracy
        self._robots = robots

    async def decide(self, token: str, urls: Sequence[NormalisedURL]) -> list[Verdict]:
        verdicts: list[Verdict | None] = [None] * len(urls)
        origins: dict[str, list[int]] = {}
        for index, url in enumerate(urls):
            if self._piracy.match(url.host) is not None:
                verdicts[index] = Verdict(url, "deny", (Reason.PIRACY_LISTED,))
            else:
                origins.setdefault(url.origin, []).append(index)
        if origins:
            entries: list[RobotsEntry] = await asyncio.gather(
                *(self._robots.get(origin) for origin in origins)
            )
            for entry, indexes in zip(entries, origins.values(), strict=True):
                # A big file is evaluated in a worker thread, never on the event loop.
                found = await self._robots.evaluate(
                    entry, [urls[index].path_query for index in indexes], token
                )
                for index, verdict in zip(indexes, found, strict=True):
                    verdicts[index] = Verdict(
                        urls[index],
                        "allow" if verdict.allowed else "deny",
                        (verdict.reason, verdict.detail) if verdict.detail else (verdict.reason,),
                        verdict.crawl_delay,
                        entry.fetch_id,
                    )
        return [v for v in verdicts if v is not None]
