"""The priority queue that hands out pages of decided hosts first while the service is busy
with new ones, and the gate the compliance middleware keeps for it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import Settings
from scrapy.squeues import FifoMemoryQueue

from crawler.addon import ComplianceAddon
from crawler.middlewares.compliance import ComplianceMiddleware
from crawler.scheduling import ComplianceAwarePriorityQueue, OriginGate
from tests.unit.crawler.test_middleware import FakeClient, build


class FakeCrawler:
    """What the queue reads of a crawler: settings, the downloader's slots, the middleware."""

    def __init__(self, gate: OriginGate | None) -> None:
        self.settings = Settings({"CONCURRENT_REQUESTS_PER_IP": 0})
        self.slots: dict[str, Any] = {}
        self.engine = SimpleNamespace(
            downloader=SimpleNamespace(
                slots=self.slots,
                get_slot_key=lambda r: r.meta.get("download_slot") or host(r),
                domain_concurrency=8,
            )
        )
        self.middleware = SimpleNamespace(origins=gate) if gate is not None else None

    def get_downloader_middleware(self, cls: type) -> Any:
        assert cls is ComplianceMiddleware
        return self.middleware

    def busy(self, slot: str, active: int, *, concurrency: int = 8, delay: float = 0) -> None:
        """``active`` requests of ``slot`` in the downloader."""
        self.slots[slot] = SimpleNamespace(
            active=set(range(active)), concurrency=concurrency, delay=delay
        )


def host(request: Request) -> str:
    return request.url.split("/")[2]


def make_queue(gate: OriginGate | None) -> tuple[ComplianceAwarePriorityQueue, FakeCrawler]:
    crawler = FakeCrawler(gate)
    queue = ComplianceAwarePriorityQueue(crawler, FifoMemoryQueue, "")  # type: ignore[arg-type]
    return queue, crawler


def push_pages(queue: ComplianceAwarePriorityQueue, hosts: list[str], pages: int) -> None:
    for name in hosts:
        for n in range(pages):
            queue.push(Request(f"http://{name}/{n}"))


def pop_hosts(queue: ComplianceAwarePriorityQueue, count: int) -> list[str]:
    popped = [queue.pop() for _ in range(count)]
    return [host(r) for r in popped if r is not None]


# --- the gate ------------------------------------------------------------------------------


def test_gate_counts_new_slots_waiting_and_fills_at_its_limit() -> None:
    gate = OriginGate(2)
    gate.waits("a")
    gate.waits("a")
    assert gate.new_waiting == 1
    assert not gate.full()
    gate.waits("b")
    assert gate.new_waiting == 2
    assert gate.full()
    gate.decided("a")  # a decision for one of a's requests: a is no longer new
    assert gate.new_waiting == 1
    assert not gate.full()
    gate.done("a")
    assert gate.waiting == {"a": 1, "b": 1}
    gate.done("a")
    gate.done("b")  # b's request failed without a decision: not waiting, still not known
    assert gate.waiting == {}
    assert gate.new_waiting == 0
    assert "a" in gate.known
    assert "b" not in gate.known
    gate.waits("a")  # a known slot waiting again is not a new one
    assert gate.new_waiting == 0


def test_gate_off_never_fills_and_known_slots_are_bounded() -> None:
    gate = OriginGate(0, known_slots=3)
    for name in "abcde":
        gate.waits(name)
    assert not gate.full()
    for name in "abcde":
        gate.decided(name)
    assert list(gate.known) == ["c", "d", "e"]  # the oldest forgotten first


def test_gate_tells_its_listeners_of_a_first_decision_only() -> None:
    gate = OriginGate(1)
    heard: list[str] = []
    gate.listeners.append(heard.append)
    gate.decided("a")
    gate.decided("a")
    gate.decided("b")
    assert heard == ["a", "b"]


# --- the queue -----------------------------------------------------------------------------


def test_without_the_middleware_fewest_active_first_and_round_robin() -> None:
    queue, crawler = make_queue(None)
    push_pages(queue, ["a.test", "b.test", "c.test"], 3)
    crawler.busy("a.test", 2)
    assert pop_hosts(queue, 4) == ["b.test", "c.test", "b.test", "c.test"]
    crawler.busy("b.test", 5)
    crawler.busy("c.test", 5)
    assert pop_hosts(queue, 5) == ["a.test", "a.test", "a.test", "b.test", "c.test"]
    assert len(queue) == 0
    assert queue.pop() is None


def test_requests_of_one_slot_keep_their_order() -> None:
    queue, _ = make_queue(None)
    for n in range(5):
        queue.push(Request(f"http://a.test/{n}"))
    assert [r.url for r in (queue.pop() for _ in range(5)) if r] == [
        f"http://a.test/{n}" for n in range(5)
    ]


def test_peek_is_what_pop_returns() -> None:
    queue, crawler = make_queue(OriginGate(1))
    push_pages(queue, ["a.test", "b.test"], 2)
    crawler.busy("a.test", 1)
    for _ in range(4):
        peeked = queue.peek()
        assert peeked is queue.pop()
    assert queue.peek() is None


def test_while_the_gate_is_full_decided_hosts_go_first() -> None:
    gate = OriginGate(1)
    queue, crawler = make_queue(gate)
    push_pages(queue, ["new1.test", "new2.test"], 2)
    push_pages(queue, ["known.test"], 3)
    gate.decided("known.test")
    crawler.busy("known.test", 4)  # busy, but decided
    gate.waits("new0.test")  # one new host waiting already: the gate is full
    assert gate.full()
    assert pop_hosts(queue, 3) == ["known.test"] * 3
    # Only new hosts left: they are handed out, the gate only orders.
    assert sorted(pop_hosts(queue, 4)) == ["new1.test"] * 2 + ["new2.test"] * 2


