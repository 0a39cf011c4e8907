"""Real crawls whose outcome is not a plain success, and how optout-crawl reports them.

A crawl whose opt-out service is down exits 3, one whose log export fails exits 4, each with one
``error:`` line on stderr; hosts asking for crawl delays longer than COMPLIANCE_MAX_CRAWL_DELAY
are skipped (not waited for) and reported, and the crawl exits 0.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from crawler.demo.process import DemoWebProcess, read_access_log
from crawler.demo.sites import BRISK_HOST, DAYLONG_HOST, DEMO_SEEDS, GLACIAL_HOST
from tests.integration.conftest import (
    POLICY_PATHS,
    CrawlRun,
    crawl_command,
    crawl_env,
    finish_crawl,
    free_port,
    page_requests,
)

pytestmark = pytest.mark.integration


def crawl(
    tmp_path: Path, proxy_url: str, seeds: list[str], *options: str, read_log: bool = True
) -> CrawlRun:
    proc = subprocess.Popen(
        crawl_command(seeds, tmp_path / "out", *options),
        env=crawl_env(proxy_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if not read_log:
            stdout, stderr = proc.communicate(timeout=120)
            return CrawlRun(proc.returncode, stdout, stderr, tmp_path / "out")
        return finish_crawl(proc, tmp_path / "out", timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        pytest.fail(f"the crawl did not end within 120 s:\n{stderr[-3000:]}")


def error_line(run: CrawlRun) -> str:
    lines = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, run.stderr[-3000:]
    return lines[0]


def test_a_crawl_whose_service_is_down_fetches_nothing_and_exits_3(tmp_path: Path) -> None:
    access_log = tmp_path / "access.jsonl"
    nothing_there = f"http://127.0.0.1:{free_port()}"
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        run = crawl(
            tmp_path,
            web.proxy_url,
            list(DEMO_SEEDS),
            "--service-url",
            nothing_there,
            "--api-key",
            "some-key",
            "--set",
            "COMPLIANCE_SERVICE_RETRIES=1",
            "--set",
            "COMPLIANCE_SERVICE_BACKOFF=0.05",
        )
    assert read_access_log(access_log) == []
    assert run.returncode == 3, run.stderr[-3000:]
    line = error_line(run)
    assert re.match(
        r"error: \d+ requests? refused because the opt-out service was unavailable \(", line
    ), line
    assert nothing_there in line
    # The log could not be exported either (the same service): said on the same line.
    assert "the decision log could not be exported" in line
    assert run.stderr.rstrip().endswith(line)


def test_a_failed_log_export_exits_4(tmp_path: Path) -> None:
    # A directory where the log should go: the crawl runs, the export cannot be renamed into
    # place.
    (tmp_path / "out" / "decision-log.jsonl").mkdir(parents=True)
    with DemoWebProcess(sites="demo") as web:
        run = crawl(
            tmp_path,
            web.proxy_url,
            list(DEMO_SEEDS),
            "--db",
            str(tmp_path / "optout.sqlite3"),
            read_log=False,
        )
    assert run.returncode == 4, run.stderr[-3000:]
    line = error_line(run)
    assert line.startswith("error: the decision log could not be exported to ")
    assert "Is a directory" in line
    assert "no per-host table" in run.stdout
    assert (tmp_path / "out" / "decision-log.jsonl").is_dir()
    assert not list((tmp_path / "out").glob("*.partial"))


def test_hosts_asking_for_too_long_a_crawl_delay_are_skipped_and_reported(
    tmp_path: Path,
) -> None:
    access_log = tmp_path / "access.jsonl"
    seeds = [f"http://{host}/" for host in (GLACIAL_HOST, DAYLONG_HOST, BRISK_HOST)]
    with DemoWebProcess(sites="delays", access_log=access_log) as web:
        started = time.monotonic()
        run = crawl(
            tmp_path,
            web.proxy_url,
            seeds,
            "--job",
            "it-delays",
            "--db",
            str(tmp_path / "optout.sqlite3"),
        )
        took = time.monotonic() - started
    access = read_access_log(access_log)
    assert run.returncode == 0, run.stderr[-3000:]
    assert took < 60  # not idling on a day-long crawl delay
    # Never crawled faster than asked: not crawled at all (the service read their robots.txt).
    for host in (GLACIAL_HOST, DAYLONG_HOST):
        assert page_requests(access, host) == []
        asked = [r.path for r in access if r.host == host]
        assert "/robots.txt" in asked
        assert set(asked) <= POLICY_PATHS
        (decision,) = run.decisions(host)
        assert decision["decision"] == "allow"  # what the service logged
    assert len(page_requests(access, BRISK_HOST)) == 10
    assert run.stats["compliance/skipped/crawl_delay.too_long"] == 2
    assert run.stats["compliance/skipped_hosts"] == {
        GLACIAL_HOST: {"crawl_delay": 3600.0, "requests": 1},
        DAYLONG_HOST: {"crawl_delay": 86400.0, "requests": 1},
    }
    # Reported: in the table (allowed 1, fetched 0, skipped 1) and in the summary.
    row = next(line for line in run.stdout.splitlines() if GLACIAL_HOST in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:8] == [GLACIAL_HOST, "1", "1", "0", "0", "0", "0", "1"]
    assert cells[8] == "crawl_delay.too_long (3600 s) x1"
    summary = next(line for line in run.stdout.splitlines() if line.startswith("hosts skipped"))
    assert f"{DAYLONG_HOST} 86400 s" in summary
    assert f"{GLACIAL_HOST} 3600 s" in summary
    assert "60 s" in summary
