"""A local web of many virtual hosts on one loopback port, which is also an HTTP forward proxy.

A client that uses it as its proxy sends absolute-form targets (``GET http://host/path``); the
host is taken from there, otherwise from the ``Host`` header. Nothing is ever forwarded: a host
that is not part of the demo web gets a 502 and ``CONNECT`` gets a 501. Every request is appended
to an access log (one JSON line, written and flushed at once) so tests can check what reached the
"sites" while the server runs.

    python -m crawler.demo.web --sites demo|bench|slow|delays [--hosts N] [--pages M] [--delay S]
                               [--host 127.0.0.1] [--port 0] [--access-log FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from crawler.demo.sites import (
    Route,
    Site,
    delay_sites,
    demo_sites,
    generated_sites,
    html_page,
    slow_sites,
    with_delay,
)

__all__ = ["MAX_HEADER_BYTES", "MAX_HEADER_LINES", "DemoWeb", "main"]

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINES = 100
MAX_BODY_BYTES = 1024 * 1024
SERVER = "demo-web"

logger = logging.getLogger(__name__)

_TOKEN_CHARS = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _is_token(value: bytes) -> bool:
    return bool(value) and all(c in _TOKEN_CHARS for c in value)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A route turned into bytes once: the head without Date/Connection, and the body."""

    status: int
    head: bytes
    body: bytes
    delay: float


