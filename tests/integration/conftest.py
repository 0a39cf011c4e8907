"""Real servers on loopback and real crawls, each crawl in its own process (Twisted runs once)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawler.demo.process import AccessRecord, read_access_log

ROOT = Path(__file__).resolve().parents[2]


def crawl_env(proxy_url: str, **extra: str) -> dict[str, str]:
    """The environment of a crawl: every web fetch goes through the demo web's proxy."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"http_proxy": proxy_url, "https_proxy": proxy_url, "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


@dataclass
class CrawlRun:
    returncode: int
    stdout: str
    stderr: str
    output: Path
    stats: dict[str, Any] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    def decisions(self, host: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.log if r["type"] == "decision" and (host is None or r["host"] == host)
        ]

    def observations(self, host: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.log
            if r["type"] == "observation" and (host is None or r["host"] == host)
        ]

    def decision_for(self, url: str) -> dict[str, Any]:
        matches = [r for r in self.decisions() if r["url"] == url]
        assert matches, f"no decision for {url}"
        return matches[-1]

    def observation_for(self, url: str) -> dict[str, Any]:
        matches = [r for r in self.observations() if r["url"] == url]
        assert matches, f"no observation for {url}"
        return matches[-1]

    def kept_urls(self) -> set[str]:
        pages = self.output / "pages.jsonl"
        if not pages.exists():
            return set()
        return {json.loads(line)["url"] for line in pages.read_text().splitlines() if line.strip()}


def crawl_command(seeds: Sequence[str], output: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler.cli",
        *seeds,
        "--output",
        str(output),
        "--format",
        "jsonl",
        "--token",
        "ExampleBot",
        "--log-level",
        "INFO",
        *options,
    ]


def finish_crawl(proc: subprocess.Popen[str], output: Path, timeout: float = 240) -> CrawlRun:
    stdout, stderr = proc.communicate(timeout=timeout)
    run = CrawlRun(proc.returncode, stdout, stderr, output)
    stats_file = output / "stats.json"
    if stats_file.exists():
        run.stats = json.loads(stats_file.read_text())
    log_file = output / "decision-log.jsonl"
    if log_file.exists():
        run.log = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    return run


def run_crawl(
    seeds: Sequence[str], output: Path, proxy_url: str, *options: str, timeout: float = 240
) -> CrawlRun:
    proc = subprocess.Popen(
        crawl_command(seeds, output, *options),
        env=crawl_env(proxy_url),
        cwd=output.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = finish_crawl(proc, output, timeout)
    assert run.returncode == 0, f"crawl failed ({run.returncode}):\n{run.stderr[-5000:]}"
    return run


def page_requests(records: Sequence[AccessRecord], host: str) -> list[AccessRecord]:
    """Requests the crawler made to a host (the policy documents are the service's fetches:
    robots.txt, tdmrep.json, ai.txt, licences, all sent with the fetcher's user agent)."""
    return [r for r in records if r.host == host and not _service_fetch(r)]


POLICY_PATHS = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})


def _service_fetch(record: AccessRecord) -> bool:
    return record.path in POLICY_PATHS or (record.ua or "").endswith("fetcher)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServedService:
    """``optout-service serve`` (uvicorn) in its own process on a random loopback port."""

    def __init__(self, workdir: Path, proxy_url: str, api_key: str) -> None:
        from piracy_lists import demo_list_path

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = workdir / "served.sqlite3"
        env = crawl_env(
            proxy_url,
            OPTOUT_DATABASE__URL=f"sqlite:///{self.database}",
            OPTOUT_PIRACY__LISTS=json.dumps([str(demo_list_path())]),
            OPTOUT_AUTH__API_KEYS=json.dumps(
                [{"name": "ci", "key": api_key, "scopes": ["crawl", "audit"]}]
            ),
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "optout_service.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"service exited: {self.process.stdout.read() if self.process.stdout else ''}"
                )
            try:
                if httpx.get(self.url + "/readyz", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("service did not become ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def served_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[ServedService] = []

    def start(proxy_url: str, api_key: str) -> ServedService:
        service = ServedService(tmp_path, proxy_url, api_key)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


__all__ = [
    "POLICY_PATHS",
    "CrawlRun",
    "ServedService",
    "crawl_command",
    "finish_crawl",
    "page_requests",
    "read_access_log",
    "run_crawl",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def served_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for a served service: a SQLite file, or a fresh PostgreSQL database
    (not migrated; the service's own `migrate` does it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'served.sqlite3'}"
        return
    from tests.support.postgres import Cluster

    cluster: Cluster = request.getfixturevalue("postgres")
    with cluster.database(migrated=False, tcp=True) as url:
        yield url
