"""Embedded mode: the opt-out service in this process, reached over ASGI, lifespan run properly.

This is the only crawler module that imports ``optout_service``, and only when embedded mode
starts, so a crawler pointed at a served instance never loads the service's code.

``httpx.ASGITransport`` does not run an app's lifespan, so :class:`EmbeddedService` runs it: the
app's startup (migrations on SQLite, the policy-document fetcher, ...) completes before the first
call, and its shutdown runs when the crawl ends. The lifespan is entered and exited by one
dedicated task, because lifespans may hold task-bound resources (anyio cancel scopes, task
groups) that must be left from the task that entered them.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from types import TracebackType
from typing import Any

from crawler.optout_client import HttpOptOutClient

AppFactory = Callable[[dict[str, Any]], Any]


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, nested dictionaries merged rather than replaced."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def embedded_overrides(
    database_url: str, token: str, api_key: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """The service settings of an embedded run: ours first, ``extra`` merged over them.

    The API key is the one the crawler will use (scopes ``crawl`` for decisions and
    observations, ``audit`` for the export). An ``extra`` that names ``auth`` replaces nothing
    but the keys it names, so the embedded key stays unless ``auth.api_keys`` is given.
    """
    base: dict[str, Any] = {
        "database": {"url": database_url},
        "crawler": {"token": token},
        "auth": {"api_keys": [{"name": "embedded", "key": api_key, "scopes": ["crawl", "audit"]}]},
    }
    return deep_merge(base, extra)


def _service_app(overrides: dict[str, Any]) -> Any:
    from optout_service.config import Settings
    from optout_service.main import create_app

    return create_app(Settings(**overrides))


class EmbeddedService:
    """The service app in this process. :meth:`start` returns a client; :meth:`stop` shuts down.

    Also an async context manager: ``async with EmbeddedService(...) as client: ...``.
    ``app_factory`` (settings overrides -> ASGI app with ``router.lifespan_context``) replaces
    the real service, for tests.
    """

    def __init__(
        self,
        database_url: str,
        token: str,
        extra: dict[str, Any] | None = None,
        *,
        app_factory: AppFactory | None = None,
    ) -> None:
        self._api_key = secrets.token_urlsafe(32)
        self.overrides = embedded_overrides(database_url, token, self._api_key, extra or {})
        self._app_factory = app_factory or _service_app
        self._runner: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._client: HttpOptOutClient | None = None

    async def start(self, timeout: float = 30.0) -> HttpOptOutClient:
        """Build the app, run its startup, and return a client bound to it over ASGI."""
        if self._client is not None:
            return self._client
        app = self._app_factory(self.overrides)
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stopping = asyncio.Event()
        self._runner = asyncio.create_task(self._run_lifespan(app, started, self._stopping))
        try:
            await started  # the startup's own error, if it failed
        except BaseException:
            await self._finish()
            raise
        self._client = HttpOptOutClient.for_asgi_app(app, self._api_key, timeout=timeout)
        return self._client

    @staticmethod
    async def _run_lifespan(app: Any, started: asyncio.Future[None], stop: asyncio.Event) -> None:
        try:
            async with app.router.lifespan_context(app):
                started.set_result(None)
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                # Startup failed: the error goes to start(), not to the task.
                if isinstance(exc, Exception):
                    started.set_exception(exc)
                    return
                started.cancel()
            raise

    async def stop(self) -> None:
        """Close the client, then run the app's shutdown. Safe to call more than once."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        await self._finish()

    async def _finish(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        await asyncio.wait({runner})  # not `await runner`: our own cancellation stays ours
        if not runner.cancelled() and (error := runner.exception()) is not None:
            raise error

    async def __aenter__(self) -> HttpOptOutClient:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
