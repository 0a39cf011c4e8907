"""The downloader middleware that asks the opt-out service before and after every fetch.

Before: each request is decided (in batches shared by concurrent requests); ``deny`` raises
``IgnoreRequest``; ``allow`` records the decision id in the request's meta and makes the request's
download slot honour the crawl delay, unless that delay is longer than
``COMPLIANCE_MAX_CRAWL_DELAY``: then the host is skipped (``crawl_delay.too_long``), never crawled
faster than it asks. After: each response is reported as an observation; ``discard`` raises
``IgnoreRequest`` so nothing downstream ever sees it. Whenever the service gives no usable answer
the request is not made, or the response is not kept (fail closed), and every outcome is counted
as ``compliance/<decision>/<reason>``.

When the spider starts closing (a ``CLOSESPIDER_*`` limit, Ctrl-C, SIGTERM), requests waiting in
the downloader for their slot's crawl delay are dropped (``compliance/dropped/crawl.closing``)
instead of being fetched one delay after another before the spider may close.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hashlib
import logging
import re
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from scrapy import Request, signals
from scrapy.core.downloader import Downloader
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response, TextResponse
from scrapy.utils.httpobj import urlparse_cached

from crawler import stats as keys
from crawler.batching import Batcher
from crawler.metadata import extract_metadata
from crawler.optout_client import (
    Decision,
    Deliver,
    HttpOptOutClient,
    Observation,
    ObservationResult,
    OptOutClient,
    ServiceError,
    ServiceRejected,
)
from crawler.reasons import DROPPED, SKIPPED, CrawlerReason
from crawler.scheduling import OriginGate

if TYPE_CHECKING:
    from scrapy.core.engine import ExecutionEngine
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from crawler.embedded import EmbeddedService, ServiceProcess

logger = logging.getLogger(__name__)

ClientFactory = Callable[[], Awaitable[OptOutClient]]

_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def _engine(crawler: Crawler) -> ExecutionEngine | None:
    """The crawler's engine, or None before it has one (Scrapy raises on reading it then)."""
    try:
        return crawler.engine
    except RuntimeError:
        return None


def _freeze_heap() -> None:
    """Move every object alive now out of the collector's reach (``gc.freeze``).

    A crawl with this middleware keeps each request alive longer than plain Scrapy does (it
    waits for its decision, then its response for the service's verdict), so more young
    objects survive into the oldest generation and full collections run about three times as
    often; each one walks every tracked object, most of which are the modules and components
    built at start-up and never become garbage. Frozen, they are walked no more: on the corpus
    web (docs/performance.md) the crawl's time in the collector fell from 1.19 to 0.36 ms per
    page. What was already garbage is collected first.
    """
    gc.collect()
    gc.freeze()


