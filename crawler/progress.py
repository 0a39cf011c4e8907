"""The progress display of a compliant crawl: pages fetched, kept and refused, and the hosts
whose requests wait on a crawl delay.

``COMPLIANCE_PROGRESS`` chooses it (``crawler/settings.py``): ``live`` shows a table on the
terminal, redrawn every second, log lines scrolling above it; ``log`` writes one log line every
``COMPLIANCE_PROGRESS_INTERVAL`` seconds; ``auto`` is ``live`` when stdout is a terminal and
``log`` otherwise; ``off`` shows nothing. The add-on enables this extension.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call

from crawler import stats as keys

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.task import LoopingCall

logger = logging.getLogger(__name__)

MODES = ("auto", "live", "log", "off")
LIVE_REFRESH = 1.0  # seconds between two redraws of the live table
_REFUSALS = ("deny", "discard", "skipped", "dropped")


@dataclass(frozen=True, slots=True)
class WaitingHost:
    """A download slot (a host) with requests queued behind its crawl delay."""

    host: str
    queued: int
    delay: float


@dataclass(frozen=True, slots=True)
class Progress:
    fetched: int
    kept: int
    refused: int
    skipped_hosts: int
    waiting: tuple[WaitingHost, ...]  # most requests queued first


def snapshot(stats: Mapping[str, Any], slots: Mapping[str, Any]) -> Progress:
    """The progress of a crawl from its stats and its downloader's slots (host -> slot)."""
    kept = refused = 0
    for key, value in stats.items():
        parts = key.split("/")
        # compliance/<decision> counts requests once (compliance/<decision>/<reason> counts
        # every reason, several per request).
        if len(parts) != 2 or parts[0] != "compliance" or not isinstance(value, int):
            continue
        if parts[1] == "keep":
            kept += value
        elif parts[1] in _REFUSALS:
            refused += value
    waiting = [
        WaitingHost(str(host), len(slot.queue), float(slot.delay))
        for host, slot in slots.items()
        if slot.queue and slot.delay > 0
    ]
    waiting.sort(key=lambda w: (-w.queued, w.host))
    skipped = stats.get(keys.SKIPPED_HOSTS)
    return Progress(
        fetched=int(stats.get("compliance/responses", 0)),
        kept=kept,
        refused=refused,
        skipped_hosts=len(skipped) if isinstance(skipped, Mapping) else 0,
        waiting=tuple(waiting),
    )


def _counts(progress: Progress) -> str:
    text = f"{progress.fetched} fetched, {progress.kept} kept, {progress.refused} refused"
    if progress.skipped_hosts:
        hosts = "host" if progress.skipped_hosts == 1 else "hosts"
        text += f", {progress.skipped_hosts} {hosts} skipped (crawl delay too long)"
    return text


def progress_line(progress: Progress, limit: int = 5) -> str:
    """One log line: the counts, then the hosts waiting on a crawl delay."""
    if not progress.waiting:
        return f"progress: {_counts(progress)}; no host waiting on a crawl delay"
    shown = ", ".join(
        f"{w.host} {w.queued} queued ({w.delay:g} s apart)" for w in progress.waiting[:limit]
    )
    more = len(progress.waiting) - limit
    if more > 0:
        shown += f", {more} more hosts"
    return f"progress: {_counts(progress)}; waiting on a crawl delay: {shown}"


def progress_table(progress: Progress, limit: int = 8) -> RenderableType:
    """The live display: the counts, then a table of the hosts waiting on a crawl delay."""
    head = Text(_counts(progress), style="bold")
    if not progress.waiting:
        return Group(head, Text("no host waiting on a crawl delay", style="dim"))
    table = Table(box=None, pad_edge=False, title_justify="left")
    table.add_column("waiting on a crawl delay")
    table.add_column("queued", justify="right")
    table.add_column("delay", justify="right")
    for waiting in progress.waiting[:limit]:
        table.add_row(waiting.host, str(waiting.queued), f"{waiting.delay:g} s")
    more = len(progress.waiting) - limit
    if more > 0:
        table.add_row(f"... {more} more hosts", "", "")
    return Group(head, table)


def resolve_mode(mode: str, stdout: IO[str] | None = None) -> str:
    """``auto`` made concrete: ``live`` on a terminal, ``log`` otherwise."""
    mode = (mode or "log").lower()
    if mode not in MODES:
        raise ValueError(f"COMPLIANCE_PROGRESS must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "auto":
        stream = stdout if stdout is not None else sys.stdout
        return "live" if stream.isatty() else "log"
    return mode


class ProgressDisplay:
    """Scrapy extension: the live table or the periodic log line (module docstring)."""

    def __init__(self, crawler: Crawler, mode: str, interval: float) -> None:
        self.crawler = crawler
        self.mode = mode
        self.interval = interval
        self.task: AsyncioLoopingCall | LoopingCall | None = None
        self.live: Live | None = None
        self._rerouted: list[tuple[logging.StreamHandler[Any], Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressDisplay:
        mode = resolve_mode(str(crawler.settings.get("COMPLIANCE_PROGRESS") or "log"))
        interval = crawler.settings.getfloat("COMPLIANCE_PROGRESS_INTERVAL", 60.0)
        if mode == "off" or (mode == "log" and interval <= 0):
            raise NotConfigured("no progress display")
        display = cls(crawler, mode, interval)
        crawler.signals.connect(display.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(display.stop, signal=signals.spider_closed)
        crawler.signals.connect(display.stop, signal=signals.engine_stopped)
        return display

    def current(self) -> Progress:
        assert self.crawler.stats is not None
        try:
            slots = self.crawler.engine.downloader.slots
        except (RuntimeError, AttributeError):  # no engine (yet, or any more)
            slots = {}
        return snapshot(self.crawler.stats.get_stats(), slots)

    def spider_opened(self) -> None:
        if self.mode == "live":
            self._start_live()
            self.task = create_looping_call(self.refresh)
            self.task.start(LIVE_REFRESH)
        else:
            self.task = create_looping_call(self.log)
            self.task.start(self.interval, now=False)

    def log(self) -> None:
        logger.info(progress_line(self.current()))

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(progress_table(self.current()), refresh=True)

    def _start_live(self) -> None:
        # No refresh thread (auto_refresh off): the crawl's loop redraws. stderr is redirected
        # through the display, so log lines scroll above it instead of tearing it.
        self.live = Live(
            console=Console(file=sys.stdout),
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=sys.stderr.isatty(),
        )
        original = sys.stderr
        self.live.start()
        if sys.stderr is not original:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                    self._rerouted.append((handler, original))
                    handler.setStream(sys.stderr)
        self.stop_on_reactor_shutdown()

    def stop_on_reactor_shutdown(self) -> None:
        # A forced stop (a second Ctrl-C) sends no spider_closed: the terminal is given back
        # when the reactor shuts down.
        from scrapy.utils.reactor import is_reactor_installed

        if is_reactor_installed():
            from twisted.internet import reactor

            core: Any = reactor
            core.addSystemEventTrigger("before", "shutdown", self.stop)

    def stop(self) -> None:
        """End the display (idempotent): the periodic call, the live table, the log reroute."""
        task, self.task = self.task, None
        if task is not None and task.running:
            task.stop()
        for handler, stream in self._rerouted:
            handler.setStream(stream)
        self._rerouted.clear()
        live, self.live = self.live, None
        if live is not None:
            live.stop()
