"""The fetcher's address guard against real sockets on loopback, with the guard on.

The demo web (virtual hosts without DNS, and an HTTP proxy) stands in for an egress proxy; a tiny
counting HTTP server stands in for an internal service. Every socket here is on 127.0.0.1: names
that a test resolver maps elsewhere are never connected to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import httpcore
import pytest

from crawler.demo.sites import ORDINARY_HOST, demo_sites
from crawler.demo.web import DemoWeb
from optout_service.config import FetchSettings
from optout_service.fetcher import PolicyFetcher
from optout_service.outcomes import FetchOutcome

pytestmark = pytest.mark.integration

UA = "ExampleBot/0.1"


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def web() -> AsyncIterator[DemoWeb]:
    demo = DemoWeb(demo_sites())
    await demo.start("127.0.0.1", 0)
    yield demo
    await demo.stop()


@dataclass
class CountingServer:
    """An HTTP server on loopback that counts connections and the bytes they sent."""

    port: int = 0
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.received += head
            body = b"User-agent: *\nDisallow: /internal/\n"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def internal() -> AsyncIterator[CountingServer]:
    counting = CountingServer()
    server = await asyncio.start_server(counting.handle, "127.0.0.1", 0)
    counting.port = int(server.sockets[0].getsockname()[1])
    yield counting
    server.close()
    await server.wait_closed()


class RecordingResolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            raise OSError(f"unexpected resolution of {host}")
        return self.answers[host]


def through(monkeypatch: pytest.MonkeyPatch, web: DemoWeb) -> None:
    monkeypatch.setenv("http_proxy", web.url)
    monkeypatch.setenv("https_proxy", web.url)


async def fetch(
    url: str,
    resolver: RecordingResolver,
    *,
    allow: bool = False,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
) -> tuple[FetchOutcome, str | None, int | None, bytes]:
    fetcher = PolicyFetcher(
        FetchSettings(allow_private_networks=allow),
        UA,
        resolver=resolver,
        network_backend=network_backend,
    )
    try:
        result = await fetcher.fetch(url)
    finally:
        await fetcher.aclose()
    return result.outcome, result.error, result.status, result.body


async def test_a_named_host_is_fetched_through_a_loopback_proxy(
    monkeypatch: pytest.MonkeyPatch, web: DemoWeb
) -> None:
    through(monkeypatch, web)
    resolver = RecordingResolver({})
    outcome, error, status, body = await fetch(f"http://{ORDINARY_HOST}/robots.txt", resolver)
    assert outcome is FetchOutcome.OK, error
    assert status == 200
    assert b"User-agent" in body
    assert resolver.calls == []  # the proxy resolves target names, not the service
    assert web.by_host[ORDINARY_HOST] == 1


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/robots.txt",
        "http://[::ffff:127.0.0.1]:{port}/robots.txt",
        "http://127.1:{port}/robots.txt",
        "http://localhost:{port}/robots.txt",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_a_loopback_target_through_the_proxy_is_refused(
    monkeypatch: pytest.MonkeyPatch, web: DemoWeb, target: str
) -> None:
    through(monkeypatch, web)
    url = target.format(port=web.port)
    outcome, error, _, _ = await fetch(url, RecordingResolver({}))
    assert outcome is FetchOutcome.BLOCKED_ADDRESS, error
    assert web.requests == 0  # nothing reached the proxy


async def test_the_proxy_would_have_been_asked_without_the_guard(
    monkeypatch: pytest.MonkeyPatch, web: DemoWeb
) -> None:
    # The control for the test above: the same request does reach the proxy when allowed.
    through(monkeypatch, web)
    outcome, _, status, _ = await fetch(
        f"http://127.0.0.1:{web.port}/robots.txt", RecordingResolver({}), allow=True
    )
    assert outcome is FetchOutcome.SERVER_ERROR
    assert status == 502
    assert web.requests == 1


async def test_a_direct_name_resolving_to_loopback_is_refused_without_connecting(
    internal: CountingServer,
) -> None:
    resolver = RecordingResolver({ORDINARY_HOST: ["127.0.0.1"]})
    outcome, error, _, _ = await fetch(f"http://{ORDINARY_HOST}:{internal.port}/", resolver)
    assert outcome is FetchOutcome.BLOCKED_ADDRESS, error
    assert resolver.calls == [ORDINARY_HOST]
    assert internal.connections == 0


async def test_the_internal_server_answers_when_allowed(internal: CountingServer) -> None:
    # The control for the test above: the server is up and would have answered.
    outcome, _, status, body = await fetch(
        f"http://127.0.0.1:{internal.port}/robots.txt", RecordingResolver({}), allow=True
    )
    assert outcome is FetchOutcome.OK
    assert status == 200
    assert b"Disallow: /internal/" in body
    assert internal.connections == 1


class ToLoopback(httpcore.AsyncNetworkBackend):
    """Whatever address it is asked for, really connects to one loopback port (as a NAT or a
    compromised route would), and records what it was asked for."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.asked: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.asked.append((host, port))
        return await self._real.connect_tcp("127.0.0.1", self.port, timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def test_the_peer_of_the_real_socket_is_checked(internal: CountingServer) -> None:
    backend = ToLoopback(internal.port)
    resolver = RecordingResolver({"public.example.com": ["93.184.215.14"]})
    outcome, error, _, _ = await fetch(
        "http://public.example.com/robots.txt", resolver, network_backend=backend
    )
    assert outcome is FetchOutcome.BLOCKED_ADDRESS, error
    assert "127.0.0.1" in (error or "")
    assert backend.asked == [("93.184.215.14", 80)]
    await asyncio.sleep(0.05)  # let the server see the connection close
    assert internal.connections == 1
    assert internal.received == b""  # refused before a byte of the request was sent
