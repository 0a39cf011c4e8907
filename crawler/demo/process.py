"""Run the demo web in a subprocess, and read its access log."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True, slots=True)
class AccessRecord:
    t: float
    host: str
    path: str
    method: str
    status: int
    proxy: bool
    ua: str | None


def read_access_log(path: Path) -> list[AccessRecord]:
    """Records written so far; a partially written last line is ignored."""
    if not path.exists():
        return []
    records: list[AccessRecord] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        records.append(AccessRecord(**data))
    return records


class DemoWebProcess:
    def __init__(
        self, sites: str = "demo", access_log: Path | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        self.command = [sys.executable, "-m", "crawler.demo.web", "--sites", sites, *extra_args]
        if access_log is not None:
            self.command += ["--access-log", str(access_log)]
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def proxy_url(self) -> str:
        return self.url

    def __enter__(self) -> DemoWebProcess:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 20
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING ") or time.monotonic() > deadline:
            self.__exit__(None, None, None)
            raise RuntimeError(f"demo web did not start: {line!r}")
        self.url = line.split(" ", 1)[1].strip()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
