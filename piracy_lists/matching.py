"""Is a host on a piracy list? Parent-domain matching with an offline public suffix list.

A host matches when the host itself, or one of its parent domains that is longer than its
ICANN public suffix, is listed. IP literals match only themselves. The public suffix list is
the snapshot bundled with tldextract: nothing is ever fetched and nothing is written to disk.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from piracy_lists.loader import PiracyList, normalise_host

_URL_SCHEMES = frozenset({"http", "https"})


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # An explicit empty URL tuple wins over TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS, so there is
    # nothing to fetch; cache_dir=None disables the disk cache (no reads, no writes); and the
    # snapshot fallback is what then supplies the suffixes.
    return tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=None,
        fallback_to_snapshot=True,
        include_psl_private_domains=False,
    )


@lru_cache(maxsize=16384)
def public_suffix(host: str) -> str:
    """The ICANN public suffix of a normalised host name ('' when its TLD is unknown)."""
    return str(_extractor().extract_str(host).suffix)


@dataclass(frozen=True, slots=True)
class PiracyMatch:
    """``host`` is blocked because ``matched_domain`` is on every list in ``lists``."""

    host: str
    matched_domain: str
    lists: tuple[PiracyList, ...]


def host_of(host_or_url: str) -> tuple[str, bool]:
    """The normalised host of a bare host, ``host:port`` or http(s) URL, and whether it is an IP.

    Raises ValueError for anything else, so that callers can fail closed.
    """
    value = host_or_url.strip()
    if "://" in value:
        return _host_of_url(value)
    if value.startswith("["):
        inner, bracket, rest = value[1:].partition("]")
        if not bracket:
            raise ValueError(f"unclosed '[' in {host_or_url!r}")
        _check_port(rest, host_or_url)
        return normalise_host(f"[{inner}]"), True
    if value.count(":") == 1:
        value, _, port = value.partition(":")
        _check_port(":" + port, host_or_url)
    return _normalised(value)


def _host_of_url(url: str) -> tuple[str, bool]:
    if "\\" in url.partition("?")[0].partition("#")[0]:
        # Browsers read '\' as '/' in http(s) URLs while urlsplit does not: the two would
        # disagree about the host, so refuse rather than guess.
        raise ValueError(f"backslash in the authority or path of {url!r}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise ValueError(f"not an http(s) URL: {url!r}")
    hostname = parts.hostname
    if not hostname:
        raise ValueError(f"no host in {url!r}")
    parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    if parts.netloc.rpartition("@")[2].startswith("["):
        return normalise_host(f"[{hostname}]"), True
    return _normalised(hostname)


@lru_cache(maxsize=16384)
def _normalised(host: str) -> tuple[str, bool]:
    # A crawl asks about the same hosts over and over; errors are raised, never cached.
    normal = normalise_host(host)
    return normal, _is_ip(normal)


def _check_port(rest: str, original: str) -> None:
    if not rest:
        return
    port = rest[1:]
    if not rest.startswith(":") or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid port in {original!r}")


def _is_ip(host: str) -> bool:
    # normalise_host only lets digits-and-dots names through when they are IPv4 addresses.
    if ":" in host:
        return True
    if not host[-1].isdigit():
        return False
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


class PiracyMatcher:
    """Matches hosts against every loaded list; a listed domain blocks its subdomains too."""

    def __init__(self, lists: Iterable[PiracyList]) -> None:
        self._lists = tuple(lists)
        index: dict[str, list[PiracyList]] = {}
        for piracy_list in self._lists:
            for domain in piracy_list.domains:
                index.setdefault(domain, []).append(piracy_list)
        self._index = {domain: tuple(found) for domain, found in index.items()}

    @property
    def lists(self) -> tuple[PiracyList, ...]:
        return self._lists

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        names = [piracy_list.name for piracy_list in self._lists]
        return f"PiracyMatcher(lists={names}, domains={len(self._index)})"

    def match(self, host_or_url: str) -> PiracyMatch | None:
        """The listed entry covering this host (bare, ``host:port`` or http(s) URL), or None.

        Input without a usable host raises ValueError, even when no list is loaded, so that
        callers fail closed on it rather than treat it as unlisted.
        """
        host, is_ip = host_of(host_or_url)
        index = self._index
        found = index.get(host)
        if found is not None:
            return PiracyMatch(host, host, found)
        if is_ip or not index:
            return None
        suffix = public_suffix(host)
        # A parent qualifies while it starts before the dot that precedes the public suffix;
        # with an unknown TLD (no suffix) every parent qualifies.
        limit = len(host) - len(suffix) - 1 if suffix else len(host)
        dot = host.find(".")
        while dot != -1 and dot + 1 < limit:
            candidate = host[dot + 1 :]
            found = index.get(candidate)
            if found is not None:
                return PiracyMatch(host, candidate, found)
            dot = host.find(".", dot + 1)
        return None
