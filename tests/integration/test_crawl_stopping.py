"""Real crawls stopped early: by SIGTERM, by Ctrl-C twice, by CLOSESPIDER_TIMEOUT.

Each must end within seconds, with a documented exit code and a complete decision log: no
request waiting on a crawl delay is fetched after the stop, and nothing the crawler counted is
missing from the log. Each runs with the embedded service as a child process and on a thread.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.process import AccessRecord, DemoWebProcess, read_access_log
from crawler.demo.sites import PATIENT_HOST
from tests.integration.conftest import (
    CrawlRun,
    crawl_command,
    crawl_env,
    finish_crawl,
    page_requests,
)

pytestmark = pytest.mark.integration

SEED = f"http://{PATIENT_HOST}/"  # Crawl-delay: 2, 200 pages


@pytest.fixture(params=["process", "thread"])
def mode(request: pytest.FixtureRequest) -> str:
    """COMPLIANCE_EMBEDDED_MODE of the crawl."""
    return str(request.param)


def start(tmp_path: Path, proxy_url: str, mode: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        crawl_command(
            [SEED],
            tmp_path / "out",
            "--db",
            str(tmp_path / "optout.sqlite3"),
            "--embedded",
            mode,
            *options,
        ),
        env=crawl_env(proxy_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], output: Path, timeout: float) -> CrawlRun:
    """The crawl's run; a crawl still running after ``timeout`` s is killed and fails the test."""
    try:
        return finish_crawl(proc, output, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        pytest.fail(f"the crawl did not end within {timeout} s:\n{stderr[-3000:]}")


def wait_for_pages(proc: subprocess.Popen[str], access_log: Path, count: int) -> None:
    deadline = time.monotonic() + 90
    while len(page_requests(read_access_log(access_log), PATIENT_HOST)) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.1)


def counted(stats: dict[str, Any], decision: str) -> int:
    prefix = f"compliance/{decision}/"
    return sum(v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, int))


def kept_pages(output: Path) -> list[dict[str, Any]]:
    pages = output / "pages.jsonl"
    if not pages.exists():
        return []
    return [json.loads(line) for line in pages.read_text().splitlines() if line.strip()]


def assert_log_complete(run: CrawlRun, access: list[AccessRecord]) -> None:
    """Every decision and observation the crawler counted, and every fetch, is in the log."""
    assert (run.output / "decision-log.jsonl").exists()
    assert run.log, "an empty log"
    allowed = [d for d in run.decisions() if d["decision"] == "allow"]
    assert counted(run.stats, "allow") <= len(allowed)
    kept = [o for o in run.observations() if o["outcome"] == "keep"]
    assert counted(run.stats, "keep") <= len(kept)
    ids = {record["id"] for record in run.log}
    assert all(o["decision_id"] in ids for o in run.observations())
    kept_ids = {o["decision_id"] for o in kept}
    for page in kept_pages(run.output):
        assert page["decision_id"] in kept_ids, page["url"]
    allowed_urls = {d["url"] for d in allowed}
    for hit in page_requests(access, PATIENT_HOST):
        assert f"http://{hit.host}{hit.path}" in allowed_urls, hit
    assert not list(run.output.glob("*.partial"))


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param([signal.SIGTERM], id="SIGTERM"),
        pytest.param([signal.SIGINT, signal.SIGINT], id="SIGINT-twice"),
    ],
)
def test_a_stop_signal_ends_the_crawl_within_seconds_with_its_log_complete(
    tmp_path: Path, signals: list[signal.Signals], mode: str
) -> None:
    access_log = tmp_path / "access.jsonl"
    # Every answer takes 3 s: a download is in flight when the signals come, and a dozen
    # requests wait in the host's download slot behind its 2 s crawl delay.
    with DemoWebProcess(sites="delays", access_log=access_log, extra_args=["--delay", "3"]) as web:
        proc = start(tmp_path, web.proxy_url, mode, "--job", "it-signal")
        wait_for_pages(proc, access_log, 2)
        stopped_at = time.monotonic()
        signalled = time.time()
        for n, sig in enumerate(signals):
            if n:
                time.sleep(0.5)
            proc.send_signal(sig)
        run = finish(proc, tmp_path / "out", timeout=30)
        ended = time.monotonic() - stopped_at
        access = read_access_log(access_log)
    assert ended < 15, f"the crawl took {ended:.1f} s to stop"
    assert run.returncode == 130, run.stderr[-3000:]
    name = signals[0].name
    assert run.stderr.strip().splitlines()[-1] == (
        f"error: stopped by {name}; the log and the table cover the crawl until then"
    )
    assert_log_complete(run, access)
    assert PATIENT_HOST in run.stdout  # the per-host table, from the log
    # Nothing waiting on the crawl delay was fetched after the stop.
    assert [r for r in page_requests(access, PATIENT_HOST) if r.t > signalled + 0.5] == []
    if len(signals) == 1:  # a graceful stop: what waited on the crawl delay was dropped
        assert run.stats["compliance/dropped/crawl.closing"] >= 1
        assert run.stats["finish_reason"] == "shutdown"
    else:  # the second came while a 3 s download held the graceful stop: stopped at once
        assert "Received SIGINT twice, stopping at once" in run.stderr


# Long enough for the seed page to be fetched and its links to queue behind the 2 s delay
# for a few progress lines, even on a slow machine (at 3 s, a CI run saw none queued yet).
TIMEOUT = 5


def test_closespider_timeout_ends_the_crawl_without_waiting_out_crawl_delays(
    tmp_path: Path, mode: str
) -> None:
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="delays", access_log=access_log) as web:
        started = time.monotonic()
        proc = start(
            tmp_path,
            web.proxy_url,
            mode,
            "--job",
            "it-timeout",
            "--set",
            f"CLOSESPIDER_TIMEOUT={TIMEOUT}",
            "--progress",
            "log",
            "--set",
            "COMPLIANCE_PROGRESS_INTERVAL=0.5",
        )
        run = finish(proc, tmp_path / "out", timeout=90)
        took = time.monotonic() - started
        access = read_access_log(access_log)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Closing spider (closespider_timeout)" in run.stderr
    # Scrapy's own clock: the spider started closing TIMEOUT s after it started.
    closing = datetime.fromisoformat(run.stats["start_time"]).timestamp() + TIMEOUT
    finished = datetime.fromisoformat(run.stats["finish_time"]).timestamp()
    assert finished - closing < 5, f"the spider took {finished - closing:.1f} s to close"
    late = [r for r in page_requests(access, PATIENT_HOST) if r.t > closing + 0.5]
    assert late == []
    # Requests queued behind the 2 s crawl delay were dropped, not fetched one by one.
    assert run.stats["compliance/dropped/crawl.closing"] >= 5
    assert abs(float(run.stats["compliance/closing_started"]) - closing) < 1
    assert took < 45
    assert_log_complete(run, access)
    # The progress line names the host waiting on its crawl delay and its queue.
    progress = [line for line in run.stderr.splitlines() if "progress: " in line]
    assert progress
    assert any(
        f"waiting on a crawl delay: {PATIENT_HOST} " in line and "queued (2 s apart)" in line
        for line in progress
    ), progress
