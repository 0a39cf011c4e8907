"""Which hosts and addresses the service may contact, and a network backend that enforces it.

The service fetches URLs that clients name, so every connection it opens is checked here (the
SSRF guard). Three layers, all applied unless ``fetch.allow_private_networks`` is set:

1. The URL host (``host_refusal``), on every hop and whatever the route: an IP literal in a
   refused class, a numeric host that is not a plain dotted quad (``127.1``, ``0x7f.1``,
   ``2130706433``, ``0177.0.0.1``: resolvers and proxies read these differently, so they are
   refused rather than guessed), an IPv6 zone id, anything that is not a valid DNS name, and
   names that can only be local (see ``LOCAL_NAME_SUFFIXES``, single-label names, and the
   operator's ``fetch.internal_name_suffixes``).
2. Direct connections (``GuardedBackend.connect_tcp``): the name is resolved once, every address
   is checked, and the TCP connection goes to a checked address literal, so a resolver that
   answers differently the second time (DNS rebinding) has no second time. The peer address of
   the connected socket is checked again before any byte is sent.
3. Connections through an operator's proxy: only the proxy endpoint itself is exempt (it may be
   on any address, it is configuration, not client input). The target name is resolved by the
   proxy, so beyond layer 1 it is trusted to the proxy's egress policy: run the service behind a
   proxy that refuses internal destinations, or list internal DNS suffixes in
   ``fetch.internal_name_suffixes``.

Address classes refused (``address_refusal``), after unwrapping IPv6 forms that carry an IPv4
address (the inner address must itself be allowed):

=====================================  ===================================================
IPv4                                   class (source)
=====================================  ===================================================
0.0.0.0/8                              "this network", incl. unspecified 0.0.0.0 (RFC 1122)
10/8, 172.16/12, 192.168/16            private (RFC 1918)
100.64.0.0/10                          shared address space, CGNAT (RFC 6598)
127.0.0.0/8                            loopback (RFC 1122)
169.254.0.0/16                         link-local, incl. metadata 169.254.169.254 (RFC 3927)
192.0.0.0/24                           IETF protocol assignments (RFC 6890)
192.0.2/24, 198.51.100/24, 203.0.113/24  documentation (RFC 5737)
192.88.99.0/24                         6to4 relay anycast, deprecated (RFC 7526)
198.18.0.0/15                          benchmarking (RFC 2544)
224.0.0.0/4                            multicast (RFC 5771)
255.255.255.255/32                     limited broadcast (RFC 919)
240.0.0.0/4                            reserved (RFC 1112)
=====================================  ===================================================

=====================================  ===================================================
IPv6                                   class (source)
=====================================  ===================================================
::ffff:0:0/96                          IPv4-mapped: the inner IPv4 address is checked (RFC 4291)
64:ff9b::/96                           NAT64 well-known prefix: inner IPv4 checked (RFC 6052)
2002::/16                              6to4: inner IPv4 checked (RFC 3056)
2001::/32                              Teredo: server and client IPv4 checked (RFC 4380)
64:ff9b:1::/48                         local-use NAT64, where the IPv4 address sits depends on
                                       the operator's prefix length: refused (RFC 8215)
::/128, ::1/128                        unspecified, loopback (RFC 4291)
::/96                                  IPv4-compatible, deprecated: refused (RFC 4291 2.5.5.1)
::/8 (the rest)                        reserved, e.g. IPv4-translated ::ffff:0:0:0/96 (RFC 4291)
100::/64                               discard-only (RFC 6666)
2001::/23 (the rest)                   IETF protocol assignments (RFC 2928)
2001:db8::/32, 3fff::/20               documentation (RFC 3849, RFC 9637)
fc00::/7                               unique local, ULA (RFC 4193)
fe80::/10                              link-local (RFC 4291)
fec0::/10                              site-local, deprecated (RFC 3879)
ff00::/8                               multicast (RFC 4291)
outside 2000::/3                       not global unicast space (RFC 4291)
any address with a zone id             scoped, meaningless off-link
=====================================  ===================================================

Not detectable here: an operator's own NAT64 prefix inside global space (RFC 6052
network-specific prefix), and public names that resolve to internal addresses when the proxy
resolves them. The proxy's own egress policy covers those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Final

import httpcore

__all__ = [
    "LOCAL_NAME_SUFFIXES",
    "AddressBlocked",
    "GuardedBackend",
    "IPAddress",
    "Resolver",
    "address_refusal",
    "host_refusal",
    "is_allowed",
    "normalise_suffixes",
    "parse_host",
    "system_resolver",
]

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``(host, port) -> addresses``: one DNS resolution, answers as address strings."""


