"""Runs one compliant crawl in this process (Twisted allows one per process) and reports it.

The report comes from the service's own log for the job, exported after the crawl **whatever way
it ended** (finished, a limit reached, Ctrl-C, SIGTERM, a second signal forcing it): served mode
asks ``GET /v1/audit/export?job=...``, embedded mode reads the embedded service's database. The
export is written aside and renamed into place, so ``decision-log.jsonl`` is complete or absent.

Signals (SIGINT, SIGTERM, and SIGBREAK where it exists, all alike), handled here rather than by
Scrapy's CrawlerProcess so that the whole run follows one rule:

- during the crawl, the first stops it gracefully (the spider closes; requests waiting on a
  crawl delay are dropped; downloads in flight may finish, for at most
  ``GRACEFUL_STOP_TIMEOUT`` seconds), the second stops it at once (the reactor stops), a third
  raises ``KeyboardInterrupt``;
- during the export that follows, the first is noted on stderr and the export goes on, the
  second abandons it (``decision-log.jsonl`` is then absent, never truncated).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

from crawler.files import atomic_output
from crawler.optout_client import ServiceError
from crawler.report import HostRow, host_rows, read_log

if TYPE_CHECKING:
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

LOG_FILE = "decision-log.jsonl"
# After a first stop signal, how long downloads in flight may take before the crawl is stopped
# at once anyway (supervisors send SIGKILL some seconds after SIGTERM).
GRACEFUL_STOP_TIMEOUT = 10.0
# How long the embedded service gets to shut down after the crawl's loop has stopped (a service
# process still running then gets SIGKILL).
EMBEDDED_STOP_TIMEOUT = 10.0

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)
)


@dataclass
class CrawlConfig:
    seeds: list[str]
    job: str
    output_dir: Path
    output_format: Literal["warc", "jsonl"] = "warc"
    max_pages: int | None = None
    max_depth: int | None = None
    service_url: str = ""
    api_key: str = ""
    token: str = "ExampleBot"
    concurrency: int = 16
    embedded_database_url: str | None = None
    embedded_mode: Literal["process", "thread"] | None = None  # None: COMPLIANCE_EMBEDDED_MODE
    embedded_overrides: dict[str, Any] = field(default_factory=dict)
    log_level: str = "INFO"
    extra_settings: dict[str, Any] = field(default_factory=dict)
    progress: str = "auto"


@dataclass
class CrawlResult:
    stats: dict[str, Any]
    log_path: Path
    pages_path: Path
    rows: list[HostRow]
    log_records: int | None = None  # None: the log was not exported
    export_error: str | None = None
    interrupted_by: str | None = None  # the first stop signal's name
    service_url: str = ""  # empty: embedded


def scrapy_settings(config: CrawlConfig) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "ADDONS": {"crawler.addon.ComplianceAddon": 0},
        "ITEM_PIPELINES": {"crawler.pipelines.output.OutputPipeline": 300},
        "COMPLIANCE_JOB": config.job,
        "COMPLIANCE_CRAWLER_TOKEN": config.token,
        "COMPLIANCE_SERVICE_URL": config.service_url,
        "COMPLIANCE_API_KEY": config.api_key,
        "COMPLIANCE_OUTPUT_DIR": str(config.output_dir),
        "COMPLIANCE_OUTPUT_FORMAT": config.output_format,
        # The runner exports the log itself once the crawl has ended, whatever way.
        "COMPLIANCE_LOG_EXPORT": "",
        "COMPLIANCE_EMBEDDED_SETTINGS": config.embedded_overrides,
        "COMPLIANCE_PROGRESS": config.progress,
        "CONCURRENT_REQUESTS": config.concurrency,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": config.log_level,
    }
    if config.embedded_database_url:
        settings["COMPLIANCE_EMBEDDED_DATABASE_URL"] = config.embedded_database_url
    if config.embedded_mode:
        settings["COMPLIANCE_EMBEDDED_MODE"] = config.embedded_mode
    if config.max_pages:
        settings["CLOSESPIDER_ITEMCOUNT"] = config.max_pages
    settings.update(config.extra_settings)
    return settings


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


class StopSignals:
    """SIGINT, SIGTERM (and SIGBREAK) through one run: see the module docstring."""

    def __init__(self) -> None:
        self.phase: Literal["crawl", "export"] = "crawl"
        self.first: str | None = None  # the name of the first signal received
        self._crawl_count = 0
        self._export_count = 0
        self._previous: dict[int, Any] = {}
        self._graceful: Callable[[str], None] | None = None
        self._force: Callable[[str], None] | None = None

    def install(self, graceful: Callable[[str], None], force: Callable[[str], None]) -> None:
        """Handle the stop signals; ``graceful``/``force`` get the signal's name and are called
        from a signal handler (they must only hand the work over to the reactor)."""
        self._graceful, self._force = graceful, force
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.first is None:
            self.first = name
        if self.phase == "export":
            self._export_count += 1
            if self._export_count == 1:
                # No logging in a signal handler (the stream may be mid-write): a plain write.
                os.write(
                    2,
                    f"{name}: the decision log export goes on; send {name} again to abandon"
                    " it\n".encode(),
                )
                return
            raise KeyboardInterrupt(name)
        self._crawl_count += 1
        if self._crawl_count == 1 and self._graceful is not None:
            self._graceful(name)
        elif self._crawl_count == 2 and self._force is not None:
            self._force(name)
        elif self._crawl_count > 2:
            raise KeyboardInterrupt(name)


def _reactor() -> Any:
    from twisted.internet import reactor

    return reactor


def _graceful_stop(process: CrawlerProcess) -> Callable[[str], None]:
    def stop_in_reactor(name: str) -> None:
        logger.info("Received %s, stopping the crawl. Send again to stop at once", name)
        process.stop().addBoth(lambda _: _stop_reactor())
        _reactor().callLater(GRACEFUL_STOP_TIMEOUT, too_slow, name)

    def too_slow(name: str) -> None:
        logger.warning(
            "the crawl did not stop within %g s of %s: stopping at once",
            GRACEFUL_STOP_TIMEOUT,
            name,
        )
        _stop_reactor()

    return lambda name: _reactor().callFromThread(stop_in_reactor, name)


def _forced_stop(name: str) -> None:
    def stop_in_reactor() -> None:
        logger.info("Received %s twice, stopping at once", name)
        _stop_reactor()

    _reactor().callFromThread(stop_in_reactor)


def _stop_reactor() -> None:
    from twisted.internet.error import ReactorNotRunning

    with suppress(ReactorNotRunning):
        _reactor().stop()


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Until the crawl's own handlers are in place, SIGTERM interrupts like Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def export_log(settings: BaseSettings, dest: Path) -> int:
    """Export the job's decision log from the service the crawl used to ``dest``."""
    job = str(settings.get("COMPLIANCE_JOB") or "")
    url = str(settings.get("COMPLIANCE_SERVICE_URL") or "")
    if url:
        from crawler.optout_client import HttpOptOutClient

        async def served() -> int:
            client = HttpOptOutClient(
                url,
                str(settings.get("COMPLIANCE_API_KEY") or ""),
                timeout=settings.getfloat("COMPLIANCE_SERVICE_TIMEOUT", 10.0),
            )
            try:
                return await client.export_log(job, dest)
            finally:
                await client.aclose()

        return asyncio.run(served())
    from crawler.embedded import effective_database_url, export_job_log

    database_url = effective_database_url(
        str(settings.get("COMPLIANCE_EMBEDDED_DATABASE_URL") or ""),
        settings.getdict("COMPLIANCE_EMBEDDED_SETTINGS"),
    )
    return export_job_log(database_url, job, dest)


