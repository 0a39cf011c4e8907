"""ServiceProcess: the embedded service as a child process, over a stand-in server.

The stand-in (``standin_service.py``) takes the options the crawler gives ``serve``; the real
service as a child of real crawls is tested in tests/integration/test_service_process.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.embedded import (
    ServiceProcess,
    ServiceStartError,
    embedded_mode,
    embedded_service,
    service_environment,
    stop_running_services,
)
from crawler.runner import CrawlConfig, scrapy_settings
from crawler.settings import defaults

STANDIN = Path(__file__).with_name("standin_service.py")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Unix domain sockets and sessions")


def standin(behaviour: str, **kwargs: Any) -> ServiceProcess:
    return ServiceProcess(
        "sqlite:///x.sqlite3",
        "OurBot",
        {"fetch": {"allow_private_networks": True}},
        command=[sys.executable, str(STANDIN), behaviour],
        **kwargs,
    )


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# the child's settings --------------------------------------------------------------------------
def test_overrides_become_one_optout_variable_each_text_as_is_the_rest_as_json() -> None:
    env = service_environment(
        {
            "database": {"url": "sqlite:///var/x.sqlite3"},
            "crawler": {"token": "OurBot"},
            "fetch": {"allow_private_networks": True, "read_timeout": 2.5},
            "piracy": {"lists": [Path("/lists/a.toml")]},
            "auth": {"api_keys": [{"name": "embedded", "key": "k", "scopes": ["crawl"]}]},
        },
        {"PATH": "/bin"},
    )
    assert env == {
        "PATH": "/bin",
        "OPTOUT_DATABASE__URL": "sqlite:///var/x.sqlite3",
        "OPTOUT_CRAWLER__TOKEN": "OurBot",
        "OPTOUT_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
        "OPTOUT_FETCH__READ_TIMEOUT": "2.5",
        "OPTOUT_PIRACY__LISTS": '["/lists/a.toml"]',
        "OPTOUT_AUTH__API_KEYS": '[{"name": "embedded", "key": "k", "scopes": ["crawl"]}]',
    }


def test_an_inherited_variable_never_wins_over_an_override() -> None:
    env = service_environment(
        {"fetch": {"allow_private_networks": True, "user_agent": None}, "robots": {}},
        {
            "OPTOUT_FETCH__ALLOW_PRIVATE_NETWORKS": "false",
            "optout_fetch__user_agent": "Inherited/1.0",
            "OPTOUT_FETCH__READ_TIMEOUT": "3",  # not overridden: kept
            "OPTOUT_FETCH": '{"allow_private_networks": false}',  # a nested variable wins
            "OPTOUT_ROBOTS__CACHE_SECONDS": "60",  # an empty group overrides nothing
        },
    )
    assert env == {
        "OPTOUT_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
        "OPTOUT_FETCH__READ_TIMEOUT": "3",
        "OPTOUT_FETCH": '{"allow_private_networks": false}',
        "OPTOUT_ROBOTS__CACHE_SECONDS": "60",
    }


def test_the_real_service_settings_read_the_variables_as_thread_mode_would() -> None:
    from optout_service.config import Settings

    overrides = ServiceProcess(
        "sqlite:///var/x.sqlite3",
        "OurBot",
        {"fetch": {"allow_private_networks": True}, "piracy": {"lists": ["/l.toml"]}},
    ).overrides
    env = service_environment(overrides, {"OPTOUT_FETCH__ALLOW_PRIVATE_NETWORKS": "0"})
    old = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        from_env = Settings()
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert from_env == Settings(**overrides)


def test_the_mode_setting() -> None:
    assert defaults()["COMPLIANCE_EMBEDDED_MODE"] == "process"
    assert embedded_mode(" Thread ") == "thread"
    assert embedded_mode("process") == "process"
    with pytest.raises(ValueError, match="'process' or 'thread', not 'fork'"):
        embedded_mode("fork")
    assert isinstance(embedded_service("process", "sqlite://", "Bot"), ServiceProcess)
    assert not isinstance(embedded_service("thread", "sqlite://", "Bot"), ServiceProcess)


def test_optout_crawl_embedded_option_becomes_the_setting(tmp_path: Path) -> None:
    config = CrawlConfig(["http://a.test/"], "j", tmp_path, embedded_mode="thread")
    assert scrapy_settings(config)["COMPLIANCE_EMBEDDED_MODE"] == "thread"
    # Not given: the add-on's default applies.
    assert "COMPLIANCE_EMBEDDED_MODE" not in scrapy_settings(CrawlConfig(["x"], "j", tmp_path))


def test_optout_crawl_embedded_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from crawler import cli

    seen: list[CrawlConfig] = []

    def fake_run(config: CrawlConfig) -> Any:
        seen.append(config)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_crawl", fake_run)
    monkeypatch.delenv("COMPLIANCE_SERVICE_URL", raising=False)
    runner = CliRunner()
    runner.invoke(cli.app, ["http://a.test/", "--embedded", "thread"])
    runner.invoke(cli.app, ["http://a.test/"])
    assert [c.embedded_mode for c in seen] == ["thread", None]
    assert runner.invoke(cli.app, ["http://a.test/", "--embedded", "fork"]).exit_code == 2


# the child's life ------------------------------------------------------------------------------
async def test_the_child_is_ready_before_start_returns_and_gone_after_stop(tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    os.environ["STANDIN_ENV_FILE"] = str(env_file)
    try:
        service = standin("ok")
        client = await service.start(timeout=5)
    finally:
        del os.environ["STANDIN_ENV_FILE"]
    pid, socket = service.pid, service.socket_path
    assert pid is not None
    assert socket is not None
    assert socket.exists()
    assert socket.parent.stat().st_mode & 0o777 == 0o700  # only this user reaches the socket
    # The first call needs no waiting: the child answered /readyz already.
    (decision,) = await client.decide("OurBot", "job", ["http://a.test/"])
    assert decision.decision == "allow"
    # Its own session: a terminal's Ctrl-C to the crawl's process group does not reach it.
    assert os.getsid(pid) == pid != os.getsid(0)
    assert os.getpgid(pid) != os.getpgid(0)
    env = json.loads(env_file.read_text())
    assert env["OPTOUT_DATABASE__URL"] == "sqlite:///x.sqlite3"
    assert env["OPTOUT_FETCH__ALLOW_PRIVATE_NETWORKS"] == "true"
    (key,) = json.loads(env["OPTOUT_AUTH__API_KEYS"])
    assert key["scopes"] == ["crawl", "audit"]
    assert len(key["key"]) >= 32
    await service.stop()
    assert not running(pid)
    assert not socket.parent.exists()
    assert service.pid is None
    await service.stop()  # a second stop is harmless


async def test_calls_share_one_kept_alive_connection() -> None:
    service = standin("ok")
    client = await service.start(timeout=5)
    try:
        for n in range(20):
            await client.decide("OurBot", "job", [f"http://a.test/{n}"])
        answer = await client._client.get("/readyz")
        assert answer.json()["connections"] == 1  # the readiness probe's, reused ever since
    finally:
        await service.stop()


async def test_a_child_that_fails_to_start_is_reported_in_its_own_words() -> None:
    service = standin("fail")
    with pytest.raises(ServiceStartError) as raised:
        await service.start()
    assert str(raised.value) == (
        "the opt-out service process exited with status 1 before it was ready:"
        " database: unable to open database file"
    )
    assert service.pid is None  # cleaned up


async def test_a_child_never_ready_is_killed_after_the_start_timeout() -> None:
    service = standin("never-ready", start_timeout=1.0, stop_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ServiceStartError, match="not ready within 1 s"):
        await service.start()
    assert time.monotonic() - started < 10
    assert service.pid is None


async def test_a_child_ignoring_sigterm_is_killed_after_the_stop_timeout() -> None:
    service = standin("stubborn", stop_timeout=0.5)
    await service.start()
    pid = service.pid
    assert pid is not None
    started = time.monotonic()
    await service.stop()
    assert time.monotonic() - started < 5
    assert not running(pid)


def test_a_child_left_running_by_a_dead_loop_is_stopped_from_outside_any_loop() -> None:
    service = standin("stubborn", stop_timeout=0.5)

    async def start_then_leave() -> None:
        client = await service.start()
        await client.aclose()  # (its sockets: a test may leave nothing open)

    asyncio.run(start_then_leave())  # that loop is gone; the child is not
    pid = service.pid
    assert pid is not None
    assert running(pid)
    assert stop_running_services(timeout=0.5) is False  # needed SIGKILL
    assert not running(pid)
    assert stop_running_services(timeout=0.5) is True  # nothing left


async def test_the_lifeline_is_the_only_write_end_and_the_child_ends_when_it_closes() -> None:
    service = standin("ok")
    await service.start()
    pid, lifeline = service.pid, service._lifeline
    assert pid is not None
    assert lifeline is not None
    assert not os.get_inheritable(lifeline)  # no other child of the crawl holds it open
    os.close(lifeline)  # as the kernel does when the crawl dies
    service._lifeline = None
    deadline = time.monotonic() + 15
    while service._process is not None and service._process.poll() is None:
        assert time.monotonic() < deadline, "the child outlived its lifeline"
        await asyncio.sleep(0.05)
    await service.stop()
    assert not running(pid)


def test_socket_directories_of_dead_crawls_are_removed(tmp_path: Path) -> None:
    import subprocess

    from crawler.embedded import _private_directory

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = tmp_path / f"optout-service-{ended.pid}-abc"
    live = tmp_path / f"optout-service-{os.getpid()}-def"
    other = tmp_path / "optout-service-notapid-x"
    for directory in (stale, live, other):
        directory.mkdir()
        (directory / "service.sock").touch()
    mine = _private_directory(tmp_path)
    assert mine.name.startswith(f"optout-service-{os.getpid()}-")
    assert mine.stat().st_mode & 0o777 == 0o700
    assert not stale.exists()
    assert live.exists()
    assert other.exists()


def test_the_error_line_of_a_traceback_is_its_last_exception() -> None:
    service = standin("ok")
    service._output.extend(
        [
            "ERROR:    Traceback (most recent call last):",
            '  File "x.py", line 1, in <module>',
            "sqlite3.OperationalError: unable to open database file",
            "ERROR:    Application startup failed. Exiting.",
        ]
    )
    assert service._error_line() == "sqlite3.OperationalError: unable to open database file"


CRAWL_THAT_DIES = """
import asyncio, sys, time
sys.path.insert(0, {root!r})
from crawler.embedded import ServiceProcess
service = ServiceProcess("sqlite://", "Bot", command=[sys.executable, {standin!r}, "report"])
asyncio.run(service.start())
print(service.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_on_linux_the_kernel_sends_sigterm_to_the_child_when_the_crawl_is_killed(
    tmp_path: Path,
) -> None:
    """The stand-in's ``report`` behaviour writes what ended it: SIGTERM, or (3 s after the
    lifeline broke, time enough for a signal to come first) the lifeline."""
    import subprocess

    report = tmp_path / "report.txt"
    root = str(Path(__file__).resolve().parents[3])
    crawl = subprocess.Popen(
        [sys.executable, "-c", CRAWL_THAT_DIES.format(root=root, standin=str(STANDIN))],
        env={**os.environ, "STANDIN_REPORT_FILE": str(report)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert crawl.stdout is not None
        pid = int(crawl.stdout.readline())
        assert running(pid)
        crawl.kill()
        crawl.wait(10)
        deadline = time.monotonic() + 15
        while not report.exists() or not report.read_text():
            assert time.monotonic() < deadline, "the child outlived the crawl"
            time.sleep(0.05)
        assert report.read_text() == "SIGTERM"
    finally:
        crawl.kill()
        crawl.wait(10)
        if crawl.stdout is not None:
            crawl.stdout.close()