class ComplianceMiddleware:
    """Downloader middleware: decide before, observe after, refuse on any doubt.

    ``client_factory`` (an async callable returning an :class:`OptOutClient`) replaces the
    client built from the settings, for tests; it is called once, on first use.
    """

    def __init__(
        self,
        crawler: Crawler,
        *,
        client_factory: ClientFactory | None = None,
    ) -> None:
        settings: BaseSettings = crawler.settings
        if not settings.getbool("COMPLIANCE_ENABLED", True):
            raise NotConfigured("COMPLIANCE_ENABLED is off")
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.token: str = settings.get("COMPLIANCE_CRAWLER_TOKEN") or "ExampleBot"
        # What the data is for (train-ai, ai-input, search); empty: the service's setting.
        self.purposes: tuple[str, ...] = tuple(
            p.strip() for p in settings.getlist("COMPLIANCE_PURPOSES") if p.strip()
        )
        self.job: str = settings.get("COMPLIANCE_JOB") or f"job-{uuid.uuid4().hex[:12]}"
        self.head_max_bytes = settings.getint("COMPLIANCE_HEAD_MAX_BYTES", 65536)
        # Send the reservations embedded in PDFs, EPUBs and images (XMP, package document,
        # C2PA) with their observations.
        self.read_metadata = settings.getbool("COMPLIANCE_EMBEDDED_METADATA", True)
        self.log_export: str = settings.get("COMPLIANCE_LOG_EXPORT") or ""
        # 0 (or less) switches the limit off.
        self.max_crawl_delay = settings.getfloat("COMPLIANCE_MAX_CRAWL_DELAY", 60.0)
        self.freeze_heap = settings.getbool("COMPLIANCE_GC_FREEZE", True)
        self.transfer_limit = settings.getint("CONCURRENT_REQUESTS", 16)
        waiting = settings.get("COMPLIANCE_WAITING_REQUESTS")  # None: as many as may transfer
        self.waiting_requests = self.transfer_limit if waiting is None else int(waiting)
        self._lent = 0  # slots lent by requests waiting for the service
        # Read by crawler.scheduling.ComplianceAwarePriorityQueue: which download slots wait
        # for a decision, and which have had one.
        self.origins = OriginGate(settings.getint("COMPLIANCE_NEW_ORIGINS", 32))
        # Requests let through and not transferred yet (weak: a request dropped on the way by
        # another component does not keep its place).
        self._transferring: weakref.WeakSet[Request] = weakref.WeakSet()
        self._room = asyncio.Event()
        self.closing = False
        self._skipped_hosts: dict[str, dict[str, float | int]] = {}
        self._settings = settings
        self._client_factory = client_factory or self._default_client_factory
        self._client: OptOutClient | None = None
        self._client_error: ServiceError | None = None
        self._embedded: EmbeddedService | ServiceProcess | None = None
        self._lock = asyncio.Lock()
        self._last_warning = 0.0
        batch: dict[str, Any] = {
            # No more requests than the crawl's concurrency can wait at once: a batch that
            # size is full and goes out without waiting for the rest of the window.
            "max_batch": max(
                1,
                min(
                    settings.getint("COMPLIANCE_BATCH_SIZE", 64),
                    settings.getint("CONCURRENT_REQUESTS", 16) or 64,
                ),
            ),
            "max_delay": settings.getfloat("COMPLIANCE_BATCH_DELAY", 0.01),
            "retries": settings.getint("COMPLIANCE_SERVICE_RETRIES", 3),
            "backoff": settings.getfloat("COMPLIANCE_SERVICE_BACKOFF", 0.5),
            "on_retry": self._on_retry,
        }
        # Decisions stream back origin by origin: a request is answered as soon as its own
        # origin is decided, so a slow robots.txt holds up only its own origin's requests.
        self._decisions: Batcher[str, Decision] = Batcher(stream=self._send_decisions, **batch)
        self._observations: Batcher[Observation, ObservationResult] = Batcher(
            self._send_observations, **batch
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ComplianceMiddleware:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.engine_started, signal=signals.engine_started)
        crawler.signals.connect(
            middleware.request_reached_downloader, signal=signals.request_reached_downloader
        )
        crawler.signals.connect(
            middleware.request_left_downloader, signal=signals.request_left_downloader
        )
        return middleware

    # closing ------------------------------------------------------------------------------
    def engine_started(self) -> None:
        """Learn when the spider starts closing.

        Scrapy 2.19 sends no signal then: ``spider_closed`` comes only after every request in
        progress has finished, and requests queued in a download slot behind a crawl delay are
        in progress, so the close would wait for each of them to be fetched in turn. Every path
        to a close (``CLOSESPIDER_*``, idle, ``Crawler.stop``) goes through the engine's
        ``close_spider_async``; the engine's own one is wrapped so that :meth:`start_closing`
        runs first.
        """
        if self.freeze_heap:
            _freeze_heap()
        engine = _engine(self.crawler)
        if engine is None or getattr(engine, "_compliance_watched", False):
            return
        close_spider_async = engine.close_spider_async

        async def close_spider_and_drop_queued(*, reason: str = "cancelled") -> None:
            self.start_closing(reason)
            await close_spider_async(reason=reason)

        setattr(engine, "close_spider_async", close_spider_and_drop_queued)  # noqa: B010
        setattr(engine, "_compliance_watched", True)  # noqa: B010

    def start_closing(self, reason: str = "") -> None:
        """From now on no request is fetched: those queued in the downloader are dropped."""
        if not self.closing:
            self.closing = True
            self.stats.set_value(keys.CLOSING_STARTED, time.time())
        dropped = self._drop_queued()
        if dropped:
            logger.info(
                "spider closing (%s): %d requests not downloaded yet were dropped", reason, dropped
            )

    def request_reached_downloader(self, request: Request) -> None:
        # A request that passed this middleware just before the close is queued in its slot
        # right after this signal: drop it on the next turn of the loop.
        if self.closing:
            asyncio.get_running_loop().call_soon(self._drop_queued)

    def _drop_queued(self) -> int:
        """Drop every request waiting in a download slot; return how many."""
        engine = _engine(self.crawler)
        if engine is None:
            return 0
        dropped = 0
        for slot in list(engine.downloader.slots.values()):
            while slot.queue:
                request, queued = slot.queue.popleft()
                dropped += 1
                self._count(DROPPED, (CrawlerReason.CRAWL_CLOSING.value,))
                logger.debug("dropped %s: the spider is closing", request.url)
                queued.errback(IgnoreRequest(f"{DROPPED} ({CrawlerReason.CRAWL_CLOSING.value})"))
        return dropped

    # the client ---------------------------------------------------------------------------
    async def _default_client_factory(self) -> OptOutClient:
        url: str = self._settings.get("COMPLIANCE_SERVICE_URL") or ""
        timeout = self._settings.getfloat("COMPLIANCE_SERVICE_TIMEOUT", 10.0)
        if url:
            return HttpOptOutClient(
                url, self._settings.get("COMPLIANCE_API_KEY") or "", timeout=timeout
            )
        from crawler.embedded import embedded_mode, embedded_service

        embedded = embedded_service(
            embedded_mode(self._settings.get("COMPLIANCE_EMBEDDED_MODE") or "process"),
            self._settings.get("COMPLIANCE_EMBEDDED_DATABASE_URL")
            or "sqlite:///var/optout.sqlite3",
            self.token,
            self._settings.getdict("COMPLIANCE_EMBEDDED_SETTINGS"),
        )
        client = await embedded.start(timeout=max(timeout, 30.0))
        self._embedded = embedded
        if self.freeze_heap:
            _freeze_heap()  # in thread mode, the service's heap is this process's now
        return client

    async def _get_client(self) -> OptOutClient:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                if self._client_error is not None:
                    raise self._client_error
                try:
                    self._client = await self._client_factory()
                except Exception as exc:
                    logger.error("cannot start the opt-out client: %s", exc, exc_info=True)
                    # Not retried: every request of this crawl is refused from now on.
                    self._client_error = ServiceError(
                        f"the opt-out client could not be started: {exc}", transient=False
                    )
                    raise self._client_error from exc
        return self._client

    async def _send_decisions(self, urls: Sequence[str], deliver: Deliver) -> None:
        client = await self._get_client()
        self.stats.inc_value("compliance/service_calls/decisions")
        await client.decide_stream(self.token, self.job, urls, deliver, purposes=self.purposes)

    async def _send_observations(
        self, observations: Sequence[Observation]
    ) -> list[ObservationResult]:
        client = await self._get_client()
        self.stats.inc_value("compliance/service_calls/observations")
        return await client.observe(observations)

    def _on_retry(self, error: Exception, attempt: int) -> None:
        self.stats.inc_value("compliance/service_retries")
        self._warn("opt-out service call failed (retry %d follows): %s", attempt, error)

    def _warn(self, message: str, *args: object) -> None:
        # Service trouble hits every request in flight at once: one warning per 5 s is enough,
        # the stats count every occurrence.
        now = time.monotonic()
        if now - self._last_warning > 5:
            self._last_warning = now
            logger.warning(message, *args)

    # before the fetch ---------------------------------------------------------------------
    async def process_request(self, request: Request) -> None:
        self.stats.inc_value("compliance/requests")
        # A redirect copies its source's meta: that decision was for another URL.
        request.meta.pop("compliance_decision_id", None)
        request.meta.pop("compliance_reasons", None)
        if self.closing:
            self._refuse(DROPPED, CrawlerReason.CRAWL_CLOSING, request)
        if urlparse_cached(request).scheme not in ("http", "https"):
            self._refuse("deny", CrawlerReason.UNSUPPORTED_SCHEME, request)
        lent = self._lend_slot()
        slot = self._slot_key(request)
        self.origins.waits(slot)
        try:
            decision = await self._decisions.submit(request.url)
        except ServiceRejected as exc:
            self._refuse("deny", CrawlerReason.SERVICE_REJECTED, request, str(exc), exc.status)
        except ServiceError as exc:
            self._refuse("deny", CrawlerReason.SERVICE_UNAVAILABLE, request, str(exc))
        except Exception as exc:  # a bug or a broken client: still refused, still counted
            logger.error("deciding %s failed: %r", request.url, exc)
            self._refuse("deny", CrawlerReason.SERVICE_UNAVAILABLE, request, repr(exc))
        else:
            self.origins.decided(slot)
        finally:
            self.origins.done(slot)
            self._return_slot(lent)
        self._count(decision.decision, decision.reasons)
        if decision.decision != "allow":
            logger.debug("deny %s: %s", request.url, ", ".join(decision.reasons))
            raise IgnoreRequest(f"denied by the opt-out service: {', '.join(decision.reasons)}")
        await self._transfer_room(request)
        if self.closing:  # decided while the spider started closing
            self._refuse(DROPPED, CrawlerReason.CRAWL_CLOSING, request)
        if decision.crawl_delay and 0 < self.max_crawl_delay < decision.crawl_delay:
            self._skip_slow_host(request, decision.crawl_delay)
        request.meta["compliance_decision_id"] = decision.id
        request.meta["compliance_reasons"] = list(decision.reasons)
        if decision.crawl_delay:
            self._apply_crawl_delay(request, decision.crawl_delay)

    @staticmethod
    def _slot_key(request: Request) -> str:
        """The request's download slot as the downloader names it (``Downloader.get_slot_key``
        without ``CONCURRENT_REQUESTS_PER_IP``, which the downloader-aware priority queues
        refuse): the ``download_slot`` meta key, else the host."""
        slot = request.meta.get(Downloader.DOWNLOAD_SLOT)
        return slot if isinstance(slot, str) else urlparse_cached(request).hostname or ""

    def _lend_slot(self) -> bool:
        """A request waiting for the service (for its decision, or its response for the
        verdict) transfers nothing: let the engine start another in its place (at most
        ``waiting_requests`` at once).

        Scrapy counts a request against CONCURRENT_REQUESTS from the moment it enters the
        downloader until its response has passed every downloader middleware, so a request
        held here for one batched round trip to the service keeps a slot that no transfer
        uses; at a concurrency of 16 that left the crawl's loop idle a sixth of the time
        (docs/performance.md). Transfers stay within CONCURRENT_REQUESTS all the same: a
        decided request waits for room (:meth:`_transfer_room`) before it goes on. Per-domain
        limits and crawl delays are the download slots' and are untouched.
        """
        if self._lent >= self.waiting_requests:
            return False
        engine = _engine(self.crawler)
        # No engine yet, or no total limit (0, or a downloader without one): nothing to lend.
        if engine is None or getattr(engine.downloader, "total_concurrency", 0) <= 0:
            return False
        self._lent += 1
        engine.downloader.total_concurrency += 1
        slot = getattr(engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()
        return True

    def _return_slot(self, lent: bool) -> None:
        if not lent:
            return
        self._lent -= 1
        engine = _engine(self.crawler)
        if engine is not None:
            engine.downloader.total_concurrency -= 1

    async def _transfer_room(self, request: Request) -> None:
        """Wait until fewer than CONCURRENT_REQUESTS requests this middleware let through are
        being transferred (between leaving it and the downloader's ``request_left_downloader``,
        or their response coming back here, whichever is first); then count this one."""
        if self.transfer_limit > 0:
            while len(self._transferring) >= self.transfer_limit:
                self._room.clear()
                await self._room.wait()
        self._transferring.add(request)

    def request_left_downloader(self, request: Request) -> None:
        self._transfer_over(request)

    def _transfer_over(self, request: Request) -> None:
        if request in self._transferring:
            self._transferring.discard(request)
            self._room.set()

    def _skip_slow_host(self, request: Request, crawl_delay: float) -> NoReturn:
        host = urlparse_cached(request).hostname or ""
        entry = self._skipped_hosts.get(host)
        if entry is None:
            entry = self._skipped_hosts[host] = {"crawl_delay": crawl_delay, "requests": 0}
            self.stats.set_value(keys.SKIPPED_HOSTS, self._skipped_hosts)
            self.stats.set_value(keys.MAX_CRAWL_DELAY, self.max_crawl_delay)
            logger.warning(
                "skipping %s: its robots.txt asks for %g s between requests, more than "
                "COMPLIANCE_MAX_CRAWL_DELAY (%g s)",
                host,
                crawl_delay,
                self.max_crawl_delay,
            )
        entry["requests"] = int(entry["requests"]) + 1
        entry["crawl_delay"] = max(float(entry["crawl_delay"]), crawl_delay)
        self._refuse(
            SKIPPED,
            CrawlerReason.CRAWL_DELAY_TOO_LONG,
            request,
            f"crawl delay {crawl_delay:g} s > {self.max_crawl_delay:g} s",
        )

    def _apply_crawl_delay(self, request: Request, delay: float) -> None:
        engine = _engine(self.crawler)
        if engine is None:
            return
        _, slot = engine.downloader._get_slot(request)
        if slot.delay < delay:
            slot.delay = delay
        # No jitter below the site's crawl delay: it is a minimum, not an average.
        slot.jitter = 0.0

    # after the fetch ----------------------------------------------------------------------
    def process_exception(self, request: Request, exception: Exception) -> None:
        self._transfer_over(request)  # refused further on, or the download failed

    async def process_response(self, request: Request, response: Response) -> Response:
        self._transfer_over(request)
        self.stats.inc_value("compliance/responses")
        decision_id = request.meta.get("compliance_decision_id")
        if not isinstance(decision_id, str):
            self._refuse("discard", CrawlerReason.DECISION_MISSING, request)
        lent = self._lend_slot()
        try:
            observation = self._observation(decision_id, request, response)
            if self.read_metadata and observation.head_html is None and response.body:
                # PDF, EPUB, images: parsing is CPU work, off the reactor's thread.
                extract = await asyncio.to_thread(
                    extract_metadata, response.body, observation.content_type, response.url
                )
                if extract is not None:
                    observation = dataclasses.replace(observation, metadata=extract)
            result = await self._observations.submit(observation)
        except ServiceRejected as exc:
            self._refuse("discard", CrawlerReason.SERVICE_REJECTED, request, str(exc), exc.status)
        except ServiceError as exc:
            self._refuse("discard", CrawlerReason.SERVICE_UNAVAILABLE, request, str(exc))
        except Exception as exc:
            logger.error("reporting %s failed: %r", request.url, exc)
            self._refuse("discard", CrawlerReason.SERVICE_UNAVAILABLE, request, repr(exc))
        finally:
            self._return_slot(lent)
        self._count(result.outcome, result.reasons)
        if result.outcome != "keep":
            logger.debug("discard %s: %s", request.url, ", ".join(result.reasons))
            raise IgnoreRequest(f"discarded by the opt-out service: {', '.join(result.reasons)}")
        request.meta["compliance_outcome"] = list(result.reasons)
        return response

    def _observation(self, decision_id: str, request: Request, response: Response) -> Observation:
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in response.headers.items()
            for value in values
        )
        content_type = response.headers.get(b"Content-Type")
        ctype = content_type.decode("latin-1") if content_type else None
        return Observation(
            decision_id=decision_id,
            url=request.url,
            final_url=response.url,
            status=response.status,
            headers=headers,
            content_type=ctype,
            length=len(response.body),
            sha256=hashlib.sha256(response.body).hexdigest(),
            head_html=self._head(response, ctype),
            # Scrapy's redirect middleware keeps the hops in the request's meta: a page reached
            # through a redirect to a login is told apart from one linked directly.
            redirect_urls=tuple(str(u) for u in request.meta.get("redirect_urls", ())[-20:]),
        )

    def _head(self, response: Response, content_type: str | None) -> str | None:
        """The HTML up to and including ``</head>``, within the first HEAD_MAX_BYTES bytes."""
        if "html" not in (content_type or "").lower():
            return None
        start = response.body[: self.head_max_bytes]
        end = _HEAD_END.search(start)
        head = start[: end.end()] if end else start
        encoding = response.encoding if isinstance(response, TextResponse) else "utf-8"
        try:
            return head.decode(encoding, errors="replace")
        except LookupError:  # an encoding Python does not know
            return head.decode("utf-8", errors="replace")

    # outcomes -----------------------------------------------------------------------------
    def _count(self, decision: str, reasons: Sequence[str]) -> None:
        """``compliance/<decision>`` once per request, and ``compliance/<decision>/<reason>``
        for every reason the answer gave (a deny for two reservations counts under both)."""
        self.stats.inc_value(f"compliance/{decision}")
        for reason in reasons:
            self.stats.inc_value(f"compliance/{decision}/{reason}")

    def _refuse(
        self,
        decision: str,
        reason: CrawlerReason,
        request: Request,
        detail: str = "",
        status: int | None = None,
    ) -> NoReturn:
        self._count(decision, (reason.value,))
        if reason is CrawlerReason.SERVICE_UNAVAILABLE:
            self.stats.set_value(keys.SERVICE_UNAVAILABLE_DETAIL, detail)
        elif reason is CrawlerReason.SERVICE_REJECTED:
            self.stats.set_value(keys.SERVICE_REJECTED_DETAIL, detail)
            if status is not None:
                self.stats.set_value(keys.SERVICE_REJECTED_STATUS, status)
        if reason in (CrawlerReason.SERVICE_UNAVAILABLE, CrawlerReason.SERVICE_REJECTED):
            self._warn("%s %s (%s): %s", decision, request.url, reason.value, detail)
        else:
            logger.debug("%s %s: %s %s", decision, request.url, reason.value, detail)
        raise IgnoreRequest(f"{decision} ({reason.value}) {detail}".strip())

    async def spider_closed(self) -> None:
        """Flush what is pending, export the job's decision log if asked, then close."""
        await self._decisions.aclose()
        await self._observations.aclose()
        client, self._client = self._client, None
        # A request arriving after this (there should be none) is refused, not served by a
        # second embedded service.
        self._client_error = ServiceError("the crawl is closing", transient=False)
        if client is None:
            return
        try:
            if self.log_export:
                count = await client.export_log(self.job, Path(self.log_export))
                self.stats.set_value("compliance/log_export_records", count)
                logger.info(
                    "decision log of job %s exported to %s (%d records)",
                    self.job,
                    self.log_export,
                    count,
                )
        except Exception as exc:
            logger.error("could not export the decision log to %s: %s", self.log_export, exc)
            self.stats.set_value("compliance/log_export_error", str(exc))
        finally:
            await client.aclose()
            embedded, self._embedded = self._embedded, None
            if embedded is not None:
                try:
                    await embedded.stop()
                except Exception:
                    logger.exception("the embedded opt-out service failed to shut down")
