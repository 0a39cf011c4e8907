"""A local web of many virtual hosts on one loopback port, which is also an HTTP forward proxy.

A client that uses it as its proxy sends absolute-form targets (``GET http://host/path``); the
host is taken from there, otherwise from the ``Host`` header. Nothing is ever forwarded: a host
that is not part of the demo web gets a 502. Every request is appended to an access log (one JSON
line, flushed at once) so tests can check what reached the "sites".

    python -m crawler.demo.web --sites demo|bench|slow [--port 0] [--access-log FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Mapping
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from crawler.demo.sites import Route, Site, demo_sites, generated_sites, slow_sites

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Connection(asyncio.Protocol):
    def __init__(self, web: DemoWeb) -> None:
        self.web = web
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.queue: asyncio.Queue[tuple[str, str, str, dict[str, str], bool] | None] = (
            asyncio.Queue()
        )
        self.worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.worker = asyncio.get_running_loop().create_task(self._serve())

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.put_nowait(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    self._bad_request()
                return
            head, rest = self.buffer[:end], self.buffer[end + 4 :]
            try:
                request = self._parse(head)
            except ValueError:
                self._bad_request()
                return
            method, target, version, headers = request
            length = int(headers.get("content-length", "0") or 0)
            if length < 0 or length > MAX_BODY_BYTES:
                self._bad_request()
                return
            if len(rest) < length:
                return  # wait for the body
            self.buffer = rest[length:]
            keep_alive = (
                version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            ) or (headers.get("connection", "").lower() == "keep-alive")
            self.queue.put_nowait((method, target, version, headers, keep_alive))

    @staticmethod
    def _parse(head: bytes) -> tuple[str, str, str, dict[str, str]]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[0].isalpha():
            raise ValueError("bad request line")
        headers: dict[str, str] = {}
        for line in lines[1:200]:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError("bad header")
            headers[name.strip().lower()] = value.strip()
        return parts[0].upper(), parts[1], parts[2], headers

    def _bad_request(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            body = b"bad request"
            self.transport.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.transport.close()
        self.buffer = b""

    async def _serve(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None or self.transport is None or self.transport.is_closing():
                return
            method, target, _version, headers, keep_alive = item
            await self._answer(method, target, headers, keep_alive)
            if not keep_alive:
                self.transport.close()
                return

    async def _answer(
        self, method: str, target: str, headers: Mapping[str, str], keep_alive: bool
    ) -> None:
        proxy = target.lower().startswith(("http://", "https://"))
        if proxy:
            parts = urlsplit(target)
            host = (parts.hostname or "").lower()
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
        else:
            host = (
                headers.get("host", "").lower().rsplit(":", 1)[0]
                if not headers.get("host", "").startswith("[")
                else headers.get("host", "").lower()
            )
            path = target
        route: Route
        if method == "CONNECT":
            route = Route(
                status=501,
                body="CONNECT is not supported by the demo web",
                content_type="text/plain",
            )
        elif method not in ("GET", "HEAD"):
            route = Route(
                status=405,
                body="method not allowed",
                content_type="text/plain",
                headers=(("Allow", "GET, HEAD"),),
            )
        else:
            site = self.web.sites.get(host)
            if site is None:
                route = Route(
                    status=502,
                    body=f"{host or 'this host'} is not part of the demo web",
                    content_type="text/plain",
                )
            else:
                found = site.routes.get(path.split("?", 1)[0])
                route = found if found is not None else Route(status=404, body="<h1>Not found</h1>")
        self.web.log(host, path, method, route.status, proxy, headers.get("user-agent"))
        if route.delay:
            await asyncio.sleep(route.delay)
        body = route.body.encode() if isinstance(route.body, str) else route.body
        head = [
            f"HTTP/1.1 {route.status} {_reason(route.status)}",
            f"Date: {formatdate(usegmt=True)}",
            "Server: demo-web",
            f"Content-Type: {route.content_type}",
            f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in route.headers),
        ]
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(
                ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                + (b"" if method == "HEAD" else body)
            )


class DemoWeb:
    def __init__(self, sites: Mapping[str, Site], access_log: Path | None = None) -> None:
        self.sites = dict(sites)
        self.access_log = access_log
        self.requests = 0
        self._log_file: IO[str] | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(
        self, host: str, path: str, method: str, status: int, proxy: bool, ua: str | None
    ) -> None:
        self.requests += 1
        if self._log_file is not None:
            record = {
                "t": time.time(),
                "host": host,
                "path": path,
                "method": method,
                "status": status,
                "proxy": proxy,
                "ua": ua,
            }
            self._log_file.write(json.dumps(record) + "\n")
            self._log_file.flush()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        if self.access_log is not None:
            self._log_file = self.access_log.open("a", encoding="utf-8")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def site_set(name: str, hosts: int, pages: int, delay: float) -> dict[str, Site]:
    if name == "demo":
        return demo_sites()
    if name == "slow":
        return slow_sites()
    return generated_sites(hosts, pages, delay=delay)


async def _main(args: argparse.Namespace) -> None:
    web = DemoWeb(site_set(args.sites, args.hosts, args.pages, args.delay), args.access_log)
    port = await web.start(args.host, args.port)
    print(f"LISTENING http://{args.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await web.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the demo web on loopback.")
    parser.add_argument("--sites", choices=["demo", "bench", "slow"], default="demo")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--access-log", type=Path)
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host != "::1":
        sys.exit("the demo web only listens on loopback addresses")
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
