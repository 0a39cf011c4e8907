"""The compliance middleware built from a real Scrapy crawler, with a fake opt-out client."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.utils.test import get_crawler

from crawler.addon import ComplianceAddon
from crawler.middlewares.compliance import ComplianceMiddleware
from crawler.optout_client import (
    Decision,
    Deliver,
    Observation,
    ObservationResult,
    ServiceError,
    ServiceRejected,
)


class FakeClient:
    """Denies URLs containing 'private'; discards responses whose status is 402."""

    def __init__(self, *, fail: int = 0, reject: bool = False, delay: float | None = None) -> None:
        self.decide_calls: list[list[str]] = []
        self.purposes: list[tuple[str, ...]] = []
        self.observed: list[Observation] = []
        self.fail = fail
        self.reject = reject
        self.delay = delay
        self.exported: list[tuple[str, Path]] = []
        self.closed = False

    async def decide(
        self, crawler: str, job: str, urls: Sequence[str], *, purposes: Sequence[str] = ()
    ) -> list[Decision]:
        self.decide_calls.append(list(urls))
        self.purposes.append(tuple(purposes))
        await asyncio.sleep(0.01)  # the policy is not known yet when the others arrive
        if self.reject:
            raise ServiceRejected(401, "unknown API key")
        if self.fail > 0:
            self.fail -= 1
            raise ServiceError("connection refused")
        return [
            Decision(f"d-{u}", u, "deny", ("robots.disallowed",), None)
            if "private" in u
            else Decision(f"d-{u}", u, "allow", ("robots.allowed",), self.delay)
            for u in urls
        ]

    async def decide_stream(
        self,
        crawler: str,
        job: str,
        urls: Sequence[str],
        deliver: Deliver,
        *,
        purposes: Sequence[str] = (),
    ) -> None:
        for index, decision in enumerate(await self.decide(crawler, job, urls, purposes=purposes)):
            deliver(index, decision)

    async def observe(self, observations: Sequence[Observation]) -> list[ObservationResult]:
        self.observed.extend(observations)
        if self.fail > 0:
            raise ServiceError("down")
        return [
            ObservationResult(o.decision_id, "discard", ("access.payment_required",))
            if o.status == 402
            else ObservationResult(o.decision_id, "keep", ("content.unreserved",))
            for o in observations
        ]

    async def export_log(self, job: str, dest: Path) -> int:
        self.exported.append((job, dest))
        return 0

    async def aclose(self) -> None:
        self.closed = True


def build(client: FakeClient, **settings: Any) -> ComplianceMiddleware:
    base = {
        "COMPLIANCE_SERVICE_RETRIES": 2,
        "COMPLIANCE_SERVICE_BACKOFF": 0.001,
        "COMPLIANCE_JOB": "job-t",
        "COMPLIANCE_GC_FREEZE": False,  # the test process's heap stays as it is
    }
    crawler = get_crawler(settings_dict={**base, **settings})

    async def factory() -> FakeClient:
        return client

    return ComplianceMiddleware(crawler, client_factory=factory)


def stats(mw: ComplianceMiddleware) -> dict[str, Any]:
    return dict(mw.stats.get_stats())


async def decide(mw: ComplianceMiddleware, url: str) -> str:
    try:
        await mw.process_request(Request(url))
    except IgnoreRequest:
        return "deny"
    return "allow"


async def test_many_concurrent_requests_to_one_unknown_host_are_each_decided() -> None:
    client = FakeClient()
    mw = build(client)
    urls = [f"http://h.test/{'private' if i % 3 == 0 else 'public'}/{i}" for i in range(50)]
    outcomes = await asyncio.gather(*(decide(mw, u) for u in urls))
    assert outcomes == ["deny" if "private" in u else "allow" for u in urls]
    assert sum(len(c) for c in client.decide_calls) == 50
    # Batches never exceed the crawl's concurrency (CONCURRENT_REQUESTS defaults to 16).
    assert [len(c) for c in client.decide_calls] == [16, 16, 16, 2]
    s = stats(mw)
    assert s["compliance/deny/robots.disallowed"] == 17
    assert s["compliance/allow/robots.allowed"] == 33
    assert s["compliance/requests"] == 50


async def test_service_down_retries_then_fails_closed() -> None:
    client = FakeClient(fail=10)
    mw = build(client)
    assert await decide(mw, "http://h.test/a") == "deny"
    assert len(client.decide_calls) == 3  # first try + 2 retries
    assert stats(mw)["compliance/deny/service.unavailable"] == 1
    assert stats(mw)["compliance/service_retries"] == 2


async def test_service_recovering_within_the_retries_allows() -> None:
    client = FakeClient(fail=1)
    mw = build(client)
    assert await decide(mw, "http://h.test/a") == "allow"


async def test_rejected_calls_are_counted_apart() -> None:
    mw = build(FakeClient(reject=True))
    assert await decide(mw, "http://h.test/a") == "deny"
    assert stats(mw)["compliance/deny/service.rejected"] == 1


async def test_client_start_failure_denies_everything() -> None:
    crawler = get_crawler(settings_dict={"COMPLIANCE_SERVICE_RETRIES": 0})

    async def broken() -> FakeClient:
        raise RuntimeError("database is locked")

    mw = ComplianceMiddleware(crawler, client_factory=broken)
    assert [await decide(mw, "http://h.test/a"), await decide(mw, "http://h.test/b")] == [
        "deny",
        "deny",
    ]
    assert stats(mw)["compliance/deny/service.unavailable"] == 2
    assert "compliance/service_retries" not in stats(mw)  # a broken start is not retried


async def test_non_http_schemes_are_refused_locally() -> None:
    client = FakeClient()
    mw = build(client)
    assert await decide(mw, "ftp://h.test/file") == "deny"
    assert client.decide_calls == []
    assert stats(mw)["compliance/deny/request.unsupported_scheme"] == 1


async def test_allowed_request_carries_its_decision_and_the_slot_obeys_the_crawl_delay() -> None:
    # No download handlers: nothing is downloaded, and none leaves a session open.
    mw = build(
        FakeClient(delay=2.5), DOWNLOAD_DELAY=0.5, DOWNLOAD_HANDLERS={"http": None, "https": None}
    )
    downloader = Downloader(mw.crawler)  # the real one: _get_slot's 2.19 signature, Slot fields
    mw.crawler.engine = SimpleNamespace(downloader=downloader)  # type: ignore[assignment]
    try:
        request = Request("http://h.test/a")
        await mw.process_request(request)
        assert request.meta["compliance_decision_id"] == "d-http://h.test/a"
        assert request.meta["compliance_reasons"] == ["robots.allowed"]
        slot = downloader.slots["h.test"]
        assert (slot.delay, slot.jitter) == (2.5, 0.0)
        assert slot.download_delay() == 2.5
        # Another host keeps the crawl's own delay and jitter.
        _, other = downloader._get_slot(Request("http://other.test/"))
        assert (other.delay, other.jitter) == (0.5, 0.5)
    finally:
        downloader.close()


async def test_a_crawl_delay_never_shortens_a_longer_download_delay() -> None:
    mw = build(FakeClient(delay=1.0), DOWNLOAD_DELAY=3.0)
    slot = Slot(8, 3.0, 0.5)
    mw.crawler.engine = SimpleNamespace(  # type: ignore[assignment]
        downloader=SimpleNamespace(_get_slot=lambda request: ("h.test", slot))
    )
    await mw.process_request(Request("http://h.test/a"))
    assert slot.delay == 3.0


async def test_no_crawl_delay_leaves_the_slot_alone() -> None:
    mw = build(FakeClient(delay=None))
    touched: list[Request] = []
    mw.crawler.engine = SimpleNamespace(  # type: ignore[assignment]
        downloader=SimpleNamespace(_get_slot=touched.append)
    )
    await mw.process_request(Request("http://h.test/a"))
    assert touched == []


def response(
    url: str, status: int, body: bytes = b"<html><head><title>t</title></head><body>x</body></html>"
) -> Response:
    return HtmlResponse(
        url, status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )


async def test_responses_are_observed_and_discarded_ones_never_pass() -> None:
    client = FakeClient()
    mw = build(client)
    kept_request = Request("http://h.test/ok", meta={"compliance_decision_id": "d1"})
    paid_request = Request("http://h.test/paid", meta={"compliance_decision_id": "d2"})
    kept = await mw.process_response(kept_request, response(kept_request.url, 200))
    assert kept.status == 200
    with pytest.raises(IgnoreRequest):
        await mw.process_response(paid_request, response(paid_request.url, 402))
    first = client.observed[0]
    assert first.head_html == "<html><head><title>t</title></head>"
    assert first.length == len(response("http://x/", 200).body)
    assert len(first.sha256) == 64
    assert ("Content-Type", "text/html; charset=utf-8") in first.headers
    assert stats(mw)["compliance/keep/content.unreserved"] == 1
    assert stats(mw)["compliance/discard/access.payment_required"] == 1


async def test_a_response_without_a_decision_or_without_an_answer_is_discarded() -> None:
    mw = build(FakeClient(fail=10))
    with pytest.raises(IgnoreRequest):
        await mw.process_response(Request("http://h.test/x"), response("http://h.test/x", 200))
    with pytest.raises(IgnoreRequest):
        await mw.process_response(
            Request("http://h.test/y", meta={"compliance_decision_id": "d"}),
            response("http://h.test/y", 200),
        )
    assert stats(mw)["compliance/discard/decision.missing"] == 1
    assert stats(mw)["compliance/discard/service.unavailable"] == 1


async def test_spider_close_exports_the_log_and_closes_the_client(tmp_path: Path) -> None:
    client = FakeClient()
    mw = build(client, COMPLIANCE_LOG_EXPORT=str(tmp_path / "log.jsonl"))
    await decide(mw, "http://h.test/a")
    await mw.spider_closed()
    assert client.exported == [("job-t", tmp_path / "log.jsonl")]
    assert client.closed


def test_disabled_middleware_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        ComplianceMiddleware(get_crawler(settings_dict={"COMPLIANCE_ENABLED": False}))


def test_addon_enables_the_middleware_and_turns_scrapy_robots_off() -> None:
    settings = Settings({"ROBOTSTXT_OBEY": True})
    settings.set("ROBOTSTXT_OBEY", True, priority="default")
    ComplianceAddon().update_settings(settings)
    assert settings.getdict("DOWNLOADER_MIDDLEWARES")[ComplianceMiddleware] == 100
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.get("COMPLIANCE_SERVICE_URL") == ""
    assert settings.get("USER_AGENT").startswith("ExampleBot/")


def test_addon_keeps_project_values() -> None:
    settings = Settings()
    settings.set("COMPLIANCE_CRAWLER_TOKEN", "OurBot", priority="project")
    settings.set("USER_AGENT", "OurBot/2.0 (+https://example.org/bot)", priority="project")
    ComplianceAddon().update_settings(settings)
    assert settings.get("COMPLIANCE_CRAWLER_TOKEN") == "OurBot"
    assert settings.get("USER_AGENT") == "OurBot/2.0 (+https://example.org/bot)"


def test_crawler_built_with_the_addon_has_the_middleware_and_no_robots_middleware() -> None:
    crawler = get_crawler(settings_dict={"ADDONS": {ComplianceAddon: 0}, "ROBOTSTXT_OBEY": True})
    assert crawler.settings.getbool("ROBOTSTXT_OBEY") is False
    assert ComplianceMiddleware in crawler.settings.getdict("DOWNLOADER_MIDDLEWARES")


async def test_an_unexpected_client_failure_is_refused_and_counted() -> None:
    class Broken(FakeClient):
        async def decide(
            self, crawler: str, job: str, urls: Sequence[str], *, purposes: Sequence[str] = ()
        ) -> list[Decision]:
            raise KeyError("bug")

    mw = build(Broken())
    assert await decide(mw, "http://h.test/a") == "deny"
    assert stats(mw)["compliance/deny/service.unavailable"] == 1


def test_addon_gives_the_crawl_one_job_id_unless_one_is_set() -> None:
    generated = Settings()
    ComplianceAddon().update_settings(generated)
    job = generated.get("COMPLIANCE_JOB")
    assert job.startswith("job-")
    assert len(job) > len("job-")
    assert generated.getpriority("COMPLIANCE_JOB") == SETTINGS_PRIORITIES["addon"]
    other = Settings()
    ComplianceAddon().update_settings(other)
    assert other.get("COMPLIANCE_JOB") != job
    given = Settings({"COMPLIANCE_JOB": "nightly-7"})
    ComplianceAddon().update_settings(given)
    assert given.get("COMPLIANCE_JOB") == "nightly-7"


def test_addon_switches_off_the_remote_code_endpoints_unless_the_project_wants_them() -> None:
    """Scrapy's remote-control extension serves an HTTP endpoint that runs Python code in the
    crawl, on by default: a compliance crawl does not expose it unless asked to."""
    crawler = get_crawler(settings_dict={"ADDONS": {ComplianceAddon: 0}})
    assert crawler.settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert crawler.settings.getbool("TELNETCONSOLE_ENABLED") is False
    wanted = Settings()
    wanted.set("REMOTE_CONTROL_ENABLED", True, priority="project")
    ComplianceAddon().update_settings(wanted)
    assert wanted.getbool("REMOTE_CONTROL_ENABLED") is True


def test_addon_forces_robots_off_even_from_the_command_line() -> None:
    settings = Settings()
    settings.set("ROBOTSTXT_OBEY", True, priority="cmdline")
    ComplianceAddon().update_settings(settings)
    assert settings.getbool("ROBOTSTXT_OBEY") is False


def test_addon_warns_when_the_user_agent_lacks_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings()
    settings.set("USER_AGENT", "Mozilla/5.0", priority="project")
    ComplianceAddon().update_settings(settings)
    assert settings.get("USER_AGENT") == "Mozilla/5.0"
    assert any("ExampleBot" in r.getMessage() for r in caplog.records)


def test_addon_defaults_do_not_leak_between_crawls() -> None:
    first = Settings()
    ComplianceAddon().update_settings(first)
    first["COMPLIANCE_EMBEDDED_SETTINGS"]["fetch"] = {"allow_private_networks": True}
    second = Settings()
    ComplianceAddon().update_settings(second)
    assert second.getdict("COMPLIANCE_EMBEDDED_SETTINGS") == {}


async def test_redirect_targets_and_responses_get_their_own_decision_and_observation() -> None:
    client = FakeClient()
    mw = build(client)
    first = Request("http://h.test/old")
    await mw.process_request(first)
    # RedirectMiddleware copies the meta, decision id included, into the new request.
    target = first.replace(url="http://h.test/private/new")
    assert target.meta["compliance_decision_id"] == "d-http://h.test/old"
    with pytest.raises(IgnoreRequest):
        await mw.process_request(target)
    assert client.decide_calls[-1] == ["http://h.test/private/new"]
    assert "compliance_decision_id" not in target.meta


async def test_the_observation_reports_the_final_url_and_no_head_for_non_html() -> None:
    client = FakeClient()
    mw = build(client, COMPLIANCE_HEAD_MAX_BYTES=16)
    request = Request("http://h.test/a", meta={"compliance_decision_id": "d1"})
    html = HtmlResponse(
        "http://h.test/a2",
        body=b"<HTML><HEAD><title>long title</title></HEAD>",
        headers={"Content-Type": "text/html"},
    )
    await mw.process_response(request, html)
    image = Response("http://h.test/i.png", body=b"\x89PNG", headers={"Content-Type": "image/png"})
    await mw.process_response(request, image)
    first, second = client.observed
    assert (first.url, first.final_url) == ("http://h.test/a", "http://h.test/a2")
    assert first.head_html == "<HTML><HEAD><tit"  # capped before </head> was found
    assert second.head_html is None
    assert second.content_type == "image/png"
    assert (second.length, second.sha256) == (4, hashlib.sha256(b"\x89PNG").hexdigest())
    assert stats(mw)["compliance/responses"] == 2


async def test_a_host_asking_for_too_long_a_crawl_delay_is_skipped_not_slowed_down() -> None:
    mw = build(FakeClient(delay=3600.0), COMPLIANCE_MAX_CRAWL_DELAY=60)
    touched: list[Request] = []
    mw.crawler.engine = SimpleNamespace(  # type: ignore[assignment]
        downloader=SimpleNamespace(_get_slot=touched.append)
    )
    assert await decide(mw, "http://slow.test/a") == "deny"
    assert await decide(mw, "http://slow.test/b") == "deny"
    assert touched == []  # no download slot was made to wait an hour
    s = stats(mw)
    assert s["compliance/allow/robots.allowed"] == 2  # what the service decided (and logged)
    assert s["compliance/skipped/crawl_delay.too_long"] == 2  # what the crawler did
    assert s["compliance/skipped_hosts"] == {"slow.test": {"crawl_delay": 3600.0, "requests": 2}}
    assert s["compliance/max_crawl_delay"] == 60.0


async def test_a_crawl_delay_within_the_limit_is_honoured_and_0_means_no_limit() -> None:
    for limit, delay in ((60.0, 60.0), (0.0, 86400.0)):
        mw = build(FakeClient(delay=delay), COMPLIANCE_MAX_CRAWL_DELAY=limit)
        slot = Slot(8, 0.0, 0.5)
        mw.crawler.engine = SimpleNamespace(  # type: ignore[assignment]
            downloader=SimpleNamespace(_get_slot=lambda request, slot=slot: ("h.test", slot))
        )
        assert await decide(mw, "http://h.test/a") == "allow"
        assert slot.delay == delay
        assert "compliance/skipped/crawl_delay.too_long" not in stats(mw)


def test_the_default_limit_is_a_minute() -> None:
    crawler = get_crawler(settings_dict={"ADDONS": {ComplianceAddon: 0}})
    assert crawler.settings.getfloat("COMPLIANCE_MAX_CRAWL_DELAY") == 60.0


async def test_service_errors_are_kept_for_the_report() -> None:
    down = build(FakeClient(fail=10))
    await decide(down, "http://h.test/a")
    assert stats(down)["compliance/service_unavailable_detail"] == "connection refused"
    rejected = build(FakeClient(reject=True))
    await decide(rejected, "http://h.test/a")
    s = stats(rejected)
    assert s["compliance/service_rejected_status"] == 401
    assert "unknown API key" in s["compliance/service_rejected_detail"]


class FakeEngine:
    """The parts of Scrapy's engine the closing logic touches: its close and its slots."""

    def __init__(self, downloader: Any) -> None:
        self.downloader = downloader
        self.closed_with: list[str] = []

    async def close_spider_async(self, *, reason: str = "cancelled") -> None:
        self.closed_with.append(reason)


