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
with one that can still start a transfer (below its concurrency, or idle when it has a crawl
delay). New hosts keep arriving at that rate, and the rest of the concurrency fetches pages.
Nothing is refused or reordered within a slot: when only new hosts are queued they are taken
as before. The add-on makes this the priority queue unless the project chose its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.pqueues import DownloaderAwarePriorityQueue, _path_safe

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["ComplianceAwarePriorityQueue", "OriginGate"]

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
        # Called with a slot when it has its first decision (the priority queues).
        self.listeners: list[Callable[[str], None]] = []

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
        for listener in self.listeners:
            listener(slot)

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


class ComplianceAwarePriorityQueue(DownloaderAwarePriorityQueue):
    """``DownloaderAwarePriorityQueue`` that reads the compliance middleware's
    :class:`OriginGate` and looks at a bounded number of slots per request.

    Scrapy's queue compares every slot that has queued requests on every pop, which is cheap
    while the scheduler holds a few hosts and costly when it holds many: a crawl whose
    downloader is full (requests waiting for decisions count in it) reads the whole start list
    into the scheduler, and on the corpus web 866 slots were compared per request, a tenth of
    the crawl's CPU (docs/performance.md). Here slots are kept in two rotating orders, those
    with a decision and those without; a pop scans at most ``SCAN`` of each from the front,
    stops at the first slot with nothing in the downloader and nothing waiting (none can rank
    better), takes the best one seen, and moves every slot it looked at to the back. Among
    equals that is a round robin, as Scrapy's; a slot busier than the ones scanned may be
    passed over for a turn, never for good.

    Without the middleware every slot counts as decided and the gate is never full: fewest
    requests in the downloader first, within the scan.
    """

    SCAN = 32

    def __init__(self, crawler: Crawler, *args: Any, **kwargs: Any) -> None:
        super().__init__(crawler, *args, **kwargs)
        gate = _find_gate(crawler)
        self._ungated = gate is None
        self._gate = gate if gate is not None else OriginGate(0)
        self._gate.listeners.append(self._promote)
        self._decided: OrderedDict[str, None] = OrderedDict()
        self._new: OrderedDict[str, None] = OrderedDict()
        for slot in self.pqueues:  # resumed from a job directory
            (self._decided if self._ungated else self._new)[slot] = None

    def _promote(self, slot: str) -> None:
        """``slot`` has had its first decision: it joins the decided order."""
        if slot in self._new:
            del self._new[slot]
            self._decided[slot] = None

    def push(self, request: Request) -> None:
        slot = self._downloader_interface.get_slot_key(request)
        if slot not in self.pqueues:
            order = self._decided if self._ungated or slot in self._gate.known else self._new
            order[slot] = None
        super().push(request)

    def _load(self, slot: str) -> int:
        slots = self._downloader_interface.downloader.slots
        return (len(slots[slot].active) if slot in slots else 0) + self._gate.waiting.get(slot, 0)

    def _has_room(self, slot: str, load: int) -> bool:
        downloader = self._downloader_interface.downloader
        found = downloader.slots.get(slot)
        if found is None:
            return load < downloader.domain_concurrency
        return load < (1 if found.delay else found.concurrency)

    def _scan(self, order: OrderedDict[str, None], seen: list[str]) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for slot in order:
            if len(seen) >= self.SCAN:
                break
            seen.append(slot)
            load = self._load(slot)
            if best is None or load < best[0]:
                best = (load, slot)
                if load == 0:
                    break
        return best

    def _next(self, *, update_state: bool) -> str | None:
        if not self.pqueues:
            return None
        seen_decided: list[str] = []
        seen_new: list[str] = []
        best = self._scan(self._decided, seen_decided)
        # New hosts are compared too unless a decided one is idle, or the gate is full and a
        # decided one can still start a transfer (more requests for a slot at its limit, or
        # behind its crawl delay, would only wait in the downloader).
        if best is None or (
            best[0] > 0 and (not self._gate.full() or not self._has_room(best[1], best[0]))
        ):
            new = self._scan(self._new, seen_new)
            if new is not None and (best is None or new[0] < best[0]):
                best = new
        assert best is not None  # pqueues is not empty, so one order is not either
        if update_state:
            for order, seen in ((self._decided, seen_decided), (self._new, seen_new)):
                for slot in seen:
                    order.move_to_end(slot)
        return best[1]

    def pop(self) -> Request | None:
        slot = self._next(update_state=True)
        if slot is None:
            return None
        queue = self.pqueues[slot]
        request = queue.pop()
        if len(queue) == 0:
            del self.pqueues[slot]
            queue.close()
            self._decided.pop(slot, None)
            self._new.pop(slot, None)
            if self.key:
                with suppress(OSError):  # as Scrapy's queue: reclaim an emptied slot directory
                    Path(self.key, _path_safe(slot)).rmdir()
        return request

    def peek(self) -> Request | None:
        slot = self._next(update_state=False)
        return self.pqueues[slot].peek() if slot is not None else None


def _find_gate(crawler: Crawler) -> OriginGate | None:
    from crawler.middlewares.compliance import ComplianceMiddleware

    try:
        middleware = crawler.get_downloader_middleware(ComplianceMiddleware)
    except RuntimeError:  # no engine yet
        return None
    return middleware.origins if middleware is not None else None