@pytest.mark.parametrize(
    ("active", "concurrency", "delay"),
    [(8, 8, 0.0), (1, 8, 2.0)],
    ids=["at its concurrency", "behind its crawl delay"],
)
def test_a_full_gate_does_not_pile_requests_on_a_decided_host_without_room(
    active: int, concurrency: int, delay: float
) -> None:
    gate = OriginGate(1)
    queue, crawler = make_queue(gate)
    push_pages(queue, ["known.test"], 3)
    push_pages(queue, ["new.test"], 1)
    gate.decided("known.test")
    crawler.busy("known.test", active, concurrency=concurrency, delay=delay)
    gate.waits("other.test")
    assert gate.full()
    assert pop_hosts(queue, 1) == ["new.test"]
    crawler.busy("known.test", active - 1, concurrency=concurrency, delay=delay)
    if delay:  # idle again: its turn
        crawler.busy("known.test", 0, concurrency=concurrency, delay=delay)
    assert pop_hosts(queue, 1) == ["known.test"]


def test_while_the_gate_is_open_a_new_host_wins_over_a_busy_decided_one() -> None:
    gate = OriginGate(5)
    queue, crawler = make_queue(gate)
    push_pages(queue, ["known.test", "new.test"], 1)
    gate.decided("known.test")
    crawler.busy("known.test", 1)
    assert pop_hosts(queue, 2) == ["new.test", "known.test"]


def test_requests_waiting_for_a_decision_count_as_load() -> None:
    gate = OriginGate(0)
    queue, _ = make_queue(gate)
    push_pages(queue, ["a.test", "b.test"], 2)
    gate.waits("a.test")
    gate.waits("a.test")
    assert pop_hosts(queue, 2) == ["b.test", "b.test"]


def test_a_host_decided_after_it_was_queued_is_promoted_wherever_it_sits() -> None:
    gate = OriginGate(1)
    queue, crawler = make_queue(gate)
    hosts = [f"h{n:03d}.test" for n in range(200)]
    push_pages(queue, hosts, 2)
    gate.decided("h150.test")  # far behind the first scan's reach
    gate.waits("x.test")  # the gate is full
    crawler.busy("h150.test", 3)
    assert pop_hosts(queue, 2) == ["h150.test", "h150.test"]


def test_a_pop_looks_at_a_bounded_number_of_slots() -> None:
    gate = OriginGate(4)
    queue, crawler = make_queue(gate)
    hosts = [f"h{n:04d}.test" for n in range(2000)]
    push_pages(queue, hosts, 2)
    for name in hosts:
        crawler.busy(name, 1)  # nowhere a slot with nothing in the downloader
    for name in hosts[:1000]:
        gate.decided(name)
    looked: list[str] = []
    load = queue._load

    def counting(slot: str) -> int:
        looked.append(slot)
        return load(slot)

    queue._load = counting  # type: ignore[method-assign]
    for _ in range(50):
        looked.clear()
        assert queue.pop() is not None
        assert len(looked) <= 2 * ComplianceAwarePriorityQueue.SCAN
    # Slots looked at move to the back: 50 pops spread over more than one scan's worth.
    assert len(queue.pqueues) == 2000


def test_the_queue_hands_out_everything_it_holds() -> None:
    gate = OriginGate(2)
    queue, crawler = make_queue(gate)
    hosts = [f"h{n:03d}.test" for n in range(100)]
    push_pages(queue, hosts, 3)
    for name in hosts[::3]:
        gate.decided(name)
    gate.waits("a.test")
    gate.waits("b.test")
    for name in hosts[::7]:
        crawler.busy(name, 2)
    popped = pop_hosts(queue, 400)
    assert sorted(popped) == sorted(h for h in hosts for _ in range(3))


# --- the middleware and the add-on ---------------------------------------------------------


async def test_the_middleware_keeps_the_gate() -> None:
    client = FakeClient()
    mw = build(client, COMPLIANCE_NEW_ORIGINS=7)
    assert mw.origins.limit == 7
    deciding = asyncio.ensure_future(mw.process_request(Request("http://a.test/1")))
    await asyncio.sleep(0)
    assert mw.origins.waiting == {"a.test": 1}
    assert mw.origins.new_waiting == 1
    await deciding
    assert mw.origins.waiting == {}
    assert "a.test" in mw.origins.known
    slotted = Request("http://b.test/x", meta={"download_slot": "shared"})
    with pytest.raises(IgnoreRequest):
        await mw.process_request(Request("http://b.test/private"))
    assert "b.test" in mw.origins.known  # a deny is a decision too
    await mw.process_request(slotted)
    assert "shared" in mw.origins.known


async def test_a_failed_decision_leaves_the_host_new() -> None:
    mw = build(FakeClient(fail=10))
    with pytest.raises(IgnoreRequest):
        await mw.process_request(Request("http://a.test/1"))
    assert mw.origins.waiting == {}
    assert "a.test" not in mw.origins.known


def test_the_addon_installs_the_queue_unless_the_project_chose_one() -> None:
    settings = Settings()
    ComplianceAddon().update_settings(settings)
    assert settings.get("SCHEDULER_PRIORITY_QUEUE") == (
        "crawler.scheduling.ComplianceAwarePriorityQueue"
    )
    own = Settings()
    own.set("SCHEDULER_PRIORITY_QUEUE", "scrapy.pqueues.ScrapyPriorityQueue", priority="project")
    ComplianceAddon().update_settings(own)
    assert own.get("SCHEDULER_PRIORITY_QUEUE") == "scrapy.pqueues.ScrapyPriorityQueue"
