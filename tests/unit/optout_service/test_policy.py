"""Pure policy functions: URL normalisation, the robots.txt status policy, observation rules."""

from __future__ import annotations

import pytest

from optout_service.outcomes import FetchOutcome, outcome_for_status
from optout_service.policy.robots import RobotsRules, decode_robots
from optout_service.reasons import Reason
from optout_service.urls import InvalidURL, normalise_url, path_query_of


@pytest.mark.parametrize(
    ("raw", "url", "origin"),
    [
        ("http://Example.COM", "http://example.com/", "http://example.com"),
        ("HTTPS://example.com:443/a?b=c#frag", "https://example.com/a?b=c", "https://example.com"),
        ("http://example.com:8080/a b", "http://example.com:8080/a%20b", "http://example.com:8080"),
        ("http://example.com./%7Euser/", "http://example.com/%7Euser/", "http://example.com"),
        (
            "http://bücher.example/straße",
            "http://xn--bcher-kva.example/stra%C3%9Fe",
            "http://xn--bcher-kva.example",
        ),
        ("http://[2001:db8::1]:8000/x", "http://[2001:db8::1]:8000/x", "http://[2001:db8::1]:8000"),
        ("http://127.0.0.1/", "http://127.0.0.1/", "http://127.0.0.1"),
    ],
)
def test_normalise_url(raw: str, url: str, origin: str) -> None:
    normalised = normalise_url(raw)
    assert normalised.url == url
    assert normalised.origin == origin
    assert normalised.robots_url == origin + "/robots.txt"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "/relative",
        "ftp://example.com/",
        "javascript:alert(1)",
        "http://",
        "http://exa mple.com/",
        "http://a..b/",
        "http://example.com:99999/",
        "http://" + "a" * 64 + ".com/",
        "http://x/\n",
        "http://[::1/",
    ],
)
def test_invalid_urls_raise(raw: str) -> None:
    with pytest.raises(InvalidURL):
        normalise_url(raw)


@pytest.mark.parametrize(
    ("raw", "url", "path_query"),
    [
        # RFC 9309 rules such as "Disallow: /search?" name the URL with an empty query only.
        ("http://example.com/search?", "http://example.com/search?", "/search?"),
        ("http://example.com/search?#top", "http://example.com/search?", "/search?"),
        ("http://example.com/search#a?b", "http://example.com/search", "/search"),
        ("http://example.com/search", "http://example.com/search", "/search"),
        ("http://example.com?", "http://example.com/?", "/?"),
        ("http://example.com/a?b", "http://example.com/a?b", "/a?b"),
        ("http://example.com/a[1]", "http://example.com/a%5B1%5D", "/a%5B1%5D"),
    ],
)
def test_an_empty_query_keeps_its_question_mark(raw: str, url: str, path_query: str) -> None:
    normalised = normalise_url(raw)
    assert (normalised.url, normalised.path_query) == (url, path_query)


@pytest.mark.parametrize(
    ("raw", "path_query"),
    [
        ("ftp://ftp.example.com/pub/file.txt", "/pub/file.txt"),
        ("ftp://ftp.example.com", "/"),
        ("sftp://h/a b?", "/a%20b?"),
        ("HTTP://Example.com/x?y", "/x?y"),
    ],
)
def test_the_path_of_a_url_of_any_scheme(raw: str, path_query: str) -> None:
    assert path_query_of(raw, max_length=65536) == path_query


@pytest.mark.parametrize("raw", ["mailto:x@y", "urn:isbn:123", "/relative", "ftp://h/\x00"])
def test_a_url_without_a_host_has_no_path_to_match(raw: str) -> None:
    with pytest.raises(InvalidURL):
        path_query_of(raw, max_length=65536)


def test_overlong_url() -> None:
    with pytest.raises(InvalidURL, match="longer than"):
        normalise_url("http://example.com/" + "a" * 9000)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, FetchOutcome.OK),
        (204, FetchOutcome.OK),
        (400, FetchOutcome.CLIENT_ERROR),
        (401, FetchOutcome.CLIENT_ERROR),
        (404, FetchOutcome.CLIENT_ERROR),
        (410, FetchOutcome.CLIENT_ERROR),
        (429, FetchOutcome.SERVER_ERROR),
        (500, FetchOutcome.SERVER_ERROR),
        (503, FetchOutcome.SERVER_ERROR),
        (304, FetchOutcome.SERVER_ERROR),
        (600, FetchOutcome.SERVER_ERROR),
    ],
)
def test_status_policy(status: int, outcome: FetchOutcome) -> None:
    # RFC 9309 2.3.1.3 (4xx: no restrictions) and 2.3.1.4 (5xx: complete disallow).
    assert outcome_for_status(status) is outcome


def test_unreachable_rules_disallow_everything_even_robots_txt() -> None:
    rules = RobotsRules(FetchOutcome.NETWORK_ERROR)
    assert not rules.evaluate("/", "ExampleBot").allowed
    assert rules.evaluate("/robots.txt", "ExampleBot").reason is Reason.ROBOTS_UNREACHABLE


def test_decode_robots_never_raises() -> None:
    assert decode_robots(b"\xef\xbb\xbfUser-agent: *") == "User-agent: *"
    assert decode_robots("User-agent: *".encode("utf-16")) == "User-agent: *"
    assert "\ufffd" in decode_robots(b"User-agent: \xff\xfe\xfa")
    rules = RobotsRules(FetchOutcome.OK, b"\x00" * 1000 + b"\nDisallow: /")
    assert rules.evaluate("/x", "ExampleBot").allowed


def test_crawl_delay_for_our_token() -> None:
    rules = RobotsRules(FetchOutcome.OK, b"User-agent: ExampleBot\nCrawl-delay: 3\nDisallow: /a\n")
    verdict = rules.evaluate("/b", "ExampleBot")
    assert (verdict.allowed, verdict.crawl_delay) == (True, 3.0)
    assert rules.evaluate("/b", "OtherBot").crawl_delay is None
