"""The policy-document fetcher: caps, redirects, cookies, and the private-address guard
(pinned connections, every redirect hop, proxies)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

import httpcore
import httpx
import pytest

from optout_service.config import FetchSettings
from optout_service.fetcher import PolicyFetcher, _ShardedTransport, environment_proxies
from optout_service.outcomes import FetchOutcome


def fetcher(handler: Any, **settings: Any) -> PolicyFetcher:
    return PolicyFetcher(
        FetchSettings(**{"allow_private_networks": True, **settings}),
        "ExampleBot/0.1",
        transport=httpx.MockTransport(handler),
    )


async def test_body_is_cut_at_the_cap_not_rejected() -> None:
    big = b"User-agent: *\n" + b"Disallow: /x\n" * 100_000

    result = await fetcher(lambda r: httpx.Response(200, content=big)).fetch(
        "http://a.example.com/robots.txt"
    )
    assert result.outcome is FetchOutcome.OK
    assert result.truncated
    assert len(result.body) == 512 * 1024


async def test_no_cookies_are_sent_across_redirects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/robots.txt":
            return httpx.Response(302, headers={"Location": "/elsewhere.txt", "Set-Cookie": "s=1"})
        return httpx.Response(200, text="User-agent: *", headers={"Set-Cookie": "t=2"})

    f = fetcher(handler)
    first = await f.fetch("http://a.example.com/robots.txt")
    second = await f.fetch("http://a.example.com/robots.txt")
    assert first.final_url == "http://a.example.com/elsewhere.txt"
    assert first.redirects == ("http://a.example.com/robots.txt",)
    assert second.outcome is FetchOutcome.OK
    assert all("cookie" not in r.headers for r in seen)
    assert all(r.headers["user-agent"] == "ExampleBot/0.1" for r in seen)


async def test_redirect_to_another_scheme_fails_closed() -> None:
    result = await fetcher(
        lambda r: httpx.Response(301, headers={"Location": "file:///etc/passwd"})
    ).fetch("http://a.example.com/robots.txt")
    assert result.outcome is FetchOutcome.NETWORK_ERROR


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "[::1]",
        "[::ffff:192.168.0.1]",
        "0.0.0.0",
        # IPv6 forms that carry a refused IPv4 address
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b:1::7f00:1]",
        "[2002:7f00:1::]",
        "[2002:a9fe:a9fe::]",
        "[fe80::1%25eth0]",
        # numeric hosts that resolvers and proxies read as IPv4 addresses
        "127.1",
        "0x7f.1",
        "2130706433",
        "0177.0.0.1",
        "127.0.0.1.",
        "127%2e0%2e0%2e1",
        # names only a local resolver answers for
        "localhost",
        "api.localhost",
        "printer.local",
        "metadata.google.internal",
        "intranet",
    ],
)
async def test_private_addresses_are_refused(host: str) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    f = fetcher(handler, allow_private_networks=False)
    result = await f.fetch(f"http://{host}/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS, result.error
    assert calls == []


async def test_a_redirect_to_a_refused_literal_is_refused() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://[::ffff:a9fe:a9fe]/latest"})

    result = await fetcher(handler, allow_private_networks=False).fetch(
        "http://public.example.com/robots.txt"
    )
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert result.final_url == "http://[::ffff:a9fe:a9fe]/latest"
    assert calls == ["http://public.example.com/robots.txt"]


async def test_total_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    result = await fetcher(slow, total_timeout=0.05).fetch("http://a.example.com/robots.txt")
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error == "timed out"


# The real network stack below httpx, with fakes at its two ends: a resolver that answers from
# a script, and a network backend that records where it was asked to connect and hands back an
# in-memory stream that speaks HTTP/1.1. Nothing here opens a socket.

PUBLIC = "93.184.215.14"
Answer = tuple[int, dict[str, str], bytes]  # status, headers, body
Respond = Callable[[str, str, str], Answer]  # (method, target, Host) -> answer


class FakeResolver:
    """Answers each name from a list, one answer per call (the last one repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        script = self.answers.get(host)
        if script is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return script[min(len(self.calls_for(host)), len(script)) - 1]

    def calls_for(self, host: str) -> list[tuple[str, int]]:
        return [call for call in self.calls if call[0] == host]


class FakeStream(httpcore.AsyncNetworkStream):
    """An HTTP/1.1 peer in memory: each complete request head written gets one answer."""

    def __init__(self, respond: Respond, peer: tuple[str, int]) -> None:
        self._respond = respond
        self.peer = peer
        self.written = bytearray()
        self._unread = bytearray()
        self.requests: list[tuple[str, str, str]] = []  # method, target, Host header
        self.tls_names: list[str | None] = []
        self.tls_contexts: list[ssl.SSLContext] = []
        self.closed = False

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written += buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        end = self.written.find(b"\r\n\r\n")
        if not self._unread and end >= 0:
            head = bytes(self.written[:end]).decode("latin-1").split("\r\n")
            del self.written[: end + 4]
            method, target, _ = head[0].split(" ")
            fields = dict(line.split(": ", 1) for line in head[1:])
            self.requests.append((method, target, fields.get("Host", "")))
            if method == "CONNECT":
                self._unread += b"HTTP/1.1 200 Connection established\r\n\r\n"
            else:
                status, headers, body = self._respond(method, target, fields.get("Host", ""))
                lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                self._unread += ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        chunk = bytes(self._unread[:max_bytes])
        del self._unread[:max_bytes]
        return chunk

    async def aclose(self) -> None:
        self.closed = True

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # Records what TLS would verify; the bytes stay in clear (there is no peer to talk to).
        self.tls_names.append(server_hostname)
        self.tls_contexts.append(ssl_context)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self.peer if info == "server_addr" else None


class FakeBackend(httpcore.AsyncNetworkBackend):
    """Records every connect; ``peer`` may make the 'connected' socket report another address."""

    def __init__(
        self,
        respond: Respond | None = None,
        *,
        peer: str | None = None,
        unreachable: frozenset[str] = frozenset(),
    ) -> None:
        self._respond: Respond = respond or (
            lambda method, target, host: (200, {}, b"User-agent: *\n")
        )
        self._peer = peer
        self._unreachable = unreachable
        self.connects: list[tuple[str, int]] = []
        self.timeouts: list[float | None] = []
        self.streams: list[FakeStream] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        self.timeouts.append(timeout)
        if host in self._unreachable:
            raise httpcore.ConnectError("connection refused")
        stream = FakeStream(self._respond, (self._peer or host, port))
        self.streams.append(stream)
        return stream

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        return None


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def guarded(
    resolver: Any, backend: FakeBackend | None = None, **settings: Any
) -> tuple[PolicyFetcher, FakeBackend]:
    backend = backend or FakeBackend()
    f = PolicyFetcher(
        FetchSettings(**settings), "ExampleBot/0.1", resolver=resolver, network_backend=backend
    )
    return f, backend


async def test_one_resolution_per_connection_and_the_checked_address_is_connected() -> None:
    # A rebinding resolver: public for the check, loopback for whoever asks again.
    resolver = FakeResolver({"rebind.example.com": [[PUBLIC], ["127.0.0.1"]]})
    f, backend = guarded(resolver)
    result = await f.fetch("http://rebind.example.com/robots.txt")
    assert result.outcome is FetchOutcome.OK, result.error
    assert resolver.calls == [("rebind.example.com", 80)]
    assert backend.connects == [(PUBLIC, 80)]
    assert backend.streams[0].requests == [("GET", "/robots.txt", "rebind.example.com")]


async def test_an_origin_keeps_to_one_pool_and_reuses_its_connection() -> None:
    # The pools are sharded by origin: the documents of one origin fetched one after another
    # go over one kept-alive connection, and other origins spread over the other pools.
    names = [f"h{n}.example.com" for n in range(40)]
    resolver = FakeResolver({name: [[PUBLIC]] for name in names})
    f, backend = guarded(resolver)
    for path in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"):
        result = await f.fetch(f"http://{names[0]}{path}")
        assert result.outcome is FetchOutcome.OK, result.error
    assert len(backend.connects) == 1
    assert [r[1] for r in backend.streams[0].requests] == [
        "/robots.txt",
        "/.well-known/tdmrep.json",
        "/ai.txt",
    ]
    transport = f._client._transport
    assert isinstance(transport, _ShardedTransport)
    used = {transport.shard_of(httpx.URL(f"http://{name}/robots.txt")) for name in names}
    assert len(used) > 1


@pytest.mark.parametrize(
    ("total", "shards", "each"), [(100, 8, 13), (8, 8, 1), (3, 3, 1), (1, 1, 1)]
)
def test_the_connection_limit_is_shared_out_between_the_pools(
    total: int, shards: int, each: int
) -> None:
    f, _ = guarded(FakeResolver({}), max_connections=total)
    transport = f._client._transport
    assert isinstance(transport, _ShardedTransport)
    assert len(transport.limits) == shards
    assert {limits.max_connections for limits in transport.limits} == {each}
    assert sum(limits.max_connections or 0 for limits in transport.limits) < total + shards


async def test_a_name_with_any_refused_address_is_refused_without_connecting() -> None:
    resolver = FakeResolver({"mixed.example.com": [[PUBLIC, "10.0.0.5"]]})
    f, backend = guarded(resolver)
    result = await f.fetch("http://mixed.example.com/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert "10.0.0.5" in (result.error or "")
    assert backend.connects == []


@pytest.mark.parametrize("answer", ["::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:c0a8:1::1"])
async def test_a_name_resolving_to_a_wrapped_refused_address_is_refused(answer: str) -> None:
    f, backend = guarded(FakeResolver({"wrapped.example.com": [[answer]]}))
    result = await f.fetch("http://wrapped.example.com/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert backend.connects == []


async def test_a_refused_peer_is_refused_after_connecting() -> None:
    # The connected socket reports loopback although a public address was asked for.
    backend = FakeBackend(peer="127.0.0.1")
    f, _ = guarded(FakeResolver({"nat.example.com": [[PUBLIC]]}), backend)
    result = await f.fetch("http://nat.example.com/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert "127.0.0.1" in (result.error or "")
    assert backend.connects == [(PUBLIC, 80)]
    assert backend.streams[0].closed
    assert backend.streams[0].written == b""


async def test_every_redirect_hop_is_resolved_and_checked() -> None:
    def respond(method: str, target: str, host: str) -> Answer:
        if host == "public.example.com":
            return 301, {"Location": "http://other.example.com/robots.txt"}, b""
        return 301, {"Location": "http://sneaky.example.com/robots.txt"}, b""

    resolver = FakeResolver(
        {
            "public.example.com": [[PUBLIC]],
            "other.example.com": [["93.184.215.15"]],
            "sneaky.example.com": [["192.168.1.10"]],
        }
    )
    f, backend = guarded(resolver, FakeBackend(respond))
    result = await f.fetch("http://public.example.com/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert result.final_url == "http://sneaky.example.com/robots.txt"
    assert [host for host, _ in resolver.calls] == [
        "public.example.com",
        "other.example.com",
        "sneaky.example.com",
    ]
    assert backend.connects == [(PUBLIC, 80), ("93.184.215.15", 80)]


async def test_tls_verifies_the_host_name_while_connecting_to_the_checked_address() -> None:
    f, backend = guarded(FakeResolver({"secure.example.com": [[PUBLIC]]}))
    result = await f.fetch("https://secure.example.com/robots.txt")
    assert result.outcome is FetchOutcome.OK, result.error
    assert backend.connects == [(PUBLIC, 443)]
    stream = backend.streams[0]
    assert stream.tls_names == ["secure.example.com"]
    assert stream.tls_contexts[0].check_hostname
    assert stream.tls_contexts[0].verify_mode is ssl.CERT_REQUIRED


async def test_the_checked_addresses_are_tried_families_interleaved_each_with_a_share() -> None:
    v6 = ["2606:4700::6810:84e5", "2606:4700::6810:85e5"]
    resolver = FakeResolver({"two.example.com": [[*v6, PUBLIC]]})
    backend = FakeBackend(unreachable=frozenset({v6[0]}))
    f, _ = guarded(resolver, backend, connect_timeout=3.0)
    result = await f.fetch("http://two.example.com/robots.txt")
    assert result.outcome is FetchOutcome.OK, result.error
    assert backend.connects == [(v6[0], 80), (PUBLIC, 80)]
    assert len(resolver.calls) == 1
    # Three addresses share the 3 s connect timeout: 1 s for the first, half the rest next.
    assert 0.9 < (backend.timeouts[0] or 0) <= 1.0
    assert 1.4 < (backend.timeouts[1] or 0) <= 1.5


async def test_a_dns_failure_is_a_network_error() -> None:
    f, backend = guarded(FakeResolver({}))
    result = await f.fetch("http://nowhere.example.com/robots.txt")
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert "DNS" in (result.error or "")
    assert backend.connects == []


async def test_allowing_private_networks_switches_the_guard_off() -> None:
    resolver = FakeResolver({})
    f, backend = guarded(resolver, allow_private_networks=True)
    result = await f.fetch("http://localhost:8080/robots.txt")
    assert result.outcome is FetchOutcome.OK
    assert backend.connects == [("localhost", 8080)]
    assert resolver.calls == []


# Behind a proxy: the proxy (operator configuration) may be anywhere, the target name is
# resolved by the proxy, and the URL host check still applies to every hop.

PROXY = ("127.0.0.1", 3128)


def proxied(monkeypatch: pytest.MonkeyPatch, no_proxy: str = "") -> None:
    monkeypatch.setenv("http_proxy", f"http://{PROXY[0]}:{PROXY[1]}")
    monkeypatch.setenv("https_proxy", f"http://{PROXY[0]}:{PROXY[1]}")
    if no_proxy:
        monkeypatch.setenv("no_proxy", no_proxy)


async def test_a_named_target_goes_to_the_proxy_unresolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxied(monkeypatch)
    resolver = FakeResolver({})  # any local resolution would fail the fetch
    f, backend = guarded(resolver)
    result = await f.fetch("http://www.harbourgazette.co.uk/robots.txt")
    assert result.outcome is FetchOutcome.OK, result.error
    assert resolver.calls == []
    assert backend.connects == [PROXY]
    assert backend.streams[0].requests == [
        ("GET", "http://www.harbourgazette.co.uk/robots.txt", "www.harbourgazette.co.uk")
    ]


async def test_https_through_the_proxy_tunnels_and_verifies_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxied(monkeypatch)
    f, backend = guarded(FakeResolver({}))
    result = await f.fetch("https://www.harbourgazette.co.uk/robots.txt")
    assert result.outcome is FetchOutcome.OK, result.error
    assert backend.connects == [PROXY]
    stream = backend.streams[0]
    assert stream.requests[0][:2] == ("CONNECT", "www.harbourgazette.co.uk:443")
    assert stream.tls_names == ["www.harbourgazette.co.uk"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/robots.txt",
        "http://127.0.0.1:3128/robots.txt",
        "http://[::1]/robots.txt",
        "http://[64:ff9b::a9fe:a9fe]/robots.txt",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/robots.txt",
        "http://2130706433/robots.txt",
        "http://localhost/robots.txt",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://intranet/robots.txt",
        "http://wiki.corp.example.com/robots.txt",
    ],
)
async def test_refused_targets_never_reach_the_proxy(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    proxied(monkeypatch)
    f, backend = guarded(FakeResolver({}), internal_name_suffixes=["corp.example.com"])
    result = await f.fetch(url)
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS, result.error
    assert backend.connects == []


async def test_a_redirect_through_the_proxy_to_a_refused_target_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxied(monkeypatch)

    def respond(method: str, target: str, host: str) -> Answer:
        return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""

    f, backend = guarded(FakeResolver({}), FakeBackend(respond))
    result = await f.fetch("http://www.harbourgazette.co.uk/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert backend.connects == [PROXY]
    assert [r[1] for s in backend.streams for r in s.requests] == [
        "http://www.harbourgazette.co.uk/robots.txt"
    ]


async def test_no_proxy_hosts_go_direct_with_the_full_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxied(monkeypatch, no_proxy="harbourgazette.co.uk,.lanternbooks.org")
    resolver = FakeResolver(
        {"www.harbourgazette.co.uk": [["127.0.0.1"]], "docs.lanternbooks.org": [[PUBLIC]]}
    )
    f, backend = guarded(resolver)
    refused = await f.fetch("http://www.harbourgazette.co.uk/robots.txt")
    assert refused.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert backend.connects == []
    direct = await f.fetch("http://docs.lanternbooks.org/robots.txt")
    assert direct.outcome is FetchOutcome.OK, direct.error
    assert backend.connects == [(PUBLIC, 80)]
    proxy = await f.fetch("http://www.meadowrecipes.net/robots.txt")
    assert proxy.outcome is FetchOutcome.OK, proxy.error
    assert backend.connects == [(PUBLIC, 80), PROXY]
    assert [host for host, _ in resolver.calls] == [
        "www.harbourgazette.co.uk",
        "docs.lanternbooks.org",
    ]


async def test_a_socks_proxy_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("all_proxy", "socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="HTTP"):
        guarded(FakeResolver({}))


def test_proxy_variables_become_mounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "proxy.example.net:3128")
    monkeypatch.setenv("https_proxy", "http://proxy.example.net:3129")
    monkeypatch.setenv(
        "no_proxy",
        "example.com, .example.org,*.example.net,10.0.0.1,::1,localhost,,10.0.0.0/8,fe80::1%eth0",
    )
    assert environment_proxies() == {
        "http://": "http://proxy.example.net:3128",
        "https://": "http://proxy.example.net:3129",
        "all://*example.com": None,
        "all://*.example.org": None,
        "all://*.example.net": None,
        "all://10.0.0.1": None,
        "all://[::1]": None,
        "all://localhost": None,
    }
    monkeypatch.setenv("no_proxy", "example.com,*")
    assert environment_proxies() == {}


def test_bad_internal_suffixes_are_refused_at_start() -> None:
    with pytest.raises(ValueError):
        guarded(FakeResolver({}), internal_name_suffixes=["10.0.0.0"])