async def test_closing_drops_the_requests_queued_behind_a_crawl_delay() -> None:
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    client = FakeClient()
    mw = build(client)
    slot = Slot(8, 30.0, 0.0)
    failures: list[Failure] = []
    for i in range(3):
        queued: Deferred[Response] = Deferred()
        queued.addErrback(failures.append)
        slot.queue.append((Request(f"http://h.test/{i}"), queued))
    engine = FakeEngine(SimpleNamespace(slots={"h.test": slot}))
    mw.crawler.engine = engine  # type: ignore[assignment]
    mw.engine_started()
    mw.engine_started()  # wrapped once only
    await engine.close_spider_async(reason="closespider_timeout")
    assert engine.closed_with == ["closespider_timeout"]  # the engine's own close still runs
    assert not slot.queue
    assert len(failures) == 3
    assert all(isinstance(f.value, IgnoreRequest) for f in failures)
    assert stats(mw)["compliance/dropped/crawl.closing"] == 3
    assert isinstance(stats(mw)["compliance/closing_started"], float)
    # A request reaching the middleware now is dropped without asking the service.
    assert await decide(mw, "http://h.test/late") == "deny"
    assert client.decide_calls == []
    assert stats(mw)["compliance/dropped/crawl.closing"] == 4


async def test_a_request_decided_while_closing_is_dropped() -> None:
    client = FakeClient()
    mw = build(client)
    mw.crawler.engine = FakeEngine(SimpleNamespace(slots={}))  # type: ignore[assignment]
    pending = asyncio.ensure_future(decide(mw, "http://h.test/a"))
    await asyncio.sleep(0)  # waiting for its batch
    mw.start_closing("shutdown")
    assert await pending == "deny"
    assert client.decide_calls == [["http://h.test/a"]]  # decided (and logged) by the service
    assert stats(mw)["compliance/dropped/crawl.closing"] == 1


