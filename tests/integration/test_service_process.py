"""Real crawls with the embedded service as a child process (COMPLIANCE_EMBEDDED_MODE=process).

The child is found as the crawl's child running ``optout_service.cli serve`` (Linux's /proc).
Each test checks one promise of crawler/embedded.py: ready before the first decision, migrated
(also by two crawls starting at once), stopped at the end, a failed start reported in the
child's words and failed closed, gone soon after the crawl is killed, out of reach of the
terminal's Ctrl-C, and nothing it acknowledged missing from the log.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.demo.process import DemoWebProcess, read_access_log
from crawler.demo.sites import DEMO_SEEDS, PATIENT_HOST
from tests.integration.conftest import (
    CrawlRun,
    crawl_command,
    crawl_env,
    finish_crawl,
    page_requests,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def start_crawl(
    tmp_path: Path,
    proxy_url: str,
    seeds: list[str],
    *options: str,
    output: str = "out",
    new_session: bool = False,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        crawl_command(seeds, tmp_path / output, "--embedded", "process", *options),
        env=crawl_env(proxy_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def finish(proc: subprocess.Popen[str], output: Path, timeout: float = 120) -> CrawlRun:
    try:
        return finish_crawl(proc, output, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        pytest.fail(f"the crawl did not end within {timeout} s:\n{stderr[-3000:]}")


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Running (a zombie no parent has reaped yet has ended)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def service_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or int(fields[1]) != parent:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"optout_service.cli" in cmdline and b"serve" in cmdline:
            found.append(int(entry.name))
    return found


def wait_for_service_child(proc: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        children = service_children(proc.pid)
        if children:
            (child,) = children
            return child
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no service child started"
        time.sleep(0.05)


def wait_gone(pid: int, timeout: float) -> float:
    """Seconds until ``pid`` ended; fails the test after ``timeout``."""
    started = time.monotonic()
    while alive(pid):
        if time.monotonic() - started > timeout:
            pytest.fail(f"the service process {pid} still runs {timeout} s later")
        time.sleep(0.05)
    return time.monotonic() - started


def wait_for_pages(proc: subprocess.Popen[str], access_log: Path, host: str, count: int) -> None:
    deadline = time.monotonic() + 90
    while len(page_requests(read_access_log(access_log), host)) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.1)


def started(run: CrawlRun) -> tuple[int, Path]:
    """The service process the crawl says it started, and its socket."""
    lines = [line for line in run.stderr.splitlines() if "opt-out service started: process" in line]
    assert len(lines) == 1, run.stderr[-3000:]
    pid, socket = lines[0].split("process ", 1)[1].split(", socket ", 1)
    return int(pid), Path(socket.strip())


def export_from(database: Path, job: str) -> list[str]:
    exported = subprocess.run(
        [sys.executable, "-m", "optout_service.cli", "export", "--job", job],
        env={**os.environ, "OPTOUT_DATABASE__URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=True,
    )
    return exported.stdout.splitlines()


def test_two_crawls_start_their_services_at_once_on_one_new_database(tmp_path: Path) -> None:
    """Each child migrates the new database at start-up (a file lock serialises them), is
    ready before the first decision (no call failed, none was retried) and ends with its crawl;
    each crawl's log is exported from the database afterwards."""
    database = tmp_path / "var" / "shared.sqlite3"
    with DemoWebProcess(sites="demo") as web:
        procs = [
            start_crawl(
                tmp_path,
                web.proxy_url,
                list(DEMO_SEEDS),
                "--job",
                f"it-process-{n}",
                "--db",
                str(database),
                output=f"out{n}",
            )
            for n in (1, 2)
        ]
        runs = [finish(proc, tmp_path / f"out{n}") for n, proc in zip((1, 2), procs, strict=True)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.decisions(), "nothing decided"
        assert run.stats["compliance/service_calls/decisions"] >= 1
        assert not [k for k in run.stats if "service.unavailable" in k or "service_retries" in k]
        assert "opt-out service: " not in run.stderr  # the child had nothing to complain of
        pid, socket = started(run)
        assert not alive(pid), "the service outlived its crawl"
        assert not socket.parent.exists(), "its private directory was left behind"
    assert started(runs[0])[0] != started(runs[1])[0]
    with sqlite3.connect(database) as db:
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert version
    # The log each crawl exported is the service's own export of that job.
    for n, run in zip((1, 2), runs, strict=True):
        exported = export_from(database, f"it-process-{n}")
        assert exported == (run.output / "decision-log.jsonl").read_text().splitlines()


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        pytest.param(
            "database",
            "exited with status 1 before it was ready: database: [Errno 17] File exists",
            id="bad-database-path",
        ),
        pytest.param(
            "setting",
            "exited with status 2 before it was ready: invalid setting"
            " OPTOUT_FETCH__CONNECT_TIMEOUT: Input should be greater than 0",
            id="bad-setting",
        ),
    ],
)
def test_a_service_that_cannot_start_fails_the_crawl_closed_with_its_own_error(
    tmp_path: Path, problem: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("")
    options = ["--job", "it-broken", "--set", "COMPLIANCE_SERVICE_RETRIES=1"]
    if problem == "database":
        options += ["--db", str(tmp_path / "a-file" / "optout.sqlite3")]
    else:
        options += [
            "--db",
            str(tmp_path / "optout.sqlite3"),
            "--set",
            'COMPLIANCE_EMBEDDED_SETTINGS={"fetch": {"connect_timeout": -1}}',
        ]
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        proc = start_crawl(tmp_path, web.proxy_url, list(DEMO_SEEDS), *options)
        run = finish(proc, tmp_path / "out")
    assert run.returncode == 3, run.stderr[-3000:]
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith("error: 1 request refused because the opt-out service was unavailable")
    assert expected in line, line
    assert "Traceback" not in line
    assert read_access_log(access_log) == []  # nothing was fetched
    assert run.stats["compliance/deny/service.unavailable"] == 1


def test_a_killed_crawl_takes_its_service_along_and_loses_no_decision(tmp_path: Path) -> None:
    """SIGKILL leaves the crawl no chance to stop its child: the kernel's parent-death signal
    and the broken lifeline pipe end it. Every page the web served was allowed in the log
    first: the service commits each decision before it answers."""
    access_log = tmp_path / "access.jsonl"
    database = tmp_path / "optout.sqlite3"
    with DemoWebProcess(sites="delays", access_log=access_log) as web:
        proc = start_crawl(
            tmp_path,
            web.proxy_url,
            [f"http://{PATIENT_HOST}/"],
            "--job",
            "it-killed",
            "--db",
            str(database),
        )
        child = wait_for_service_child(proc)
        wait_for_pages(proc, access_log, PATIENT_HOST, 2)
        proc.kill()
        proc.communicate(timeout=30)
        took = wait_gone(child, timeout=15)
        access = read_access_log(access_log)
    assert took < 15
    log = [line for line in export_from(database, "it-killed") if '"type":"decision"' in line]
    allowed = {line.split('"url":"', 1)[1].split('"', 1)[0] for line in log if "allow" in line}
    hits = page_requests(access, PATIENT_HOST)
    assert hits
    for hit in hits:
        assert f"http://{hit.host}{hit.path}" in allowed, hit


def test_a_killed_service_fails_the_crawl_closed_and_its_log_is_whole(tmp_path: Path) -> None:
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="delays", access_log=access_log) as web:
        proc = start_crawl(
            tmp_path,
            web.proxy_url,
            [f"http://{PATIENT_HOST}/"],
            "--job",
            "it-service-killed",
            "--db",
            str(tmp_path / "optout.sqlite3"),
            "--set",
            "COMPLIANCE_SERVICE_RETRIES=1",
            "--set",
            "COMPLIANCE_SERVICE_BACKOFF=0.05",
        )
        child = wait_for_service_child(proc)
        wait_for_pages(proc, access_log, PATIENT_HOST, 2)
        os.kill(child, signal.SIGKILL)
        run = finish(proc, tmp_path / "out", timeout=60)
        access = read_access_log(access_log)
    assert run.returncode == 3, run.stderr[-3000:]
    assert "refused because the opt-out service was unavailable" in run.stderr
    assert [k for k in run.stats if k.endswith("/service.unavailable")], run.stats
    allowed = {d["url"] for d in run.decisions() if d["decision"] == "allow"}
    for hit in page_requests(access, PATIENT_HOST):
        assert f"http://{hit.host}{hit.path}" in allowed, hit
    kept = {o["decision_id"] for o in run.observations() if o["outcome"] == "keep"}
    for page in (run.output / "pages.jsonl").read_text().splitlines():
        assert json.loads(page)["decision_id"] in kept
    assert not (tmp_path / "out" / "decision-log.jsonl.partial").exists()