class AddressBlocked(Exception):
    """The host or address is one the service must not contact."""


_V4: Final[tuple[tuple[IPv4Network, str], ...]] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "'this network' / unspecified (RFC 1122)"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared address space, CGNAT (RFC 6598)"),
        ("127.0.0.0/8", "loopback (RFC 1122)"),
        ("169.254.0.0/16", "link-local, cloud metadata (RFC 3927)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
        ("192.0.2.0/24", "documentation (RFC 5737)"),
        ("192.88.99.0/24", "6to4 relay anycast, deprecated (RFC 7526)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "documentation (RFC 5737)"),
        ("203.0.113.0/24", "documentation (RFC 5737)"),
        ("224.0.0.0/4", "multicast (RFC 5771)"),
        ("255.255.255.255/32", "limited broadcast (RFC 919)"),
        ("240.0.0.0/4", "reserved (RFC 1112)"),
    )
)

# Checked in order, after the IPv4-carrying forms have been unwrapped.
_V6: Final[tuple[tuple[IPv6Network, str], ...]] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("::/128", "unspecified (RFC 4291)"),
        ("::1/128", "loopback (RFC 4291)"),
        ("::/96", "IPv4-compatible, deprecated (RFC 4291)"),
        ("::/8", "reserved (RFC 4291)"),
        ("100::/64", "discard-only (RFC 6666)"),
        ("2001:db8::/32", "documentation (RFC 3849)"),
        ("2001::/23", "IETF protocol assignments (RFC 2928)"),
        ("3fff::/20", "documentation (RFC 9637)"),
        ("fc00::/7", "unique local (RFC 4193)"),
        ("fe80::/10", "link-local (RFC 4291)"),
        ("fec0::/10", "site-local, deprecated (RFC 3879)"),
        ("ff00::/8", "multicast (RFC 4291)"),
    )
)
_GLOBAL_UNICAST: Final = IPv6Network("2000::/3")
_NAT64: Final = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR: Final = IPv6Network("2002::/16")
_TEREDO: Final = IPv6Network("2001::/32")

LOCAL_NAME_SUFFIXES: Final[tuple[str, ...]] = (
    "localhost",  # RFC 6761 6.3: always loopback
    "local",  # RFC 6762: multicast DNS, this link only
    "home.arpa",  # RFC 8375: home networks
    "internal",  # ICANN 2024: reserved for private use, never delegated
    "localdomain",  # /etc/hosts convention (localhost.localdomain); not a TLD
    # RFC 6762 appendix G: private TLDs in common use (never delegated)
    "intranet",
    "private",
    "corp",
    "home",
    "lan",
)
"""Names equal to or under these suffixes are refused: only local resolvers answer for them."""

_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_HEX_DIGITS: Final = frozenset("0123456789abcdef")