def test_the_heap_is_frozen_once_the_engine_has_started() -> None:
    gc.unfreeze()
    try:
        build(FakeClient()).engine_started()
        assert gc.get_freeze_count() == 0  # COMPLIANCE_GC_FREEZE off
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle nothing refers to: collected, not frozen
        ref = weakref.ref(_Collectable(garbage))
        del garbage
        build(FakeClient(), COMPLIANCE_GC_FREEZE=True).engine_started()
        assert gc.get_freeze_count() > 1000  # modules, Scrapy, the test's own objects
        assert ref() is None
    finally:
        gc.unfreeze()


class _Collectable:
    def __init__(self, cycle: list[object]) -> None:
        cycle.append(self)


class HeldVerdicts(FakeClient):
    """Answers observations only once released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def observe(self, observations: Sequence[Observation]) -> list[ObservationResult]:
        await self.release.wait()
        return await super().observe(observations)


def lending_engine(mw: ComplianceMiddleware, total: int) -> tuple[SimpleNamespace, list[bool]]:
    downloader = SimpleNamespace(total_concurrency=total, slots={})
    engine = FakeEngine(downloader)
    woken: list[bool] = []
    engine._slot = SimpleNamespace(  # type: ignore[attr-defined]
        nextcall=SimpleNamespace(schedule=lambda: woken.append(True))
    )
    mw.crawler.engine = engine  # type: ignore[assignment]
    return downloader, woken


async def test_requests_waiting_for_the_service_lend_their_slot() -> None:
    client = HeldVerdicts()
    mw = build(client, CONCURRENT_REQUESTS=4, COMPLIANCE_WAITING_REQUESTS=2)
    downloader, woken = lending_engine(mw, 4)

    deciding = asyncio.ensure_future(decide(mw, "http://h.test/a"))
    await asyncio.sleep(0)
    assert downloader.total_concurrency == 5  # waiting for its decision
    assert await deciding == "allow"
    assert downloader.total_concurrency == 4

    requests = [
        Request(f"http://h.test/{n}", meta={"compliance_decision_id": f"d{n}"}) for n in range(3)
    ]
    waiting = [
        asyncio.ensure_future(mw.process_response(r, response(r.url, 402 if n == 0 else 200)))
        for n, r in enumerate(requests)
    ]
    await asyncio.sleep(0)
    assert downloader.total_concurrency == 6  # two lent, the third is over the limit
    assert len(woken) == 3  # each time the engine is told it may start another request
    client.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(outcomes[0], IgnoreRequest)  # discarded: its slot comes back all the same
    assert [o.status for o in outcomes[1:] if isinstance(o, Response)] == [200, 200]
    assert downloader.total_concurrency == 4


async def test_transfers_at_once_never_exceed_concurrent_requests() -> None:
    mw = build(FakeClient(), CONCURRENT_REQUESTS=2)
    lending_engine(mw, 2)
    requests = [Request(f"http://h.test/{n}") for n in range(4)]
    passed = [asyncio.ensure_future(mw.process_request(r)) for r in requests]
    await asyncio.sleep(0.05)  # all four decided (one batch)
    assert [task.done() for task in passed] == [True, True, False, False]
    mw.request_left_downloader(requests[0])  # a transfer ends: one more may go
    await asyncio.sleep(0)
    assert [task.done() for task in passed] == [True, True, True, False]
    # A response coming back, or a request refused further on, ends its place too.
    await mw.process_response(requests[1], response(requests[1].url, 200))
    await asyncio.sleep(0)
    assert all(task.done() for task in passed)
    mw.process_exception(requests[2], IgnoreRequest())
    mw.process_exception(requests[3], IgnoreRequest())
    assert len(mw._transferring) == 0


async def test_no_slot_is_lent_when_asked_for_none_or_the_concurrency_is_unlimited() -> None:
    for settings, total in (({"COMPLIANCE_WAITING_REQUESTS": 0}, 4), ({}, 0)):
        client = FakeClient()
        mw = build(client, **settings)
        downloader = SimpleNamespace(total_concurrency=total, slots={})
        mw.crawler.engine = FakeEngine(downloader)  # type: ignore[assignment]
        request = Request("http://h.test/x", meta={"compliance_decision_id": "d"})
        lent = mw._lend_slot()
        assert not lent
        assert downloader.total_concurrency == total
        await mw.process_response(request, response(request.url, 200))
        assert downloader.total_concurrency == total


class SlowOrigin(FakeClient):
    """Streams the decisions of slow.test only once released, as for a robots.txt that takes
    its time; the others' first."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def decide_stream(
        self,
        crawler: str,
        job: str,
        urls: Sequence[str],
        deliver: Deliver,
        *,
        purposes: Sequence[str] = (),
    ) -> None:
        decisions = list(enumerate(await self.decide(crawler, job, urls, purposes=purposes)))
        for index, decision in decisions:
            if "slow.test" not in decision.url:
                deliver(index, decision)
        await self.release.wait()
        for index, decision in decisions:
            if "slow.test" in decision.url:
                deliver(index, decision)


