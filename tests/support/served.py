"""``optout-service serve`` in a child process on a random loopback port, for integration tests.

Every web fetch of the service goes to an HTTP proxy on loopback (by default a port where
nothing listens), so no test can make the service send traffic anywhere but 127.0.0.0/8,
whatever URLs a test or a fuzzer asks about.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "crawl": "served-crawl-key",
    "other": "served-other-crawl-key",
    "audit": "served-audit-key",
}
KEY_SETTINGS = [
    {"name": "crawler", "key": KEYS["crawl"], "scopes": ["crawl"]},
    {"name": "other-team", "key": KEYS["other"], "scopes": ["crawl"]},
    {"name": "auditor", "key": KEYS["audit"], "scopes": ["audit"]},
]


def free_port() -> int:
    code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    return int(result.stdout)


def service_env(database_url: str, proxy_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith("OPTOUT_")
    }
    proxy = proxy_url or f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "http_proxy": proxy,
            "https_proxy": proxy,
            "OPTOUT_DATABASE__URL": database_url,
            "OPTOUT_AUTH__API_KEYS": json.dumps(KEY_SETTINGS),
            "OPTOUT_FETCH__CONNECT_TIMEOUT": "2",
            "OPTOUT_FETCH__TOTAL_TIMEOUT": "4",
        }
    )
    env.update(extra)
    return env


class Served:
    """The service in its own process; ``kill()`` is SIGKILL, ``stop()`` a clean stop."""

    def __init__(self, env: Mapping[str, str], cwd: Path, *, migrate: bool = True) -> None:
        self.env = dict(env)
        self.cwd = cwd
        if migrate:
            subprocess.run(
                [sys.executable, "-m", "optout_service.cli", "migrate"],
                env=self.env,
                cwd=cwd,
                check=True,
                capture_output=True,
                timeout=120,
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"served-{self.port}.log"
        self._log_file = self.log.open("w")
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
            env=self.env,
            cwd=cwd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited:\n{self.log.read_text()[-3000:]}")
            try:
                response = httpx.get(self.url + "/readyz", timeout=1, trust_env=False)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"service not ready:\n{self.log.read_text()[-3000:]}")

    def client(self, key: str | None = "crawl", timeout: float = 30) -> httpx.Client:
        headers = {"Authorization": f"Bearer {KEYS[key]}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout, trust_env=False)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log_file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()

    def __enter__(self) -> Served:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
