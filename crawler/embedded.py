"""Embedded mode: the opt-out service in this process, reached over ASGI, lifespan run properly.

This is the only crawler module that imports ``optout_service``, and only when embedded mode
starts (or its log is exported), so a crawler pointed at a served instance never loads the
service's code.

The service runs on **its own thread and event loop**, not on the crawl's:

- Its lifespan (migrations on SQLite, the policy-document fetcher, ...) is entered and left by
  one task of that loop, as lifespans holding task-bound resources (anyio cancel scopes, task
  groups) require; ``httpx.ASGITransport`` does not run lifespans, so :class:`EmbeddedService`
  does.
- The worker threads anyio starts for the service's database writes belong to that loop's main
  task and stop when it ends. They are also daemon threads (a thread inherits daemon status from
  the thread that starts it), so a crawl stopped abruptly (a second Ctrl-C stops Scrapy's loop
  with requests in flight) can never leave the interpreter waiting for them at exit.
- After Scrapy's loop has stopped, whatever way, the service's loop still runs, so the service
  can still be shut down cleanly (:func:`stop_running_services`) and everything it committed is
  in its database (SQLite in WAL mode keeps every committed transaction).

:func:`export_job_log` reads a job's decision log straight from that database, with the bytes
``GET /v1/audit/export`` would send.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from crawler.files import atomic_output
from crawler.optout_client import HttpOptOutClient

AppFactory = Callable[[dict[str, Any]], Any]

DEFAULT_DATABASE_URL = "sqlite:///var/optout.sqlite3"

logger = logging.getLogger(__name__)

_running: set[EmbeddedService] = set()
_running_lock = threading.Lock()


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


def effective_database_url(database_url: str, extra: dict[str, Any]) -> str:
    """The database an embedded service started with these settings uses (``extra`` wins)."""
    url = embedded_overrides(database_url or DEFAULT_DATABASE_URL, "ExampleBot", "", extra)
    return str(url["database"]["url"])


def quiet_alembic() -> None:
    """Keep Alembic's INFO lines ("Context impl SQLiteImpl", ...) out of the crawl's log.

    Only when nobody gave the ``alembic`` logger a level of its own.
    """
    alembic = logging.getLogger("alembic")
    if alembic.level == logging.NOTSET:
        alembic.setLevel(logging.WARNING)


def _service_app(overrides: dict[str, Any]) -> Any:
    from optout_service.config import Settings
    from optout_service.main import create_app

    return create_app(Settings(**overrides))


class EmbeddedService:
    """The service app on a thread of its own. :meth:`start` returns a client; :meth:`stop`
    shuts the service down.

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
        self._client: HttpOptOutClient | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: concurrent.futures.Future[asyncio.AbstractEventLoop] | None = None
        self._finished: concurrent.futures.Future[None] | None = None
        self._stop_requested = asyncio.Event()  # waited for and set on the service's loop only

    @property
    def database_url(self) -> str:
        return str(self.overrides["database"]["url"])

    async def start(self, timeout: float = 30.0) -> HttpOptOutClient:
        """Start the service's thread, run the app's startup there, return a client of it."""
        if self._client is not None:
            return self._client
        quiet_alembic()
        app = self._app_factory(self.overrides)
        started: concurrent.futures.Future[asyncio.AbstractEventLoop] = concurrent.futures.Future()
        self._started = started
        self._finished = concurrent.futures.Future()
        self._stop_requested = asyncio.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(app, self._started, self._finished),
            name="optout-embedded-service",
            daemon=True,
        )
        with _running_lock:
            _running.add(self)
        self._thread.start()
        try:
            await _settled(started)
            self._loop = started.result()  # the startup's own error, if it failed
        except BaseException:
            await self._finish()
            raise
        self._client = HttpOptOutClient.for_asgi_app(
            app, self._api_key, timeout=timeout, loop=self._loop
        )
        return self._client

    # on the service's thread ----------------------------------------------------------------
    def _run(
        self,
        app: Any,
        started: concurrent.futures.Future[asyncio.AbstractEventLoop],
        finished: concurrent.futures.Future[None],
    ) -> None:
        try:
            asyncio.run(self._serve(app, started))
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            finished.set_exception(exc)
        else:
            if not started.done():  # pragma: no cover - _serve always settles it
                started.set_exception(RuntimeError("the embedded service ended before starting"))
            finished.set_result(None)
        finally:
            with _running_lock:
                _running.discard(self)

    async def _serve(
        self, app: Any, started: concurrent.futures.Future[asyncio.AbstractEventLoop]
    ) -> None:
        try:
            async with app.router.lifespan_context(app):
                started.set_result(asyncio.get_running_loop())
                await self._stop_requested.wait()
        except BaseException as exc:
            if not started.done():
                # Startup failed: the error goes to start(), not to stop().
                started.set_exception(exc)
                return
            raise

    # from the crawl's side ------------------------------------------------------------------
    def _request_stop(self) -> None:
        loop, started = self._loop, self._started
        if (
            loop is None
            and started is not None
            and started.done()
            and not started.cancelled()
            and started.exception() is None
        ):
            loop = started.result()
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                loop.call_soon_threadsafe(self._stop_requested.set)

    async def stop(self) -> None:
        """Close the client, then run the app's shutdown. Safe to call more than once."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        await self._finish()

    async def _finish(self) -> None:
        started, finished = self._started, self._finished
        if started is None or finished is None:
            return
        await _settled(started)
        self._request_stop()
        await _settled(finished)
        self._started = self._finished = None
        self._loop = None
        if not finished.cancelled() and (error := finished.exception()) is not None:
            raise error

    def stop_blocking(self, timeout: float) -> bool:
        """Shut the service down from a thread that is not running an event loop.

        For after the crawl's loop has stopped. True when the service ended within
        ``timeout`` seconds (an error of its shutdown is logged, not raised).
        """
        finished = self._finished
        if finished is None:
            return True
        if self._started is not None:
            try:
                self._started.result(timeout)
            except concurrent.futures.TimeoutError:
                return False
            except BaseException:  # noqa: S110 - a failed startup: _run ends by itself
                pass
        self._request_stop()
        try:
            finished.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        except BaseException as exc:
            logger.error("the embedded opt-out service failed to shut down: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout)
        self._client = None
        self._started = self._finished = None
        self._loop = None
        return True

    async def __aenter__(self) -> HttpOptOutClient:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: asyncio does not report it as never retrieved


async def _settled(future: concurrent.futures.Future[Any]) -> None:
    """Wait until a future of another thread is done, without raising its error.

    Cancelling the waiter never cancels ``future``: the other thread still settles it.
    """
    wrapped = asyncio.wrap_future(future)
    wrapped.add_done_callback(_retrieve)
    await asyncio.wait({wrapped})


def stop_running_services(timeout: float = 10.0) -> bool:
    """Shut down every embedded service still running in this process; True if all ended.

    A crawl that was stopped abruptly never ran its spider_closed handlers; its service is
    stopped here, on the service's own loop, so its shutdown runs as usual.
    """
    with _running_lock:
        services = list(_running)
    ok = True
    for service in services:
        if not service.stop_blocking(timeout):
            logger.warning("the embedded opt-out service did not stop within %.0f s", timeout)
            ok = False
    return ok


def export_job_log(database_url: str, job: str, dest: Path) -> int:
    """Write the decision log of ``job`` from the embedded service's database to ``dest``.

    The same records, in the same order and with the same bytes, as ``GET /v1/audit/export
    ?format=jsonl&job=<job>``; returns how many. ``dest`` is replaced only when the whole export
    is written (:func:`crawler.files.atomic_output`). A SQLite database that does not exist (the
    service never started) has no records: ``dest`` is then an empty log, and no database file
    is created.
    """
    from sqlalchemy.engine import make_url

    from optout_service.config import DatabaseSettings
    from optout_service.db import Database
    from optout_service.repository import ExportFilter, Repository

    settings = DatabaseSettings(url=database_url)
    database: Database | None = None
    if settings.is_sqlite:
        name = make_url(settings.url).database
        exists = bool(name) and name != ":memory:" and Path(str(name)).is_file()
    else:
        exists = True
    count = 0
    with atomic_output(dest) as out:
        if exists:
            database = Database(settings)
            try:
                for record in Repository(database.sessions).iter_export(ExportFilter(job=job)):
                    out.write((json.dumps(record, separators=(",", ":")) + "\n").encode())
                    count += 1
            finally:
                database.dispose()
    return count
