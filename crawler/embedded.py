"""Embedded mode: the opt-out service started by the crawl itself, with a SQLite database.

Two ways to run it (``COMPLIANCE_EMBEDDED_MODE``):

``process`` (:class:`ServiceProcess`, the default)
    ``python -m optout_service.cli serve`` as a child process of the crawl, on a Unix domain
    socket in a private temporary directory, its settings given by ``OPTOUT_*`` variables. The
    crawl and the service then use a core each instead of sharing one interpreter lock. The
    child is tied to the crawl:

    - it is ready (``GET /readyz`` answers 200 over the socket) before the first request is
      decided; a child that exits first, or is not ready within its start timeout, fails
      :meth:`ServiceProcess.start` with the child's own one-line error;
    - it runs in a session of its own, so the Ctrl-C a terminal sends to the crawl's process
      group does not reach it: the crawl alone decides when it stops (after its graceful stop,
      whose last decisions must still be logged);
    - it is stopped with SIGTERM, and SIGKILL if it has not ended ``stop_timeout`` seconds
      later; everything it answered was committed first (the service commits before it
      answers, and SQLite's WAL keeps committed transactions even across SIGKILL);
    - it ends when the crawl's process dies, however: on Linux the kernel sends it SIGTERM
      (``PR_SET_PDEATHSIG``), and everywhere it watches a pipe whose only write end the crawl
      holds (``serve --lifeline-fd``): end of file means the crawl is gone.

``thread`` (:class:`EmbeddedService`)
    The service app in this process, on **its own thread and event loop**, reached over ASGI.
    It starts faster and needs no second interpreter, but shares this process's interpreter
    lock with the crawl.

    - Its lifespan (migrations on SQLite, the policy-document fetcher, ...) is entered and left
      by one task of that loop, as lifespans holding task-bound resources (anyio cancel scopes,
      task groups) require; ``httpx.ASGITransport`` does not run lifespans, so
      :class:`EmbeddedService` does.
    - The worker threads anyio starts for the service's database writes belong to that loop's
      main task and stop when it ends. They are also daemon threads (a thread inherits daemon
      status from the thread that starts it), so a crawl stopped abruptly (a second Ctrl-C
      stops Scrapy's loop with requests in flight) can never leave the interpreter waiting for
      them at exit.
    - After Scrapy's loop has stopped, whatever way, the service's loop still runs, so the
      service can still be shut down cleanly (:func:`stop_running_services`) and everything it
      committed is in its database (SQLite in WAL mode keeps every committed transaction).

This is the only crawler module that imports ``optout_service``, and only when thread mode
starts (or a log is exported), so a crawler pointed at a served instance, or running the
service as a process, never loads the service's code for the crawl.

:func:`export_job_log` reads a job's decision log straight from that database, with the bytes
``GET /v1/audit/export`` would send.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Protocol

from crawler.files import atomic_output
from crawler.optout_client import HttpOptOutClient

AppFactory = Callable[[dict[str, Any]], Any]
EmbeddedMode = Literal["process", "thread"]
EMBEDDED_MODES: tuple[EmbeddedMode, ...] = ("process", "thread")

DEFAULT_DATABASE_URL = "sqlite:///var/optout.sqlite3"

logger = logging.getLogger(__name__)


class _Stoppable(Protocol):
    def stop_blocking(self, timeout: float) -> bool: ...


_running: set[_Stoppable] = set()
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


class ServiceStartError(RuntimeError):
    """The embedded service did not start; the message says why in one line."""


# The service child's command, before its options: this interpreter, the service's CLI by
# module name (the crawler does not import the service to start it).
SERVE_COMMAND: tuple[str, ...] = (sys.executable, "-m", "optout_service.cli", "serve")
# How long an idle connection to the child stays open on each side. The client gives up on it
# first, so it never sends a request on a connection the server is closing.
SERVER_KEEP_ALIVE = 30
CLIENT_KEEP_ALIVE = 20.0
# Lines of the child's output kept to explain a failed start.
_OUTPUT_LINES = 50


def embedded_mode(value: object) -> EmbeddedMode:
    """``COMPLIANCE_EMBEDDED_MODE`` checked: "process" or "thread" (any case, spaces ignored)."""
    text = str(value or "").strip().lower()
    for mode in EMBEDDED_MODES:
        if text == mode:
            return mode
    raise ValueError(f"COMPLIANCE_EMBEDDED_MODE must be 'process' or 'thread', not {value!r}")


def _setting_leaves(
    settings: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in settings.items():
        if isinstance(value, Mapping):  # a group: its settings, if any
            yield from _setting_leaves(value, (*path, str(key)))
        else:
            yield (*path, str(key)), value


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value  # a plain text setting is read as it is
    if isinstance(value, Path):
        return str(value)
    return json.dumps(value, default=str)  # numbers, booleans, lists, objects: JSON


def service_environment(overrides: Mapping[str, Any], base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the crawl's environment) with ``overrides`` as ``OPTOUT_*`` variables.

    One variable per setting (``{"database": {"url": u}}`` is ``OPTOUT_DATABASE__URL=u``); text
    as it is, anything else as JSON. An inherited variable for an overridden setting, or for a
    part of it, is dropped, so the overrides win as they do in thread mode (where they are the
    settings' init arguments); a None override drops the variable (the setting's default).
    """
    env = dict(base)
    for path, value in _setting_leaves(overrides):
        name = "OPTOUT_" + "__".join(part.upper() for part in path)
        for key in [k for k in env if k.upper() == name or k.upper().startswith(name + "__")]:
            del env[key]
        if value is not None:
            env[name] = _env_value(value)
    return env


