"""Is a host on a piracy list? Registrable-domain matching with an offline public suffix list."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from piracy_lists.loader import PiracyList, normalise_host


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # No suffix list URLs and no cache directory: the snapshot bundled with tldextract is used
    # and nothing is fetched or written.
    return tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=None,
        fallback_to_snapshot=True,
        include_psl_private_domains=False,
    )


@lru_cache(maxsize=65536)
def public_suffix(host: str) -> str:
    """The ICANN public suffix of a normalised host ('' when it has none)."""
    return str(_extractor().extract_str(host).suffix)


@dataclass(frozen=True, slots=True)
class PiracyMatch:
    host: str
    matched_domain: str
    lists: tuple[PiracyList, ...]


def _host_of(host_or_url: str) -> str:
    value = host_or_url.strip()
    if "://" in value:
        hostname = urlsplit(value).hostname
        if not hostname:
            raise ValueError(f"no host in {host_or_url!r}")
        return normalise_host(hostname)
    if value.startswith("["):
        return normalise_host(value.split("]", 1)[0] + "]")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    return normalise_host(value.rsplit(":", 1)[0] if value.count(":") == 1 else value)


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

    def match(self, host_or_url: str) -> PiracyMatch | None:
        """The listed entry covering this host, or None. Raises ValueError for unusable input."""
        if not self._index:
            return None
        host = _host_of(host_or_url)
        if host in self._index:
            return PiracyMatch(host, host, self._index[host])
        if ":" in host or host.replace(".", "").isdigit():
            return None  # IP literals match only exactly
        suffix = public_suffix(host)
        # Candidates stop above the public suffix (an unknown TLD has none: every parent counts).
        floor = len(host) - len(suffix) - 1 if suffix else len(host)
        position = host.find(".")
        while position != -1 and position + 1 < floor:
            candidate = host[position + 1 :]
            found = self._index.get(candidate)
            if found is not None:
                return PiracyMatch(host, candidate, found)
            position = host.find(".", position + 1)
        return None