def run_crawl(config: CrawlConfig) -> CrawlResult:
    """Crawl, then export the job's log and report, whatever way the crawl ended.

    Raises ``KeyboardInterrupt`` only for a signal before the crawl started.
    """
    config.output_dir.mkdir(parents=True, exist_ok=True)
    signals_ = StopSignals()
    with _sigterm_interrupts():
        from scrapy.crawler import CrawlerProcess

        from crawler.spiders.links import LinkSpider

        process = CrawlerProcess(scrapy_settings(config))
        crawler = process.create_crawler(LinkSpider)  # installs the reactor
        kwargs: dict[str, Any] = {"start_urls": config.seeds}
        if config.max_depth is not None:
            kwargs["max_depth"] = config.max_depth
    signals_.install(_graceful_stop(process), _forced_stop)
    try:
        try:
            process.crawl(crawler, **kwargs)
            process.start(install_signal_handlers=False)
        except KeyboardInterrupt:
            logger.warning("the crawl was interrupted while stopping")
        signals_.phase = "export"
        return _report(config, crawler.settings, _stats_of(crawler), signals_)
    finally:
        signals_.restore()


def _stats_of(crawler: Any) -> dict[str, Any]:
    try:
        collector = crawler.stats
    except RuntimeError:  # the crawl never got that far
        return {}
    return dict(collector.get_stats() or {}) if collector is not None else {}


def _report(
    config: CrawlConfig,
    settings: BaseSettings,
    crawl_stats: dict[str, Any],
    signals_: StopSignals,
) -> CrawlResult:
    from crawler.embedded import stop_running_services

    log_path = config.output_dir / LOG_FILE
    pages = "pages.warc.gz" if config.output_format == "warc" else "pages.jsonl"
    stats = {k: _json_safe(v) for k, v in crawl_stats.items()}
    result = CrawlResult(
        stats,
        log_path,
        config.output_dir / pages,
        [],
        interrupted_by=signals_.first,
        service_url=str(settings.get("COMPLIANCE_SERVICE_URL") or ""),
    )
    try:
        # After a forced stop the embedded service still runs (its loop or its process is its
        # own): shut it down properly, so that everything it was writing is committed before
        # the export.
        stop_running_services(EMBEDDED_STOP_TIMEOUT)
        with atomic_output(config.output_dir / "stats.json") as out:
            out.write(json.dumps(stats, indent=1, sort_keys=True).encode())
        if not settings.getbool("COMPLIANCE_ENABLED", True):
            result.export_error = "COMPLIANCE_ENABLED is off: there is no decision log"
        else:
            result.log_records = export_log(settings, log_path)
            result.rows = host_rows(read_log(log_path), stats)
    except KeyboardInterrupt:
        result.export_error = "abandoned (interrupted)"
    except Exception as exc:
        logger.error("could not export the decision log to %s: %s", log_path, exc)
        result.export_error = (
            str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
        )
    if result.export_error is not None:
        result.rows = host_rows([], stats)
        result.log_records = None
    return result