def _wrapped_v4(ip: IPv6Address) -> tuple[str, tuple[IPv4Address, ...]] | None:
    """The IPv4 addresses an IPv6 address carries, with the name of the form, if it is one."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped (RFC 4291)", (ip.ipv4_mapped,)
    if ip in _NAT64:
        return "NAT64 (RFC 6052)", (IPv4Address(int(ip) & 0xFFFF_FFFF),)
    if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
        return "6to4 (RFC 3056)", (ip.sixtofour,)
    if ip in _TEREDO and ip.teredo is not None:
        return "Teredo (RFC 4380)", ip.teredo
    return None


def address_refusal(address: str | IPAddress) -> str | None:
    """Why the service must not connect to ``address``, or None if it may.

    ``address`` is an address object or string (an IPv6 zone id like ``fe80::1%eth0`` is
    accepted and refused). A string that is not an address raises ``ValueError``.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv4Address):
        for net, reason in _V4:
            if ip in net:
                return reason
        return None
    bare = IPv6Address(int(ip))  # scope ids do not take part in the class checks
    wrapped = _wrapped_v4(bare)
    if wrapped is not None:
        form, inner = wrapped
        for v4 in inner:
            inner_reason = address_refusal(v4)
            if inner_reason is not None:
                return f"{form} of {v4}: {inner_reason}"
    else:
        for net6, reason6 in _V6:
            if bare in net6:
                return reason6
        if bare not in _GLOBAL_UNICAST:
            return "outside global unicast 2000::/3 (RFC 4291)"
    if ip.scope_id:
        return "scoped address (zone id)"
    return None


def is_allowed(address: str | IPAddress) -> bool:
    """True when the service may connect to ``address`` (see ``address_refusal``)."""
    return address_refusal(address) is None


def _is_ipv4_number(label: str) -> bool:
    """A label the WHATWG URL IPv4 parser reads as a number (decimal, 0x hex or 0 octal)."""
    if label[:2] in ("0x", "0X"):
        return all(c in _HEX_DIGITS for c in label[2:].lower())
    return label != "" and all("0" <= c <= "9" for c in label)


def parse_host(host: str) -> IPAddress | str:
    """The address a URL host (as httpx sends it: no brackets, IDNA-encoded) stands for, or the
    normalised name (lower case, no trailing dot). ``ValueError`` says why it is neither.
    """
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in text:
        if "%" in text:
            raise ValueError(f"IPv6 zone id in host {host!r}")
        try:
            return IPv6Address(text)
        except ValueError:
            raise ValueError(f"malformed IPv6 host {host!r}") from None
    name = text.lower()
    if name.endswith("."):
        name = name[:-1]
    labels = name.split(".")
    if _is_ipv4_number(labels[-1]):
        # A host ending in a number is an IPv4 address to URL parsers and resolvers; anything
        # but a canonical dotted quad is read differently by different parsers.
        try:
            return IPv4Address(name)
        except ValueError:
            raise ValueError(f"numeric host {host!r} is not a dotted-quad IPv4 address") from None
    if (
        not name
        or len(name) > 253
        or any(not label or len(label) > 63 or not set(label) <= _NAME_CHARS for label in labels)
    ):
        raise ValueError(f"{host!r} is not a valid host name")
    return name


def normalise_suffixes(suffixes: Iterable[str]) -> tuple[str, ...]:
    """Operator-given DNS suffixes, lower case without leading/trailing dots; ``ValueError`` if
    one is not a valid name."""
    result: list[str] = []
    for suffix in suffixes:
        name = parse_host(suffix.strip().strip("."))
        if not isinstance(name, str):
            raise ValueError(f"{suffix!r} is an address, not a DNS suffix")
        result.append(name)
    return tuple(result)


def _name_refusal(name: str, extra_suffixes: Iterable[str]) -> str | None:
    for suffix in (*LOCAL_NAME_SUFFIXES, *extra_suffixes):
        if name == suffix or name.endswith("." + suffix):
            return f"{name!r} is a local name (.{suffix})"
    if "." not in name:
        # No public host has a dotless name; resolvers complete it with local search domains.
        return f"single-label name {name!r} (resolved through local search domains)"
    return None