async def test_a_slow_origin_holds_up_only_its_own_requests() -> None:
    client = SlowOrigin()
    mw = build(client)
    slow = [asyncio.ensure_future(decide(mw, f"http://slow.test/{n}")) for n in range(3)]
    fast = [
        asyncio.ensure_future(decide(mw, url))
        for url in ("http://new.test/a", "http://known.test/b", "http://known.test/c")
    ]
    assert await asyncio.wait_for(asyncio.gather(*fast), 2) == ["allow"] * 3
    assert not any(task.done() for task in slow)
    client.release.set()
    assert await asyncio.gather(*slow) == ["allow"] * 3
    assert len(client.decide_calls) == 1  # one call for all six


async def test_the_crawls_purposes_go_with_every_decision_request() -> None:
    client = FakeClient()
    mw = build(client, COMPLIANCE_PURPOSES="train-ai, search")
    await decide(mw, "http://h.test/public/1")
    assert client.purposes == [("train-ai", "search")]
    quiet = FakeClient()
    await decide(build(quiet), "http://h.test/public/1")
    assert quiet.purposes == [()]  # none set: the service's configured purposes


async def test_every_reason_is_counted_and_each_request_once() -> None:
    class TwoReasons(FakeClient):
        async def decide(
            self, crawler: str, job: str, urls: Sequence[str], *, purposes: Sequence[str] = ()
        ) -> list[Decision]:
            return [
                Decision(f"d-{u}", u, "deny", ("tdmrep.reserved", "ai_txt.disallowed"), None)
                for u in urls
            ]

    mw = build(TwoReasons())
    assert await decide(mw, "http://h.test/a") == "deny"
    assert await decide(mw, "http://h.test/b") == "deny"
    s = stats(mw)
    assert s["compliance/deny"] == 2
    assert s["compliance/deny/tdmrep.reserved"] == 2
    assert s["compliance/deny/ai_txt.disallowed"] == 2