def test_ctrl_c_in_a_terminal_reaches_the_crawl_not_its_service(tmp_path: Path) -> None:
    """A terminal sends SIGINT to its whole foreground process group. The service is in a
    session of its own: it keeps answering through the crawl's graceful stop (the download in
    flight is observed and logged), and ends when the crawl is done with it."""
    access_log = tmp_path / "access.jsonl"
    with DemoWebProcess(sites="delays", access_log=access_log, extra_args=["--delay", "3"]) as web:
        proc = start_crawl(
            tmp_path,
            web.proxy_url,
            [f"http://{PATIENT_HOST}/"],
            "--job",
            "it-ctrl-c",
            "--db",
            str(tmp_path / "optout.sqlite3"),
            new_session=True,  # the crawl leads a process group, as in a terminal
        )
        child = wait_for_service_child(proc)
        assert os.getsid(child) != os.getsid(proc.pid)
        wait_for_pages(proc, access_log, PATIENT_HOST, 2)
        stopped_at = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
        run = finish(proc, tmp_path / "out", timeout=60)
        ended = time.monotonic() - stopped_at
    assert ended < 20, f"the crawl took {ended:.1f} s to stop"
    assert run.returncode == 130, run.stderr[-3000:]
    assert not [k for k in run.stats if "service.unavailable" in k], run.stats
    assert run.stats["finish_reason"] == "shutdown"
    # What was downloading when the signal came was still observed by the service.
    access = read_access_log(access_log)
    fetched = {f"http://{r.host}{r.path}" for r in page_requests(access, PATIENT_HOST)}
    observed = {o["url"] for o in run.observations()}
    assert fetched == observed
    assert not alive(child)


def test_serve_stops_when_its_lifeline_breaks(tmp_path: Path) -> None:
    """``serve --lifeline-fd``: the portable half of "the service ends with the crawl"."""
    read_end, write_end = os.pipe()
    socket = tmp_path / "s.sock"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "optout_service.cli",
            "serve",
            "--uds",
            str(socket),
            "--lifeline-fd",
            str(read_end),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "OPTOUT_DATABASE__URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        pass_fds=(read_end,),
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(read_end)
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        time.sleep(0.5)
        assert server.poll() is None  # an open lifeline keeps it serving
        os.close(write_end)
        write_end = -1
        server.wait(15)
    finally:
        if write_end >= 0:
            os.close(write_end)
        if server.poll() is None:
            server.kill()
        _, stderr = server.communicate(timeout=15)
    assert server.returncode == -signal.SIGTERM, stderr  # a graceful stop, as by SIGTERM


def test_serve_refuses_a_lifeline_it_cannot_watch(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "optout_service.cli", "serve", "--uds", "x", "--lifeline-fd", "99"],
        env={**os.environ, "OPTOUT_DATABASE__URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --lifeline-fd 99: Bad file descriptor"