def host_refusal(host: str, extra_suffixes: Iterable[str] = ()) -> str | None:
    """Why a URL host must not be contacted whatever the route (direct or through a proxy), or
    None. ``extra_suffixes`` are operator-given internal suffixes (``normalise_suffixes``)."""
    try:
        parsed = parse_host(host)
    except ValueError as exc:
        return str(exc)
    if isinstance(parsed, str):
        return _name_refusal(parsed, extra_suffixes)
    reason = address_refusal(parsed)
    return None if reason is None else f"{parsed} is {reason}"


def _interleaved(addresses: list[IPAddress]) -> list[IPAddress]:
    """Alternate the address families, the resolver's first family first (RFC 8305 4)."""
    if not addresses:
        return addresses
    first = [a for a in addresses if a.version == addresses[0].version]
    other = [a for a in addresses if a.version != addresses[0].version]
    merged: list[IPAddress] = []
    for index in range(max(len(first), len(other))):
        merged += first[index : index + 1] + other[index : index + 1]
    return merged


async def system_resolver(host: str, port: int) -> list[str]:
    """One resolution through the event loop's ``getaddrinfo``: distinct addresses, in order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend whose TCP connections go only to checked addresses.

    ``connect_tcp(host, port)`` refuses a refused host (``host_refusal``), resolves a name once
    through ``resolver``, refuses if any answer is refused, connects ``inner`` to a checked
    address literal (answers tried with the families interleaved, each with a share of the
    connect timeout), then refuses if the peer of the connected socket is refused. Only the
    TCP address is swapped: httpcore still starts TLS with the URL's host name as
    ``server_hostname``, so SNI and certificate checks use the name.

    ``proxy`` is the one ``(host, port)`` endpoint connected to without checks: the pool of an
    operator-configured proxy. Refusals raise ``AddressBlocked``; DNS failures raise
    ``httpcore.ConnectError`` (or ``ConnectTimeout``), which httpx maps like any connect error.
    """

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
        extra_suffixes: Iterable[str] = (),
        proxy: tuple[str, int] | None = None,
    ) -> None:
        self._resolver: Resolver = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()
        self._extra_suffixes = normalise_suffixes(extra_suffixes)
        self._proxy = proxy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._proxy is not None and (host, port) == self._proxy:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        addresses = _interleaved(await self._checked_addresses(host, port, timeout))
        error: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for index, address in enumerate(addresses):
            attempt = None
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
                # A fair share each, so one black-holed address cannot starve the others.
                attempt = remaining / (len(addresses) - index)
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, attempt, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            await self._check_peer(stream, host)
            return stream
        raise error

    async def _checked_addresses(
        self, host: str, port: int, timeout: float | None
    ) -> list[IPAddress]:
        reason = host_refusal(host, self._extra_suffixes)
        if reason is not None:
            raise AddressBlocked(reason)
        parsed = parse_host(host)
        if not isinstance(parsed, str):
            return [parsed]
        try:
            async with asyncio.timeout(timeout):
                answers = await self._resolver(parsed, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"DNS: resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"DNS: {host}: {exc}") from exc
        if not answers:
            raise httpcore.ConnectError(f"DNS: no address for {host}")
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer)
            except ValueError:
                raise AddressBlocked(f"{host} resolves to a non-address {answer!r}") from None
            refusal = address_refusal(ip)
            if refusal is not None:
                raise AddressBlocked(f"{host} resolves to {ip}: {refusal}")
            addresses.append(ip)
        return addresses

    @staticmethod
    async def _check_peer(stream: httpcore.AsyncNetworkStream, host: str) -> None:
        peer: Any = stream.get_extra_info("server_addr")
        peer_host = peer[0] if isinstance(peer, tuple) and peer else peer
        try:
            refusal = address_refusal(peer_host) if isinstance(peer_host, str) else "unknown"
        except ValueError:
            refusal = "not an address"
        if refusal is not None:
            await stream.aclose()
            raise AddressBlocked(f"{host}: connected peer {peer_host!r} is {refusal}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressBlocked("the fetcher does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