def _parent_death_signal() -> Callable[[], None] | None:
    """A hook for the child, between fork and exec: SIGTERM to it when this thread ends.

    Linux only (``prctl(PR_SET_PDEATHSIG)``). The kernel sends the signal when the *thread*
    that started the child ends, so only a child of the main thread gets it; the lifeline pipe
    covers every other case. The function is looked up here, before the fork, so the hook only
    makes the call.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    pr_set_pdeathsig = 1
    sigterm = int(signal.SIGTERM)

    def hook() -> None:
        prctl(pr_set_pdeathsig, sigterm, 0, 0, 0)

    return hook


_DIRECTORY_PREFIX = "optout-service-"


def _private_directory(base: Path | None = None) -> Path:
    """A new directory only this user can enter, for the service's socket.

    Named after this process (``optout-service-<pid>-<random>``), so that the directories of
    crawls that were killed before they could remove theirs are removed here. A Unix socket's
    path is limited to about 100 bytes: a long ``TMPDIR`` gives way to /tmp.
    """
    if base is None:
        base = Path(tempfile.gettempdir())
        if len(str(base)) > 60 and Path("/tmp").is_dir():  # noqa: S108 - mkdtemp makes it private
            base = Path("/tmp")  # noqa: S108
    _remove_stale_directories(base)
    return Path(tempfile.mkdtemp(prefix=f"{_DIRECTORY_PREFIX}{os.getpid()}-", dir=base))


def _remove_stale_directories(base: Path) -> None:
    """Remove this user's socket directories whose crawl process no longer exists."""
    for entry in base.glob(f"{_DIRECTORY_PREFIX}*-*"):
        pid = entry.name[len(_DIRECTORY_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # gone meanwhile, or a live process of another user
            continue


async def _until(done: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Wait without blocking the loop until ``done()``; False if ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


class ServiceProcess:
    """The service as a child process of this one, on a Unix domain socket (see the module
    docstring). :meth:`start` returns a client of it; :meth:`stop` ends it.

    ``command`` replaces ``SERVE_COMMAND`` (tests); the socket, lifeline and logging options
    are appended to it.
    """

    def __init__(
        self,
        database_url: str,
        token: str,
        extra: dict[str, Any] | None = None,
        *,
        command: Sequence[str] = SERVE_COMMAND,
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self._api_key = secrets.token_urlsafe(32)
        self.overrides = embedded_overrides(database_url, token, self._api_key, extra or {})
        self._command = list(command)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._client: HttpOptOutClient | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None  # the pipe's write end: held, never written
        self._directory: Path | None = None
        self._reader: threading.Thread | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=_OUTPUT_LINES)
        self._was_ready = False

    @property
    def database_url(self) -> str:
        return str(self.overrides["database"]["url"])

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (and after it ended, until :meth:`stop`)."""
        return self._process.pid if self._process is not None else None

    @property
    def socket_path(self) -> Path | None:
        return self._directory / "service.sock" if self._directory is not None else None

    async def start(self, timeout: float = 30.0) -> HttpOptOutClient:
        """Start the child, wait until it is ready, return a client of it.

        ``timeout`` is the client's timeout per call. Raises :class:`ServiceStartError` when the
        child exits first (with its own error line) or is not ready in ``start_timeout`` s.
        """
        if self._client is not None:
            return self._client
        self._spawn()
        socket_path = self.socket_path
        assert socket_path is not None
        client = HttpOptOutClient.for_unix_socket(
            socket_path, self._api_key, timeout=timeout, keepalive_expiry=CLIENT_KEEP_ALIVE
        )
        try:
            await self._wait_ready(client)
        except BaseException:
            await client.aclose()
            await self._end(self.stop_timeout)
            raise
        self._client = client
        self._was_ready = True
        return client

    def _spawn(self) -> None:
        directory = _private_directory()
        read_end, write_end = os.pipe()  # neither is inherited unless passed
        command = [
            *self._command,
            "--uds",
            str(directory / "service.sock"),
            "--lifeline-fd",
            str(read_end),
            "--log-level",
            "warning",
            "--timeout-keep-alive",
            str(SERVER_KEEP_ALIVE),
        ]
        try:
            process = subprocess.Popen(
                command,
                env=service_environment(self.overrides, os.environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(read_end,),
                start_new_session=True,
                preexec_fn=_parent_death_signal(),  # it only calls prctl
            )
        except BaseException:
            os.close(write_end)
            shutil.rmtree(directory, ignore_errors=True)
            raise
        finally:
            os.close(read_end)
        self._process, self._lifeline, self._directory = process, write_end, directory
        self._output.clear()
        assert process.stdout is not None
        self._reader = threading.Thread(
            target=self._forward_output,
            args=(process.stdout,),
            name="optout-service-output",
            daemon=True,
        )
        self._reader.start()
        with _running_lock:
            _running.add(self)
        logger.info(
            "opt-out service started: process %d, socket %s", process.pid, self.socket_path
        )

    def _forward_output(self, stream: IO[bytes]) -> None:
        """The child's stdout and stderr, line by line, into this process's log."""
        with stream:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip()
                if not line.strip():
                    continue
                self._output.append(line)
                level = logging.ERROR if line.lower().startswith("error") else logging.WARNING
                logger.log(level, "opt-out service: %s", line)

    async def _wait_ready(self, client: HttpOptOutClient) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            if process.poll() is not None:
                await self._output_read()  # its last words arrive just after it ended
                raise ServiceStartError(
                    f"the opt-out service process exited with status {process.returncode}"
                    f" before it was ready: {self._error_line()}"
                )
            if await client.ready():
                return
            if time.monotonic() >= deadline:
                raise ServiceStartError(
                    f"the opt-out service process was not ready within {self.start_timeout:g} s"
                    f" (last output: {self._error_line()})"
                )
            await asyncio.sleep(0.02)

    async def _output_read(self, timeout: float = 2.0) -> None:
        reader = self._reader
        if reader is not None:
            await _until(lambda: not reader.is_alive(), timeout)

    def _error_line(self) -> str:
        """The line of the child's output that says best why it failed."""
        lines = [line.strip() for line in self._output]
        for line in lines:
            if line.startswith("error: "):
                return line[len("error: ") :]
        # A traceback ends with "SomeError: what"; uvicorn adds a line of its own after it.
        for line in reversed(lines):
            name = line.split(":", 1)[0]
            dotted = name.replace(".", "").replace("_", "")
            if ":" in line and dotted.isalnum() and name.endswith(("Error", "Exception")):
                return line
        return lines[-1] if lines else "no output"

    # stopping -------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Close the client, then end the child (SIGTERM, then SIGKILL). Safe to call again."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        await self._end(self.stop_timeout)

    async def _end(self, timeout: float) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            if not await _until(lambda: process.poll() is not None, timeout):
                logger.warning(
                    "the opt-out service process did not stop within %g s of SIGTERM: killing it",
                    timeout,
                )
                process.kill()
                await _until(lambda: process.poll() is not None, 10.0)
        await self._output_read()
        self._cleanup()

    def stop_blocking(self, timeout: float) -> bool:
        """End the child from a thread that is not running an event loop (after the crawl's
        loop has stopped). True when it ended within ``timeout`` s of SIGTERM."""
        self._client = None  # its connections belonged to the stopped loop
        process = self._process
        if process is None:
            return True
        clean = True
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                clean = False
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10.0)
        if self._reader is not None:
            self._reader.join(2.0)
        self._cleanup()
        return clean

    def _cleanup(self) -> None:
        process = self._process
        if (
            self._was_ready
            and process is not None
            and process.returncode not in (None, 0, -signal.SIGTERM, -signal.SIGKILL)
        ):
            logger.warning("the opt-out service process ended with status %s", process.returncode)
        self._was_ready = False
        if self._lifeline is not None:
            os.close(self._lifeline)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._process = self._reader = None
        self._lifeline = self._directory = None
        with _running_lock:
            _running.discard(self)

    async def __aenter__(self) -> HttpOptOutClient:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def embedded_service(
    mode: EmbeddedMode, database_url: str, token: str, extra: dict[str, Any] | None = None
) -> EmbeddedService | ServiceProcess:
    """The embedded service of ``mode`` (not started yet)."""
    if mode == "thread":
        return EmbeddedService(database_url, token, extra)
    return ServiceProcess(database_url, token, extra)


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
