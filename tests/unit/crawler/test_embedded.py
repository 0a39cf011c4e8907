"""EmbeddedService over a stand-in ASGI app: lifespan run around the calls, key handed over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from crawler.embedded import EmbeddedService

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
