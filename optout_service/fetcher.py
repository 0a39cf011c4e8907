"""The one place the service fetches policy documents (robots.txt now; reservation files later).

Every fetch has a connect/read/total timeout, a size cap (the body is cut there, not rejected),
at most ``max_redirects`` redirects followed one by one, no cookies and no credentials. Unless
private networks are allowed, the host of every hop is resolved first and refused when any of its
addresses is loopback, private, link-local, reserved or otherwise not global (metadata services
live there). Proxies come from the standard ``http_proxy``/``https_proxy``/``no_proxy`` variables.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from optout_service.config import FetchSettings
from optout_service.policy.robots import FetchOutcome, outcome_for_status

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    outcome: FetchOutcome
    fetched_at: datetime
    final_url: str | None = None
    status: int | None = None
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    redirects: tuple[str, ...] = field(default_factory=tuple)


def _outcome_of(error: httpx.HTTPError) -> FetchOutcome:
    if isinstance(error, httpx.TimeoutException):
        return FetchOutcome.TIMEOUT
    return FetchOutcome.NETWORK_ERROR


class AddressBlocked(Exception):
    """The host resolves to an address the service must not contact."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PolicyFetcher:
    def __init__(
        self,
        settings: FetchSettings,
        user_agent: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._user_agent = user_agent
        timeout = httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
        )
        limits = httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=20
        )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            limits=limits,
            transport=transport,
            trust_env=transport is None,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> FetchResult:
        try:
            async with asyncio.timeout(self._settings.total_timeout):
                return await self._fetch(url)
        except TimeoutError:
            return self._failure(url, FetchOutcome.TIMEOUT, "timed out")

    async def _fetch(self, url: str) -> FetchResult:
        current = url
        hops: list[str] = []
        for _ in range(self._settings.max_redirects + 1):
            try:
                await self._guard(current)
            except AddressBlocked as exc:
                return self._failure(url, FetchOutcome.BLOCKED_ADDRESS, str(exc), current, hops)
            except OSError as exc:
                return self._failure(url, FetchOutcome.NETWORK_ERROR, f"DNS: {exc}", current, hops)
            # A fresh request each hop: the client's cookie jar is never consulted.
            request = httpx.Request(
                "GET",
                current,
                headers={"User-Agent": self._user_agent, "Accept": "text/plain, */*"},
            )
            try:
                response = await self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                return self._failure(
                    url, _outcome_of(exc), f"{type(exc).__name__}: {exc}", current, hops
                )
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECT_STATUSES and location:
                    target = urljoin(current, location.strip())
                    if urlsplit(target).scheme not in ("http", "https"):
                        return self._failure(
                            url,
                            FetchOutcome.NETWORK_ERROR,
                            f"redirect to {target!r}",
                            current,
                            hops,
                        )
                    hops.append(current)
                    current = target
                    continue
                body, truncated = await self._read_capped(response)
            except httpx.HTTPError as exc:
                return self._failure(
                    url, _outcome_of(exc), f"{type(exc).__name__}: {exc}", current, hops
                )
            finally:
                await response.aclose()
                self._client.cookies.clear()
            return FetchResult(
                url=url,
                outcome=outcome_for_status(response.status_code),
                fetched_at=datetime.now(UTC),
                final_url=current,
                status=response.status_code,
                body=body,
                truncated=truncated,
                redirects=tuple(hops),
            )
        return self._failure(
            url,
            FetchOutcome.TOO_MANY_REDIRECTS,
            f"more than {self._settings.max_redirects} redirects",
            current,
            hops,
        )

    async def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        cap = self._settings.max_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= cap:
                return b"".join(chunks)[:cap], True
        return b"".join(chunks), False

    async def _guard(self, url: str) -> None:
        if self._settings.allow_private_networks:
            return
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            raise AddressBlocked(f"no host in {url!r}")
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
            addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if not _is_public(address):
                raise AddressBlocked(f"{host} resolves to non-public address {address}")

    @staticmethod
    def _failure(
        url: str,
        outcome: FetchOutcome,
        error: str,
        final_url: str | None = None,
        hops: list[str] | None = None,
    ) -> FetchResult:
        return FetchResult(
            url=url,
            outcome=outcome,
            fetched_at=datetime.now(UTC),
            final_url=final_url,
            error=error[:500],
            redirects=tuple(hops or ()),
        )