def _prepare(route: Route) -> _Prepared:
    body = route.body_bytes
    lines = [
        f"HTTP/1.1 {route.status} {_reason(route.status)}",
        f"Server: {SERVER}",
        f"Content-Type: {route.content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in route.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
    return _Prepared(route.status, head, body, route.delay)


def _text_route(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Route:
    return Route(
        status=status,
        body=text + "\n",
        content_type="text/plain; charset=utf-8",
        headers=headers,
    )


_NOT_FOUND = _prepare(
    Route(status=404, body=html_page("Not found", "There is no such page on this site."))
)
_CONNECT = _prepare(_text_route(501, "CONNECT is not supported: the demo web serves plain HTTP"))
_METHOD = _prepare(_text_route(405, "only GET and HEAD are supported", (("Allow", "GET, HEAD"),)))


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    target: str
    version: bytes
    headers: dict[str, str]
    keep_alive: bool


def _parse_head(head: bytes) -> _Request:
    """Parse a request line and header block (without the blank line). Raises ``_BadRequest``."""
    lines = head.split(b"\r\n")
    if len(lines) > MAX_HEADER_LINES + 1:
        raise _BadRequest(431, "too many header lines")
    request_line = lines[0]
    parts = request_line.split(b" ")
    if len(parts) != 3:
        raise _BadRequest(400, "malformed request line")
    method, target, version = parts
    if not _is_token(method) or version not in _VERSIONS:
        raise _BadRequest(400, "malformed request line")
    if not target or any(c <= 0x20 or c == 0x7F for c in target):
        raise _BadRequest(400, "malformed request target")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        # No obs-fold, no whitespace before the colon (RFC 9112 section 5).
        if not colon or not _is_token(name):
            raise _BadRequest(400, "malformed header line")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    tokens = {
        t.strip().lower()
        for h in ("connection", "proxy-connection")
        for t in headers.get(h, "").split(",")
    }
    if version == b"HTTP/1.1":
        keep_alive = "close" not in tokens
    else:
        keep_alive = "keep-alive" in tokens and "close" not in tokens
    return _Request(method.decode("ascii"), target.decode("latin-1"), version, headers, keep_alive)


def _strip_port(authority: str) -> str:
    authority = authority.strip().lower()
    if authority.startswith("["):
        end = authority.find("]")
        return authority[: end + 1] if end > 0 else authority
    host, colon, port = authority.rpartition(":")
    if colon and (port.isdigit() or not port):
        authority = host
    return authority.rstrip(".")


def _resolve(request: _Request) -> tuple[str, str, bool]:
    """(host, path+query, proxy) of a request. Raises ``_BadRequest``."""
    target = request.target
    if request.method == "CONNECT":
        return _strip_port(target), "", True
    if target[:7].lower() == "http://" or target[:8].lower() == "https://":
        try:
            parts = urlsplit(target)
            host = parts.hostname or ""
        except ValueError as exc:
            raise _BadRequest(400, "malformed absolute URL") from exc
        if not host:
            raise _BadRequest(400, "absolute URL without a host")
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        return host.lower().rstrip("."), path, True
    if not target.startswith("/"):
        raise _BadRequest(400, "request target must be a path or an absolute http URL")
    host_header = request.headers.get("host")
    if host_header is None or "," in host_header:
        if request.version == b"HTTP/1.1":
            raise _BadRequest(400, "exactly one Host header is required")
        host_header = ""
    return _strip_port(host_header), target, False


class _Connection(asyncio.Protocol):
    """One client connection: parses pipelined requests in order, answers each in turn."""

    def __init__(self, web: DemoWeb) -> None:
        self._web = web
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._discard = 0  # request body bytes still to skip
        self._timer: asyncio.TimerHandle | None = None  # a delayed answer in flight
        self._write_paused = False
        self._read_paused = False
        self._closed = False
        self._eof = False

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._web._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._web._connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._buffer.clear()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._run()

    def eof_received(self) -> bool | None:
        # Answer what was already received (a delayed answer may be pending), then close.
        self._eof = True
        self._run()
        return True

    def pause_writing(self) -> None:
        self._write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._resume_reading()
        self._run()

    # internals

    def close(self) -> None:
        if not self._closed and self._transport is not None:
            self._closed = True
            self._transport.close()

    def _pause_reading(self) -> None:
        if not self._read_paused and self._transport is not None and not self._closed:
            self._read_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._read_paused and self._transport is not None and not self._closed:
            self._read_paused = False
            self._transport.resume_reading()

    def _run(self) -> None:
        try:
            self._process()
        except Exception:  # never let one connection take the server down
            logger.exception("demo web: internal error")
            self._fail(500, "internal error")

    def _process(self) -> None:
        self._consume()
        if self._timer is not None and len(self._buffer) > MAX_HEADER_BYTES:
            self._pause_reading()  # a pipelining client must wait for the delayed answer
        elif self._eof and self._timer is None and not self._write_paused:
            self.close()  # the client has sent everything and has had every answer

    def _consume(self) -> None:
        """Answer every complete request in the buffer, in order, until one must wait."""
        while not self._closed and self._timer is None and not self._write_paused:
            if self._discard:
                dropped = min(self._discard, len(self._buffer))
                del self._buffer[:dropped]
                self._discard -= dropped
                if self._discard:
                    return
            while self._buffer.startswith(b"\r\n"):  # RFC 9112 2.2: ignore leading CRLFs
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                self._check_partial()
                return
            if end > MAX_HEADER_BYTES:
                self._fail(431, "request header too large")
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            try:
                request = _parse_head(head)
                host, path, proxy = _resolve(request)
                length = self._body_length(request)
            except _BadRequest as bad:
                self._fail(bad.status, bad.message)
                return
            self._discard = length
            self._handle(request, host, path, proxy)

    def _check_partial(self) -> None:
        if len(self._buffer) > MAX_HEADER_BYTES:
            self._fail(431, "request header too large")
            return
        # Reject a garbage request line early instead of waiting for a blank line.
        newline = self._buffer.find(b"\n")
        if newline >= 0:
            line = bytes(self._buffer[:newline])
            parts = line.rstrip(b"\r").split(b" ")
            if (
                not line.endswith(b"\r")
                or len(parts) != 3
                or not _is_token(parts[0])
                or parts[2] not in _VERSIONS
            ):
                self._fail(400, "malformed request line")

    @staticmethod
    def _body_length(request: _Request) -> int:
        if "transfer-encoding" in request.headers:
            if request.method in ("GET", "HEAD"):
                raise _BadRequest(400, "a body is not expected")
            return 0  # the connection is closed after the 405 anyway
        raw = request.headers.get("content-length", "0").strip()
        if not raw.isdigit() or len(raw) > 12:
            raise _BadRequest(400, "bad Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, "request body too large")
        return length

    def _handle(self, request: _Request, host: str, path: str, proxy: bool) -> None:
        method = request.method
        keep_alive = request.keep_alive
        if method == "CONNECT":
            prepared, keep_alive = _CONNECT, False
        elif method not in ("GET", "HEAD"):
            prepared, keep_alive = _METHOD, False
        else:
            routes = self._web._prepared.get(host)
            if routes is None:
                prepared = self._web._unknown_host(host)
            else:
                prepared = routes.get(path.partition("?")[0], _NOT_FOUND)
        self._web._record(host, path, method, prepared.status, proxy, request.headers)
        send_body = method != "HEAD"
        if prepared.delay > 0:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(
                prepared.delay, self._answer_later, prepared, send_body, keep_alive
            )
            return
        self._answer(prepared, send_body, keep_alive)

    def _answer_later(self, prepared: _Prepared, send_body: bool, keep_alive: bool) -> None:
        self._timer = None
        if self._closed:
            return
        self._answer(prepared, send_body, keep_alive)
        self._resume_reading()
        self._run()

    def _answer(self, prepared: _Prepared, send_body: bool, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None or self._closed:
            return
        connection = (
            b"Connection: keep-alive\r\n\r\n" if keep_alive else b"Connection: close\r\n\r\n"
        )
        parts = [prepared.head, self._web._date_line(), connection]
        if send_body:
            parts.append(prepared.body)
        transport.write(b"".join(parts))
        if not keep_alive:
            self.close()

    def _fail(self, status: int, message: str) -> None:
        """Answer a request we could not parse, then close the connection."""
        self._buffer.clear()
        if self._closed:
            return
        self._web._record("", "", "", status, False, {})
        self._answer(_prepare(_text_route(status, message)), True, False)


class DemoWeb:
    """The demo web server. ``start`` it on a running loop, ``stop`` it when done."""

    def __init__(self, sites: Mapping[str, Site], access_log: Path | None = None) -> None:
        self.sites: dict[str, Site] = {host.lower(): site for host, site in sites.items()}
        self.access_log = access_log
        self.port = 0
        self.host = "127.0.0.1"
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.by_host: Counter[str] = Counter()
        self._prepared: dict[str, dict[str, _Prepared]] = {
            host: {path: _prepare(route) for path, route in site.routes.items()}
            for host, site in self.sites.items()
        }
        self._unknown: dict[str, _Prepared] = {}
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._log_fd: int | None = None
        self._date_second = -1
        self._date = b""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0 picks a free port); return the bound port."""
        if self._server is not None:
            raise RuntimeError("the demo web is already running")
        if self.access_log is not None:
            self.access_log.parent.mkdir(parents=True, exist_ok=True)
            self._log_fd = os.open(self.access_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, reuse_address=True
        )
        self.host = host
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stop listening, close every connection and the access log."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.close()
        if server is not None:
            await server.wait_closed()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None

    def counters(self) -> dict[str, object]:
        """Requests seen so far: total, by status and by host."""
        return {
            "requests": self.requests,
            "by_status": dict(self.by_status),
            "by_host": dict(self.by_host),
        }

    # used by connections

    def _unknown_host(self, host: str) -> _Prepared:
        prepared = self._unknown.get(host)
        if prepared is None:
            shown = host or "(no host)"
            prepared = _prepare(
                _text_route(502, f"{shown} is not part of the demo web; nothing is forwarded")
            )
            if len(self._unknown) < 1024:
                self._unknown[host] = prepared
        return prepared

    def _date_line(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("ascii")
        return self._date

    def _record(
        self,
        host: str,
        path: str,
        method: str,
        status: int,
        proxy: bool,
        headers: Mapping[str, str],
    ) -> None:
        self.requests += 1
        self.by_status[status] += 1
        self.by_host[host] += 1
        if self._log_fd is None:
            return
        line = json.dumps(
            {
                "t": time.time(),
                "host": host,
                "path": path,
                "method": method,
                "status": status,
                "proxy": proxy,
                "ua": headers.get("user-agent"),
            }
        )
        # One write per line on an O_APPEND descriptor: nothing buffered, nothing lost on SIGKILL.
        os.write(self._log_fd, (line + "\n").encode("utf-8"))


def site_set(name: str, hosts: int, pages: int, delay: float | None) -> dict[str, Site]:
    """The site set a CLI ``--sites`` name stands for."""
    if name == "bench":
        return generated_sites(hosts, pages, delay=delay or 0.0)
    sites = {"demo": demo_sites, "delays": delay_sites}.get(name, slow_sites)()
    return with_delay(sites, delay) if delay else sites


async def _serve(args: argparse.Namespace) -> None:
    web = DemoWeb(site_set(args.sites, args.hosts, args.pages, args.delay), args.access_log)
    await web.start(args.host, args.port)
    print(f"LISTENING {web.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await web.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.web",
        description="Serve the demo web (many virtual hosts, also an HTTP proxy) on loopback.",
    )
    parser.add_argument("--sites", choices=["demo", "bench", "slow", "delays"], default="demo")
    parser.add_argument("--hosts", type=int, default=50, help="bench: number of hosts")
    parser.add_argument("--pages", type=int, default=100, help="bench: pages per host")
    parser.add_argument("--delay", type=float, default=None, help="minimum seconds per answer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--access-log", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.hosts < 0 or args.pages < 1:
        parser.error("--hosts must be >= 0 and --pages >= 1")
    if args.delay is not None and args.delay < 0:
        parser.error("--delay must be >= 0")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
