"""EmbeddedService over a stand-in ASGI app: lifespan run around the calls, key handed over,
on a thread of its own; the direct export of its log."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import pytest

from crawler.embedded import EmbeddedService, export_job_log, stop_running_services
from crawler.optout_client import ServiceError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class StandInApp:
    """Answers POST /v1/decisions with allow-all, if its lifespan has started."""

    def __init__(self, overrides: dict[str, Any], *, fail_startup: bool = False) -> None:
        self.overrides = overrides
        self.events: list[str] = []
        self.running = False
        self.fail_startup = fail_startup
        self.lifespan_tasks: list[asyncio.Task[Any] | None] = []
        self.router = SimpleNamespace(lifespan_context=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        self.lifespan_tasks.append(asyncio.current_task())
        self.events.append("startup")
        if self.fail_startup:
            raise RuntimeError("migration failed")
        self.running = True
        try:
            yield
        finally:
            self.running = False
            self.lifespan_tasks.append(asyncio.current_task())
            self.events.append("shutdown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        key = self.overrides["auth"]["api_keys"][0]["key"]
        answer: dict[str, Any]
        if not self.running or headers.get(b"authorization") != f"Bearer {key}".encode():
            status, answer = 503 if not self.running else 401, {"detail": "no"}
        else:
            self.events.append("decide")
            urls = json.loads(body)["urls"]
            status = 200
            answer = {
                "decisions": [
                    {
                        "id": f"d{i}",
                        "url": u,
                        "decision": "allow",
                        "reasons": ["robots.allowed"],
                        "crawl_delay": None,
                    }
                    for i, u in enumerate(urls)
                ]
            }
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def test_the_lifespan_runs_around_the_calls_in_one_task() -> None:
    apps: list[StandInApp] = []

    def factory(overrides: dict[str, Any]) -> StandInApp:
        apps.append(StandInApp(overrides))
        return apps[-1]

    service = EmbeddedService(
        "sqlite:///x.sqlite3",
        "OurBot",
        {"fetch": {"allow_private_networks": True}},
        app_factory=factory,
    )
    async with service as client:
        (decision,) = await client.decide("OurBot", "job", ["http://a.test/"])
        assert decision.decision == "allow"
    (app,) = apps
    assert app.events == ["startup", "decide", "shutdown"]
    # Entered and left by the same task, not by the callers of start() and stop().
    assert app.lifespan_tasks[0] is app.lifespan_tasks[1]
    assert app.lifespan_tasks[0] is not asyncio.current_task()
    assert app.overrides["crawler"] == {"token": "OurBot"}
    assert app.overrides["fetch"] == {"allow_private_networks": True}
    assert app.overrides["auth"]["api_keys"][0]["scopes"] == ["crawl", "audit"]
    await service.stop()  # a second stop is harmless
    assert app.events.count("shutdown") == 1


async def test_a_failed_startup_is_raised_by_start() -> None:
    apps: list[StandInApp] = []

    def factory(overrides: dict[str, Any]) -> StandInApp:
        apps.append(StandInApp(overrides, fail_startup=True))
        return apps[-1]

    service = EmbeddedService("sqlite:///x.sqlite3", "OurBot", app_factory=factory)
    with pytest.raises(RuntimeError, match="migration failed"):
        await service.start()
    await service.stop()
    assert apps[0].events == ["startup"]


def test_every_embedded_service_gets_its_own_random_key() -> None:
    keys = {
        EmbeddedService("sqlite://", "Bot").overrides["auth"]["api_keys"][0]["key"]
        for _ in range(3)
    }
    assert len(keys) == 3
    assert all(len(k) >= 32 for k in keys)


class ThreadReportingApp(StandInApp):
    """Also records, in its lifespan, the thread it runs on and what anyio's worker threads are."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        super().__init__(overrides)
        self.lifespan_thread: threading.Thread | None = None
        self.worker_daemon: bool | None = None

    @asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        self.lifespan_thread = threading.current_thread()
        # What the service's database writes do: anyio.to_thread from the app's loop.
        worker = await anyio.to_thread.run_sync(threading.current_thread)
        self.worker_daemon = worker.daemon
        async with super()._lifespan(app):
            yield


async def test_the_service_runs_on_its_own_thread_and_its_workers_cannot_block_exit() -> None:
    apps: list[ThreadReportingApp] = []

    def factory(overrides: dict[str, Any]) -> ThreadReportingApp:
        apps.append(ThreadReportingApp(overrides))
        return apps[-1]

    async with EmbeddedService("sqlite://", "Bot", app_factory=factory) as client:
        (decision,) = await client.decide("Bot", "job", ["http://a.test/"])
        assert decision.decision == "allow"
    (app,) = apps
    assert app.lifespan_thread is not None
    assert app.lifespan_thread is not threading.current_thread()
    assert app.lifespan_thread.daemon
    assert app.worker_daemon is True
    await asyncio.to_thread(app.lifespan_thread.join, 10)
    assert not app.lifespan_thread.is_alive()  # ended with the service


def test_a_service_left_running_by_a_dead_loop_is_shut_down_properly() -> None:
    """What a forced stop leaves: the crawl's loop is gone, the service still runs."""
    apps: list[StandInApp] = []

    def factory(overrides: dict[str, Any]) -> StandInApp:
        apps.append(StandInApp(overrides))
        return apps[-1]

    service = EmbeddedService("sqlite://", "Bot", app_factory=factory)

    async def crawl_then_vanish() -> None:
        client = await service.start()
        await client.decide("Bot", "job", ["http://a.test/"])

    asyncio.run(crawl_then_vanish())  # never stopped from its loop
    (app,) = apps
    assert app.running
    assert stop_running_services(timeout=10)
    assert app.events == ["startup", "decide", "shutdown"]
    assert stop_running_services(timeout=10)  # nothing left to stop


async def test_a_call_after_the_service_stopped_fails_like_a_refused_connection() -> None:
    service = EmbeddedService("sqlite://", "Bot", app_factory=StandInApp)
    client = await service.start()
    assert service.stop_blocking(timeout=10)  # from outside, as the runner does
    with pytest.raises(ServiceError):
        await client.decide("Bot", "job", ["http://a.test/"])
    await client.aclose()


def test_exporting_from_a_database_that_does_not_exist_writes_an_empty_log(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "out" / "decision-log.jsonl"
    assert export_job_log(f"sqlite:///{tmp_path / 'never.sqlite3'}", "job", dest) == 0
    assert dest.read_bytes() == b""
    assert not (tmp_path / "never.sqlite3").exists()


def partials(directory: Path) -> list[Path]:
    return list(directory.glob("*.partial"))


async def test_the_direct_export_has_the_bytes_of_the_service_export(tmp_path: Path) -> None:
    from piracy_lists import demo_list_path

    database = f"sqlite:///{tmp_path / 'optout.sqlite3'}"
    service = EmbeddedService(
        database, "ExampleBot", {"piracy": {"lists": [str(demo_list_path())]}}
    )
    client = await service.start()
    try:
        # Piracy-listed hosts: decided and logged without contacting anything.
        urls = [f"http://streamvault-free.to/{i}" for i in range(5)]
        await client.decide("ExampleBot", "job-a", urls)
        await client.decide("ExampleBot", "job-b", urls[:2])
        over_http = await client.export_log("job-a", tmp_path / "http.jsonl")
    finally:
        await service.stop()
    direct = export_job_log(database, "job-a", tmp_path / "direct.jsonl")
    assert direct == over_http == 5
    assert (tmp_path / "direct.jsonl").read_bytes() == (tmp_path / "http.jsonl").read_bytes()
    assert not partials(tmp_path)
