"""The policy-document fetcher: caps, redirects, cookies, and the private-address guard."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from optout_service.config import FetchSettings
from optout_service.fetcher import PolicyFetcher
from optout_service.policy.robots import FetchOutcome


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
    "host", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "[::ffff:192.168.0.1]", "0.0.0.0"]
)
async def test_private_addresses_are_refused(host: str) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    f = fetcher(handler, allow_private_networks=False)
    result = await f.fetch(f"http://{host}/robots.txt")
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert calls == []


async def test_names_resolving_to_private_addresses_are_refused_on_every_hop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    addresses = {"public.example.com": "93.184.215.14", "sneaky.example.com": "192.168.1.10"}

    async def fake_getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[host], port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(301, headers={"Location": "http://sneaky.example.com/robots.txt"})

    result = await fetcher(handler, allow_private_networks=False).fetch(
        "http://public.example.com/robots.txt"
    )
    assert result.outcome is FetchOutcome.BLOCKED_ADDRESS
    assert calls == ["http://public.example.com/robots.txt"]


async def test_total_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    result = await fetcher(slow, total_timeout=0.05).fetch("http://a.example.com/robots.txt")
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error == "timed out"
