"""The progress display: what it counts, the hosts waiting on a crawl delay, how it is shown."""

from __future__ import annotations

import io
import logging
from collections import deque
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.addon import ComplianceAddon
from crawler.progress import (
    ProgressDisplay,
    progress_line,
    progress_table,
    resolve_mode,
    snapshot,
)

STATS: dict[str, Any] = {
    "compliance/requests": 40,
    "compliance/responses": 12,
    # compliance/<decision> counts requests; compliance/<decision>/<reason> counts reasons
    # (a discard for two reservations counts under both: the sums differ).
    "compliance/allow": 30,
    "compliance/allow/robots.allowed": 30,
    "compliance/deny": 4,
    "compliance/deny/robots.disallowed": 4,
    "compliance/keep": 10,
    "compliance/keep/content.unreserved": 10,
    "compliance/discard": 2,
    "compliance/discard/tdmrep.reserved": 2,
    "compliance/discard/meta.noai": 1,
    "compliance/skipped": 3,
    "compliance/skipped/crawl_delay.too_long": 3,
    "compliance/dropped": 1,
    "compliance/dropped/crawl.closing": 1,
    "compliance/skipped_hosts": {"day.test": {"crawl_delay": 86400.0, "requests": 3}},
}


def slot(queued: int, delay: float) -> SimpleNamespace:
    return SimpleNamespace(queue=deque(range(queued)), delay=delay)


SLOTS = {
    "a.test": slot(3, 2.0),
    "b.test": slot(12, 5.0),
    "busy.test": slot(4, 0.0),  # queued, but not behind a crawl delay
    "idle.test": slot(0, 10.0),
}


def test_the_snapshot_counts_pages_and_the_hosts_waiting_on_a_crawl_delay() -> None:
    progress = snapshot(STATS, SLOTS)
    assert (progress.fetched, progress.kept, progress.refused) == (12, 10, 10)
    assert progress.skipped_hosts == 1
    assert [(w.host, w.queued, w.delay) for w in progress.waiting] == [
        ("b.test", 12, 5.0),
        ("a.test", 3, 2.0),
    ]


def test_the_log_line_names_each_waiting_host_with_its_queue_and_delay() -> None:
    line = progress_line(snapshot(STATS, SLOTS))
    assert line == (
        "progress: 12 fetched, 10 kept, 10 refused, 1 host skipped (crawl delay too long);"
        " waiting on a crawl delay: b.test 12 queued (5 s apart), a.test 3 queued (2 s apart)"
    )
    many = {f"h{i}.test": slot(1, 1.0) for i in range(7)}
    assert progress_line(snapshot({}, many), limit=5).endswith(", 2 more hosts")
    assert progress_line(snapshot({}, {})).endswith("no host waiting on a crawl delay")


def test_the_live_table_shows_the_waiting_hosts() -> None:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(progress_table(snapshot(STATS, SLOTS)))
    text = console.export_text()
    assert "12 fetched, 10 kept, 10 refused" in text
    assert "waiting on a crawl delay" in text
    b_line = next(line for line in text.splitlines() if "b.test" in line)
    assert b_line.split() == ["b.test", "12", "5", "s"]


def test_auto_is_live_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_mode("auto", Tty()) == "live"
    assert resolve_mode("auto", io.StringIO()) == "log"
    assert resolve_mode("LOG") == "log"
    with pytest.raises(ValueError):
        resolve_mode("fancy")


def test_the_addon_enables_the_display_and_off_disables_it() -> None:
    crawler = get_crawler(settings_dict={"ADDONS": {ComplianceAddon: 0}})
    assert ProgressDisplay in crawler.settings.getdict("EXTENSIONS")
    with pytest.raises(NotConfigured):
        ProgressDisplay.from_crawler(get_crawler(settings_dict={"COMPLIANCE_PROGRESS": "off"}))


def test_log_mode_writes_a_progress_line(caplog: pytest.LogCaptureFixture) -> None:
    crawler = get_crawler(
        settings_dict={"COMPLIANCE_PROGRESS": "log", "COMPLIANCE_PROGRESS_INTERVAL": 5}
    )
    display = ProgressDisplay.from_crawler(crawler)
    assert (display.mode, display.interval) == ("log", 5.0)
    assert crawler.stats is not None
    for key, value in STATS.items():
        crawler.stats.set_value(key, value)
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots=SLOTS))  # type: ignore[assignment]
    with caplog.at_level(logging.INFO, logger="crawler.progress"):
        display.log()
    assert "b.test 12 queued (5 s apart)" in caplog.text
    display.stop()  # nothing started: harmless
