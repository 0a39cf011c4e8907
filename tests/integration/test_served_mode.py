"""The service served by uvicorn in its own process, the crawler pointed at it over HTTP."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.process import DemoWebProcess, read_access_log
from crawler.demo.sites import (
    DEMO_SEEDS,
    PARTIAL_HOST,
    PIRACY_HOST,
    PUBLISHER_HOST,
    UNREACHABLE_HOST,
)
from tests.integration.conftest import (
    crawl_command,
    crawl_env,
    finish_crawl,
    page_requests,
    run_crawl,
)

pytestmark = pytest.mark.integration

API_KEY = "served-mode-test-key"
SLOW_HOST = "www.slowriver-archive.org"


def test_crawl_against_a_served_service(tmp_path: Path, served_factory: Any) -> None:
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        service = served_factory(web.proxy_url, API_KEY)
        run = run_crawl(
            DEMO_SEEDS,
            tmp_path / "out",
            web.proxy_url,
            "--job",
            "it-served",
            "--service-url",
            service.url,
            "--api-key",
            API_KEY,
        )
    access = read_access_log(access_log)
    assert [r for r in access if PIRACY_HOST in r.host] == []
    assert page_requests(access, UNREACHABLE_HOST) == []
    assert not [
        r
        for r in page_requests(access, PARTIAL_HOST)
        if r.path.startswith(("/private/", "/drafts/"))
    ]
    assert run.stats["compliance/deny/robots.disallowed"] >= 3
    assert run.stats["compliance/discard/tdmrep.reserved"] == 1
    assert f"http://{PUBLISHER_HOST}/articles/open-letter.html" in run.kept_urls()
    # The log the crawl exported is the served service's log: the same rows as its database.
    with sqlite3.connect(service.database) as db:
        (decisions,) = db.execute(
            "SELECT count(*) FROM decision WHERE job = 'it-served'"
        ).fetchone()
    assert decisions == len(run.decisions()) > 0


def test_wrong_api_key_fetches_nothing(tmp_path: Path, served_factory: Any) -> None:
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        service = served_factory(web.proxy_url, API_KEY)
        proc = subprocess.Popen(
            crawl_command(
                DEMO_SEEDS,
                tmp_path / "out",
                "--job",
                "it-badkey",
                "--service-url",
                service.url,
                "--api-key",
                "not-the-key",
            ),
            env=crawl_env(web.proxy_url),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        run = finish_crawl(proc, tmp_path / "out")
    assert read_access_log(access_log) == []
    assert run.stats.get("compliance/deny/service.rejected", 0) >= 1
    # Said, not hidden: exit code 3 and one line on stderr.
    assert run.returncode == 3, run.stderr[-3000:]
    (error,) = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: the service rejected the API key (")
    assert service.url in error


def test_service_stopped_mid_crawl_fails_closed(tmp_path: Path, served_factory: Any) -> None:
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="slow", access_log=access_log) as web:
        service = served_factory(web.proxy_url, API_KEY)
        proc = subprocess.Popen(
            crawl_command(
                [f"http://{SLOW_HOST}/"],
                tmp_path / "out",
                "--job",
                "it-killed",
                "--service-url",
                service.url,
                "--api-key",
                API_KEY,
                "--concurrency",
                "4",
                "--set",
                "COMPLIANCE_SERVICE_RETRIES=2",
                "--set",
                "COMPLIANCE_SERVICE_BACKOFF=0.1",
            ),
            env=crawl_env(web.proxy_url),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(page_requests(read_access_log(access_log), SLOW_HOST)) < 15:
            assert time.monotonic() < deadline, "the crawl did not get going"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        service.kill()
        killed_at = time.time()
        run = finish_crawl(proc, tmp_path / "out", timeout=120)
    # Fail closed, and say so: exit code 3, one line on stderr.
    assert run.returncode == 3, run.stderr[-3000:]
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ")
    assert "opt-out service was unavailable" in error
    assert service.url in error
    access = page_requests(read_access_log(access_log), SLOW_HOST)
    # Requests already allowed may still be in flight (one page takes 50 ms); nothing new after.
    late = [r for r in access if r.t > killed_at + 1.0]
    assert late == []
    with sqlite3.connect(service.database) as db:
        allowed = {
            row[0] for row in db.execute("SELECT url FROM decision WHERE decision = 'allow'")
        }
    assert {f"http://{SLOW_HOST}{r.path}" for r in access} <= allowed
    unavailable = sum(v for k, v in run.stats.items() if k.endswith("/service.unavailable"))
    assert unavailable >= 1, json.dumps(run.stats, indent=1)
    assert len(access) < 300
