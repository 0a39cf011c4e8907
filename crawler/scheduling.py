"""Scheduling that knows what a new origin costs: pages of known hosts go first while the
opt-out service is busy with enough new ones.

Scrapy's default priority queue (``DownloaderAwarePriorityQueue``) hands out the next request
of the download slot with the fewest requests in the downloader. A host seen for the first time
has none, so on a frontier of many hosts with few pages each it always wins: every host's first
request is taken before any host's second. Without compliance that costs little (a robots.txt
fetch in the crawl's own downloader). With it, each new host's first request waits while the
service fetches the host's policy documents (robots.txt, tdmrep.json, ai.txt, licences), and
the crawl's whole concurrency fills with requests waiting for new hosts while the pages of the
hosts already decided wait in the queue: the start of such a crawl ran at a tenth of its later
speed (docs/performance.md).

:class:`OriginGate` is kept by the compliance middleware: per download slot, the requests
waiting for a decision, and which slots have had one. :class:`ComplianceAwarePriorityQueue`
counts a slot's waiting requests as in the downloader and, once ``COMPLIANCE_NEW_ORIGINS``
slots without a decision yet are waiting for one, ranks the slots without one after every slot
with one. New hosts keep arriving at that rate, and the rest of the concurrency fetches pages.
Nothing is refused or reordered within a slot: when only new hosts are queued they are taken
as before. The add-on makes this the priority queue unless the project chose its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrapy.pqueues import DownloaderAwarePriorityQueue, DownloaderInterface

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ComplianceAwarePriorityQueue", "OriginGate"]

# Added to the rank of a slot without a decision while the gate is full: above any number of
# requests a slot can have in the downloader.
_LATER = 1 << 40
DEFAULT_KNOWN_SLOTS = 200_000


class OriginGate:
    """Which download slots wait for a decision, and which have had one.

    ``limit`` (``COMPLIANCE_NEW_ORIGINS``): how many slots without a decision may wait for
    one before :meth:`full`; 0 switches the gate off. ``known_slots`` bounds the memory: the
    slots decided longest ago are forgotten first (a forgotten slot only ranks as new again).
    """

    def __init__(self, limit: int, known_slots: int = DEFAULT_KNOWN_SLOTS) -> None:
        self.limit = limit
        self.known_slots = max(1, known_slots)
        self.waiting: dict[str, int] = {}  # slot -> requests waiting for their decision
        self.known: dict[str, None] = {}  # slots that have had a decision, oldest first
        self._new_waiting: set[str] = set()  # slots waiting, none decided yet

    def waits(self, slot: str) -> None:
        """A request of ``slot`` is sent for its decision."""
        self.waiting[slot] = self.waiting.get(slot, 0) + 1
        if slot not in self.known:
            self._new_waiting.add(slot)

    def decided(self, slot: str) -> None:
        """A decision (of any kind) came back for a request of ``slot``."""
        known = self.known
        if slot in known:
            return
        known[slot] = None
        self._new_waiting.discard(slot)
        if len(known) > self.known_slots:
            del known[next(iter(known))]

    def done(self, slot: str) -> None:
        """A request of ``slot`` is no longer waiting (decided, refused or failed)."""
        left = self.waiting.get(slot, 0) - 1
        if left > 0:
            self.waiting[slot] = left
        else:
            self.waiting.pop(slot, None)
            self._new_waiting.discard(slot)

    @property
    def new_waiting(self) -> int:
        """Slots without a decision that have a request waiting for one."""
        return len(self._new_waiting)

    def full(self) -> bool:
        return 0 < self.limit <= len(self._new_waiting)


class _GatedInterface(DownloaderInterface):
    """The downloader's per-slot counts, plus the requests waiting for a decision, plus a rank
    after every decided slot for the undecided ones while the gate is full."""

    def __init__(self, crawler: Crawler, gate: OriginGate) -> None:
        super().__init__(crawler)
        self.gate = gate

    def stats(self, possible_slots: Iterable[str]) -> list[tuple[int, str]]:
        slots = self.downloader.slots
        waiting = self.gate.waiting
        if not self.gate.full():
            return [
                ((len(slots[s].active) if s in slots else 0) + waiting.get(s, 0), s)
                for s in possible_slots
            ]
        known = self.gate.known
        return [
            (
                (len(slots[s].active) if s in slots else 0)
                + waiting.get(s, 0)
                + (0 if s in known else _LATER),
                s,
            )
            for s in possible_slots
        ]


class ComplianceAwarePriorityQueue(DownloaderAwarePriorityQueue):
    """``DownloaderAwarePriorityQueue`` that reads the compliance middleware's
    :class:`OriginGate`; without that middleware it is Scrapy's queue unchanged."""

    def __init__(self, crawler: Crawler, *args: Any, **kwargs: Any) -> None:
        super().__init__(crawler, *args, **kwargs)
        gate = _find_gate(crawler)
        if gate is not None:
            self._downloader_interface = _GatedInterface(crawler, gate)


def _find_gate(crawler: Crawler) -> OriginGate | None:
    from crawler.middlewares.compliance import ComplianceMiddleware

    try:
        middleware = crawler.get_downloader_middleware(ComplianceMiddleware)
    except RuntimeError:  # no engine yet
        return None
    return middleware.origins if middleware is not None else None
