"""Run the demo web in a subprocess, and read its access log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["AccessRecord", "DemoWebProcess", "read_access_log"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One request as the demo web saw it (one line of its access log)."""

    t: float
    host: str
    path: str
    method: str
    status: int
    proxy: bool
    ua: str | None


def _record(data: Any) -> AccessRecord | None:
    if not isinstance(data, dict):
        return None
    try:
        ua = data.get("ua")
        return AccessRecord(
            t=float(data["t"]),
            host=str(data["host"]),
            path=str(data["path"]),
            method=str(data["method"]),
            status=int(data["status"]),
            proxy=bool(data["proxy"]),
            ua=None if ua is None else str(ua),
        )
    except (KeyError, TypeError, ValueError):
        return None


def read_access_log(path: Path) -> list[AccessRecord]:
    """Records written so far, in order. A missing file or a partial last line is skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    records: list[AccessRecord] = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:  # a line still being written (or cut short by a kill)
            continue
        record = _record(data)
        if record is not None:
            records.append(record)
    return records


class DemoWebProcess:
    """``python -m crawler.demo.web`` as a context manager.

    ``with DemoWebProcess("demo", access_log=path) as web:`` starts the server, waits for its
    ``LISTENING`` line and exposes ``url``, ``port`` and ``proxy_url``; leaving the block stops it
    (SIGTERM, then SIGKILL after 5 s).
    """

    def __init__(
        self,
        sites: str = "demo",
        access_log: Path | None = None,
        extra_args: Sequence[str] = (),
        *,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.sites = sites
        self.access_log = access_log
        self.command = [sys.executable, "-m", "crawler.demo.web", "--sites", sites]
        self.command += ["--host", "127.0.0.1", *extra_args]
        if access_log is not None:
            self.command += ["--access-log", str(access_log)]
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the demo web process is not started")
        return self._process

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the demo web process is not started")
        return self._url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def proxy_url(self) -> str:
        """The value for ``http_proxy``: the demo web is its own forward proxy."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoWebProcess:
        if self._process is not None:
            raise RuntimeError("the demo web process is already started")
        env = dict(os.environ)
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = f"{PROJECT_ROOT}{os.pathsep}{path}" if path else str(PROJECT_ROOT)
        env["PYTHONUNBUFFERED"] = "1"
        self._process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env
        )
        line = self._first_line(self._process)
        if not line.startswith("LISTENING http://"):
            self.stop()
            raise RuntimeError(
                f"demo web did not start within {self.start_timeout} s "
                f"(exit code {self._process.returncode}, first line {line!r})"
            )
        self._url = line.split(" ", 1)[1].strip()
        return self

    def _first_line(self, process: subprocess.Popen[bytes]) -> str:
        # readline() blocks; read on a helper thread so the timeout holds.
        result: list[bytes] = []
        stdout = process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        return result[0].decode("utf-8", "replace") if result else ""

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> DemoWebProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