async def test_an_observation_names_the_redirects_it_came_through() -> None:
    client = FakeClient()
    mw = build(client)
    request = Request(
        "http://h.test/login",
        meta={"redirect_urls": ["http://h.test/article"], "compliance_decision_id": "x"},
    )
    await mw.process_request(request)
    await mw.process_response(request, HtmlResponse(request.url, body=b"<html></html>"))
    assert client.observed[-1].redirect_urls == ("http://h.test/article",)


async def test_a_pdfs_embedded_reservation_goes_with_its_observation() -> None:
    from tests.support.assets import pdf_with_xmp, tdm_xmp

    client = FakeClient()
    mw = build(client)
    request = Request("http://h.test/report.pdf", meta={"compliance_decision_id": "x"})
    await mw.process_request(request)
    body = pdf_with_xmp(tdm_xmp("1"))
    response = Response(request.url, body=body, headers={"Content-Type": "application/pdf"})
    await mw.process_response(request, response)
    metadata = client.observed[-1].metadata
    assert metadata is not None
    assert metadata["format"] == "pdf"
    assert "tdm:reservation" in str(metadata["xmp"])
    assert client.observed[-1].head_html is None


async def test_embedded_metadata_can_be_switched_off() -> None:
    from tests.support.assets import pdf_with_xmp, tdm_xmp

    client = FakeClient()
    mw = build(client, COMPLIANCE_EMBEDDED_METADATA=False)
    request = Request("http://h.test/report.pdf", meta={"compliance_decision_id": "x"})
    await mw.process_request(request)
    response = Response(
        request.url, body=pdf_with_xmp(tdm_xmp("1")), headers={"Content-Type": "application/pdf"}
    )
    await mw.process_response(request, response)
    assert client.observed[-1].metadata is None
