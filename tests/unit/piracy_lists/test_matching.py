"""Hosts match a listed domain or one of its parents above the public suffix, offline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from piracy_lists import PiracyList, PiracyMatch, PiracyMatcher, load_list, parse_list
from piracy_lists import matching as matching_module
from tests.unit.piracy_lists.common import DATA, HEADER


def a_list(*domains: str, name: str = "t") -> PiracyList:
    body = HEADER.replace('"t"', f'"{name}"', 1)
    return parse_list(body + "domains = [" + ", ".join(f"'{d}'" for d in domains) + "]\n")


def matched(listed: str, query: str) -> str | None:
    found = PiracyMatcher([a_list(listed)]).match(query)
    return found.matched_domain if found else None


MATCHES = [
    # the listed domain and its subdomains
    ("streamvault-free.to", "streamvault-free.to", "streamvault-free.to"),
    ("streamvault-free.to", "www.streamvault-free.to", "streamvault-free.to"),
    ("streamvault-free.to", "a.b.streamvault-free.to", "streamvault-free.to"),
    # spelling: case, trailing dot, whitespace
    ("streamvault-free.to", "STREAMVAULT-FREE.TO", "streamvault-free.to"),
    ("streamvault-free.to", "Www.StreamVault-Free.To.", "streamvault-free.to"),
    ("streamvault-free.to", "  streamvault-free.to\n", "streamvault-free.to"),
    # ports and URLs
    ("streamvault-free.to", "streamvault-free.to:8443", "streamvault-free.to"),
    ("streamvault-free.to", "https://cdn.streamvault-free.to/x?y#z", "streamvault-free.to"),
    ("streamvault-free.to", "HTTP://WWW.STREAMVAULT-FREE.TO:80/", "streamvault-free.to"),
    ("streamvault-free.to", "https://user:pw@streamvault-free.to/", "streamvault-free.to"),
    ("streamvault-free.to", "https://streamvault-free.to./", "streamvault-free.to"),
    # multi-label public suffixes
    ("books.example.co.uk", "books.example.co.uk", "books.example.co.uk"),
    ("books.example.co.uk", "www.books.example.co.uk", "books.example.co.uk"),
    ("example.co.uk", "books.example.co.uk", "example.co.uk"),
    ("films.com.au", "www.films.com.au", "films.com.au"),
    ("films.com.au", "https://a.b.films.com.au/", "films.com.au"),
    # IDN: Unicode listed, punycode asked, and the other way round
    ("bücher-frei.de", "xn--bcher-frei-9db.de", "xn--bcher-frei-9db.de"),
    ("bücher-frei.de", "www.xn--bcher-frei-9db.de", "xn--bcher-frei-9db.de"),
    ("xn--bcher-frei-9db.de", "www.bücher-frei.de", "xn--bcher-frei-9db.de"),
    ("xn--bcher-frei-9db.de", "https://BÜCHER-FREI.de/", "xn--bcher-frei-9db.de"),
    ("пример.рф", "www.xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
    # IP literals match exactly
    ("203.0.113.7", "203.0.113.7", "203.0.113.7"),
    ("203.0.113.7", "203.0.113.7:8080", "203.0.113.7"),
    ("203.0.113.7", "http://203.0.113.7:8080/", "203.0.113.7"),
    ("2001:db8::1", "[2001:DB8::1]", "2001:db8::1"),
    ("2001:db8::1", "[2001:db8:0::1]:443", "2001:db8::1"),
    ("2001:db8::1", "2001:db8::0:1", "2001:db8::1"),
    ("2001:db8::1", "https://[2001:db8::1]:8443/x", "2001:db8::1"),
    # an unknown TLD has no known suffix: parents still count
    ("a.b.zzunknowntld", "q.a.b.zzunknowntld", "a.b.zzunknowntld"),
]

NEAR_MISSES = [
    ("streamvault-free.to", "notstreamvault-free.to"),
    ("streamvault-free.to", "streamvault-free.to.evil.com"),
    ("streamvault-free.to", "https://evil.com/streamvault-free.to"),
    ("streamvault-free.to", "https://evil.com/?u=http://streamvault-free.to/"),
    ("streamvault-free.to", "streamvault-free.tv"),
    ("streamvault-free.to", "streamvault-free-to.com"),
    ("books.example.co.uk", "example.co.uk"),
    ("books.example.co.uk", "other.example.co.uk"),
    ("books.example.co.uk", "co.uk"),
    ("films.com.au", "com.au"),
    ("xn--bcher-frei-9db.de", "bucher-frei.de"),
    ("203.0.113.7", "203.0.113.70"),
    ("203.0.113.7", "x.203.0.113.7.nip.io"),
    ("2001:db8::1", "[2001:db8::2]"),
    ("streamvault-free.to", "203.0.113.7"),
]


@pytest.mark.parametrize(("listed", "query", "expected"), MATCHES)
def test_listed_domains_and_their_subdomains_match(listed: str, query: str, expected: str) -> None:
    assert matched(listed, query) == expected


@pytest.mark.parametrize(("listed", "query"), NEAR_MISSES)
def test_near_misses_do_not_match(listed: str, query: str) -> None:
    assert matched(listed, query) is None


def test_a_match_reports_the_host_the_entry_and_every_list_naming_it() -> None:
    it = load_list(DATA / "authority_it.toml")
    at = load_list(DATA / "court_at.toml")
    matcher = PiracyMatcher([it, at])
    assert matcher.match("https://Video.StreamVault-Free.to/watch") == PiracyMatch(
        host="video.streamvault-free.to", matched_domain="streamvault-free.to", lists=(it, at)
    )
    only_at = matcher.match("kino-raubkopie.de")
    assert only_at is not None
    assert [pl.issuer for pl in only_at.lists] == ["Fixture Commercial Court (fictional)"]
    assert matcher.lists == (it, at)
    assert len(matcher) == 8  # seven domains in one list, two in the other, one shared


def test_the_most_specific_listed_entry_wins() -> None:
    matcher = PiracyMatcher([a_list("example.co.uk"), a_list("books.example.co.uk", name="u")])
    found = matcher.match("www.books.example.co.uk")
    assert found is not None
    assert found.matched_domain == "books.example.co.uk"
    assert [pl.name for pl in found.lists] == ["u"]


def test_an_empty_matcher_matches_nothing() -> None:
    matcher = PiracyMatcher([])
    assert len(matcher) == 0
    assert matcher.match("streamvault-free.to") is None
    assert "domains=0" in repr(matcher)


def test_the_demo_list_blocks_its_hosts(demo_matcher: PiracyMatcher) -> None:
    assert demo_matcher.match("https://www.warezbay-books.net/") is not None
    assert demo_matcher.match("kino-raubkopie.de:443") is not None
    assert demo_matcher.match("https://example.org/") is None


@pytest.fixture
def demo_matcher() -> PiracyMatcher:
    from piracy_lists import demo_list_path

    return PiracyMatcher([load_list(demo_list_path())])


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "http:///nohost",
        "https://",
        "ftp://streamvault-free.to/",
        "javascript://streamvault-free.to/",
        "bad host name",
        "streamvault-free.to/path",
        "streamvault-free.to:",
        "streamvault-free.to:99999",
        "streamvault-free.to:8x",
        "https://streamvault-free.to:99999/",
        "https://streamvault-free.to:port/",
        "https://evil.com\\@streamvault-free.to/",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "[streamvault-free.to]",
        "127.1",
        "https://0x7f.1/",
        "*.streamvault-free.to",
    ],
)
def test_unusable_input_raises_so_callers_fail_closed(query: str) -> None:
    for matcher in (PiracyMatcher([a_list("streamvault-free.to")]), PiracyMatcher([])):
        with pytest.raises(ValueError):
            matcher.match(query)


# --- offline ------------------------------------------------------------------------------


@pytest.fixture
def fresh_extractor() -> Iterator[None]:
    """Drop the memoised extractor and suffixes so the test sees them being built."""
    matching_module._extractor.cache_clear()
    matching_module.public_suffix.cache_clear()
    yield
    matching_module._extractor.cache_clear()
    matching_module.public_suffix.cache_clear()


@pytest.mark.usefixtures("fresh_extractor")
def test_the_suffix_list_is_never_fetched_and_no_cache_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used")

    for name in ("socket", "create_connection", "getaddrinfo"):
        monkeypatch.setattr(socket, name, refuse)
    monkeypatch.setattr(requests.Session, "send", refuse)
    # Even with the environment asking tldextract to fetch and cache, it must not.
    monkeypatch.setenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "https://publicsuffix.invalid/l.dat")
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    matcher = PiracyMatcher([a_list("books.example.co.uk", "streamvault-free.to")])
    assert matcher.match("www.books.example.co.uk") is not None
    assert matcher.match("example.co.uk") is None
    assert matching_module.public_suffix("a.b.example.com.au") == "com.au"
    assert list(tmp_path.iterdir()) == []


def test_public_suffixes_come_from_the_icann_section_only() -> None:
    assert matching_module.public_suffix("x.co.uk") == "co.uk"
    assert matching_module.public_suffix("x.github.io") == "io"  # private entry: not a suffix
    assert matching_module.public_suffix("x.zzunknowntld") == ""
    # so a private-section domain can be listed as a whole
    assert matched("github.io", "someone.github.io") == "github.io"


def test_suffix_lookups_are_memoised_with_a_bound() -> None:
    info = matching_module.public_suffix.cache_info()
    assert info.maxsize is not None
    assert 0 < info.maxsize <= 100_000
