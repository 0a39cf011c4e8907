"""The one place the service fetches policy documents (robots.txt now; reservation files later).

Every fetch has a connect/read/total timeout, a size cap (the body is cut there, not rejected),
at most ``max_redirects`` redirects followed one by one, no cookies and no credentials.

Unless ``allow_private_networks`` is set, every hop is guarded (``optout_service.netguard``):

- the URL host is refused when it is a refused IP literal, a non-canonical numeric host or a
  name that can only be local, whether the hop goes direct or through a proxy;
- a direct connection resolves the name once, checks every address, connects to a checked
  address literal and checks the connected peer (``GuardedBackend``), so DNS rebinding between
  the check and the connection is impossible; TLS still verifies the certificate for the name;
- a proxied hop connects only to the proxy (operator configuration, any address); the target
  name is resolved by the proxy and trusted to its egress policy.

Proxies come from the standard ``http_proxy``/``https_proxy``/``all_proxy``/``no_proxy``
variables (HTTP and HTTPS proxies only); ``no_proxy`` hosts go direct with the full check. A
proxy never turns the guard off.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from optout_service.config import FetchSettings
from optout_service.netguard import (
    AddressBlocked,
    GuardedBackend,
    Resolver,
    host_refusal,
    normalise_suffixes,
    parse_host,
)
from optout_service.outcomes import FetchOutcome, outcome_for_status

__all__ = ["AddressBlocked", "FetchResult", "PolicyFetcher", "environment_proxies"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Connection pools of the fetcher (see _ShardedTransport); fetch.max_connections is shared out.
POOL_SHARDS = 8


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


def environment_proxies() -> dict[str, str | None]:
    """httpx mount patterns for the proxy variables: ``{"http://": url, "all://*host": None}``.

    ``http_proxy``, ``https_proxy`` and ``all_proxy`` (either case) pick the proxy per scheme.
    ``no_proxy`` is a comma-separated list: ``*`` means no proxy at all; an IP address or
    ``localhost`` matches exactly; ``.example.com`` (or ``*.example.com``) matches subdomains
    only; ``example.com`` matches it and its subdomains; an entry with ``://`` is an httpx
    pattern. CIDR ranges and entries httpx cannot read are ignored (they match nothing).
    """
    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for entry in (e.strip() for e in found.get("no", "").split(",")):
        if entry == "*":
            return {}
        if not entry or ("/" in entry and "://" not in entry):
            continue
        pattern = entry if "://" in entry else _no_proxy_pattern(entry)
        try:
            httpx.URL(pattern)
        except httpx.InvalidURL:
            continue  # one bad entry must not stop the service from starting
        mounts[pattern] = None
    return mounts


def _no_proxy_pattern(entry: str) -> str:
    host = entry[1:] if entry.startswith("*.") else entry
    try:
        literal = parse_host(host)
    except ValueError:
        literal = host
    if isinstance(literal, str):
        return "all://localhost" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{literal}]" if literal.version == 6 else f"all://{literal}"


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request/response and error mapping) over an httpcore pool whose
    every TCP connection goes through ``backend``; ``proxy`` makes it a forwarding/tunnelling
    pool for that proxy."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        *,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        super().__init__(verify=ssl_context, limits=limits)
        # httpx offers no way to choose the network backend; replace the pool it built.
        if proxy is None:
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )
            return
        self._pool = httpcore.AsyncHTTPProxy(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            proxy_ssl_context=proxy.ssl_context,
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class _ShardedTransport(httpx.AsyncBaseTransport):
    """Several pools, each origin always in the same one.

    httpcore's pool looks at every connection it holds for every request it places (and again
    whenever a response is closed), so its cost per request grows with the pool. Policy fetches
    go to a new origin almost every time and three or four of them at once per origin: one pool
    of 100 connections spent about a third of each fetch's CPU in that scan. Shards of a few
    connections each keep it short; the limits are divided between them, so the totals stay.
    """

    def __init__(
        self, shards: Sequence[httpx.AsyncBaseTransport], limits: Sequence[httpx.Limits]
    ) -> None:
        self._shards = tuple(shards)
        self.limits = tuple(limits)  # each shard's

    def shard_of(self, url: httpx.URL) -> int:
        return hash((url.raw_scheme, url.raw_host, url.port)) % len(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._shards[self.shard_of(request.url)].handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def _shard_limits(limits: httpx.Limits, shards: int) -> httpx.Limits:
    def share(total: int | None) -> int | None:
        return None if total is None else max(1, -(-total // shards))

    return httpx.Limits(
        max_connections=share(limits.max_connections),
        max_keepalive_connections=share(limits.max_keepalive_connections),
        keepalive_expiry=limits.keepalive_expiry,
    )


def _sharded(
    backend: httpcore.AsyncNetworkBackend,
    limits: httpx.Limits,
    ssl_context: ssl.SSLContext,
    proxy: httpx.Proxy | None = None,
) -> _ShardedTransport:
    count = max(1, min(POOL_SHARDS, limits.max_connections or POOL_SHARDS))
    each = _shard_limits(limits, count)
    return _ShardedTransport(
        [
            _GuardedTransport(backend, limits=each, ssl_context=ssl_context, proxy=proxy)
            for _ in range(count)
        ],
        [each] * count,
    )


def _proxy_endpoint(proxy: httpx.Proxy) -> tuple[str, int]:
    """The ``(host, port)`` httpcore connects to for a proxy URL."""
    if proxy.url.scheme not in _DEFAULT_PORTS:
        raise ValueError(
            f"proxy {proxy.url} is not supported by the policy fetcher: use an HTTP(S) proxy"
        )
    return proxy.url.raw_host.decode("ascii"), proxy.url.port or _DEFAULT_PORTS[proxy.url.scheme]


class PolicyFetcher:
    """Fetches policy documents; see the module docstring for the guard.

    ``transport`` replaces the whole network stack (tests: ``httpx.MockTransport``; the host
    check of every hop still applies, proxies are then not read). ``resolver`` and
    ``network_backend`` replace the DNS resolution and the backend that opens TCP connections
    (tests: fakes that never touch the network).
    """

    def __init__(
        self,
        settings: FetchSettings,
        user_agent: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._settings = settings
        self._user_agent = user_agent
        self._internal_suffixes = normalise_suffixes(settings.internal_name_suffixes)
        timeout = httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
        )
        limits = httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=20
        )
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
        if transport is None:
            inner = network_backend or httpcore.AnyIOBackend()

            def backend(proxy: tuple[str, int] | None) -> httpcore.AsyncNetworkBackend:
                if settings.allow_private_networks:
                    return inner
                return GuardedBackend(
                    resolver=resolver,
                    inner=inner,
                    extra_suffixes=self._internal_suffixes,
                    proxy=proxy,
                )

            # Verifies certificates, honours SSL_CERT_FILE; built once (loading the CAs is slow).
            ssl_context = httpx.create_ssl_context()
            transport = _sharded(backend(None), limits, ssl_context)
            for pattern, url in environment_proxies().items():
                if url is None:  # no_proxy: the default, direct and fully checked transport
                    mounts[pattern] = None
                    continue
                proxy = httpx.Proxy(url)
                mounts[pattern] = _sharded(
                    backend(_proxy_endpoint(proxy)), limits, ssl_context, proxy
                )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            mounts=mounts,
            trust_env=False,  # proxies are read above, CA variables by create_ssl_context
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """Fetch ``url``; the body is cut at ``max_bytes`` (default ``fetch.max_bytes``)."""
        try:
            async with asyncio.timeout(self._settings.total_timeout):
                return await self._fetch(url, max_bytes or self._settings.max_bytes)
        except TimeoutError:
            return self._failure(url, FetchOutcome.TIMEOUT, "timed out")

    async def _fetch(self, url: str, cap: int) -> FetchResult:
        current = url
        hops: list[str] = []
        for _ in range(self._settings.max_redirects + 1):
            try:
                # A fresh request each hop: the client's cookie jar is never consulted.
                request = httpx.Request(
                    "GET",
                    current,
                    headers={"User-Agent": self._user_agent, "Accept": "text/plain, */*"},
                )
            except httpx.InvalidURL as exc:
                refusal = self._host_refusal(urlsplit(current).hostname or "")
                if refusal is not None:
                    return self._failure(url, FetchOutcome.BLOCKED_ADDRESS, refusal, current, hops)
                return self._failure(
                    url, FetchOutcome.NETWORK_ERROR, f"invalid URL: {exc}", current, hops
                )
            refusal = self._host_refusal(request.url.raw_host.decode("ascii"))
            if refusal is not None:
                return self._failure(url, FetchOutcome.BLOCKED_ADDRESS, refusal, current, hops)
            try:
                response = await self._client.send(request, stream=True)
            except AddressBlocked as exc:
                return self._failure(url, FetchOutcome.BLOCKED_ADDRESS, str(exc), current, hops)
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
                body, truncated = await self._read_capped(response, cap)
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

    def _host_refusal(self, host: str) -> str | None:
        """The route-independent check of a hop's host (the backend checks addresses)."""
        if self._settings.allow_private_networks:
            return None
        if not host:
            return "no host in the URL"
        return host_refusal(host, self._internal_suffixes)

    async def _read_capped(self, response: httpx.Response, cap: int) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= cap:
                return b"".join(chunks)[:cap], True
        return b"".join(chunks), False

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
