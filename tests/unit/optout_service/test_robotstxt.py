"""The robots.txt engine against public expectations, the disputed readings, and bad input."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optout_service.policy.robots import decode_robots
from optout_service.policy.robotstxt import RobotsTxt, normalise_path, product_token
from tests.unit.optout_service.robots_cases import CASES


def path_of(url: str) -> str:
    if not url:
        return "/"
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize(("source", "robots", "agent", "url", "allowed"), CASES)
def test_public_expectations(source: str, robots: str, agent: str, url: str, allowed: bool) -> None:
    assert RobotsTxt.parse(robots).allowed(path_of(url), agent) is allowed, source


@pytest.mark.parametrize(("source", "robots", "agent", "url", "allowed"), CASES)
def test_keeping_only_the_groups_of_our_token_changes_nothing(
    source: str, robots: str, agent: str, url: str, allowed: bool
) -> None:
    tokens = [agent] if agent else []
    assert RobotsTxt.parse(robots, tokens=tokens).allowed(path_of(url), agent) is allowed, source


# Where RFC 9309 and google/robotstxt disagree we follow the RFC (docs/robots.md).
@pytest.mark.parametrize(
    ("robots", "url", "allowed", "google"),
    [
        # RFC 2.2.2: escapes of unreserved characters are decoded on both sides.
        (
            "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n",
            "/foo/bar/baz",
            True,
            False,
        ),
        # The URL's non-ASCII characters are encoded before comparison, as the pattern's are.
        ("User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/ツ\n", "/foo/bar/ツ", True, False),
        # Google treats "index.html" as "/"; the RFC does not: /allowed-slash/ stays disallowed.
        (
            "User-Agent: *\nAllow: /allowed-slash/index.html\nDisallow: /\n",
            "/allowed-slash/",
            False,
            True,
        ),
    ],
)
def test_disputed_cases_follow_the_rfc(robots: str, url: str, allowed: bool, google: bool) -> None:
    assert allowed is not google
    assert RobotsTxt.parse(robots).allowed(url, "FooBot") is allowed


def test_a_token_with_digits_is_decided_under_both_readings() -> None:
    # RFC 9309 2.2.1 (and google/robotstxt) read "User-agent: Rule1TestBot" as "rule", so no line
    # names the crawler Rule1TestBot and the '*' group applies; Protego keeps the line whole and
    # picks its group. A crawler token with digits gets the stricter answer (docs/robots.md).
    robots = RobotsTxt.parse(
        "User-agent: Rule1TestBot\nDisallow: /a\n\nUser-agent: Rule2TestBot\nDisallow: /b\n"
        "\nUser-agent: *\nDisallow: /c\nCrawl-delay: 7\n"
    )
    assert not robots.allowed("/a", "rule")
    assert not robots.allowed("/b", "rule")  # both groups name "rule" and are merged
    assert robots.allowed("/c", "rule")
    assert not robots.allowed("/a", "Rule1TestBot")  # its own group (Protego's reading)
    assert robots.allowed("/b", "Rule1TestBot")  # named by neither reading
    assert not robots.allowed("/c", "Rule1TestBot")  # the '*' group (the RFC's reading)
    assert not robots.match("/c", "Rule1TestBot").allowed
    assert robots.crawl_delay("Rule1TestBot") == 7.0


@pytest.mark.parametrize(
    ("robots", "token", "path", "allowed"),
    [
        # Protego's reading names MJ12bot; its group disallows.
        ("User-agent: MJ12bot\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "MJ12bot", "/x", False),
        # The RFC's reading names no group; the '*' group disallows.
        ("User-agent: MJ12bot\nAllow: /\n\nUser-agent: *\nDisallow: /\n", "MJ12bot", "/x", False),
        # A line naming only the cut form names neither MJ12bot reading.
        ("User-agent: MJ\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "MJ12bot", "/x", True),
        ("User-agent: AI2Bot\nDisallow: /p\n", "AI2Bot", "/q", True),
        # A token that starts with a digit.
        ("User-agent: 360Spider\nDisallow: /p\n", "360Spider", "/p", False),
        ("User-agent: 360Spider\nDisallow: /p\n", "OtherBot", "/p", True),
        (
            "User-agent: *\nDisallow: /p\n\nUser-agent: 360Spider\nAllow: /\n",
            "360Spider",
            "/p",
            False,
        ),
        # Tokens without digits read as before: the line is cut.
        ("User-agent: MJ12bot\nDisallow: /\n", "MJ", "/x", False),
        ("User-agent: MJ12bot\nDisallow: /\n", "FooBot", "/x", True),
    ],
)
def test_digit_tokens_take_the_stricter_reading(
    robots: str, token: str, path: str, allowed: bool
) -> None:
    parsed = RobotsTxt.parse(robots)
    assert parsed.allowed(path, token) is allowed
    assert parsed.match(path, token).allowed is allowed
    assert RobotsTxt.parse(robots, tokens=[token]).allowed(path, token) is allowed


def test_digit_tokens_take_the_longer_delay_and_the_slower_rate() -> None:
    robots = RobotsTxt.parse(
        "User-agent: MJ12bot\nCrawl-delay: 9\nRequest-rate: 1/60s\nDisallow: /x\n\n"
        "User-agent: *\nCrawl-delay: 2\nRequest-rate: 1/5s\n"
    )
    assert robots.crawl_delay("MJ12bot") == 9.0
    assert robots.request_rate("MJ12bot") == (1, 60.0)
    robots = RobotsTxt.parse(
        "User-agent: MJ12bot\nCrawl-delay: 1\nDisallow: /x\n\nUser-agent: *\nCrawl-delay: 4\n"
    )
    assert robots.crawl_delay("MJ12bot") == 4.0
    assert robots.crawl_delay("MJ") == 1.0  # one reading: the line names "mj"


def test_the_deciding_line_is_reported() -> None:
    robots = RobotsTxt.parse("# hi\nUser-agent: FooBot\nAllow: /a/b\nDisallow: /a\n")
    found = robots.match("/a/b/c", "FooBot")
    assert found.rule is not None
    assert (found.allowed, found.rule.line, found.rule.directive, found.rule.pattern) == (
        True,
        3,
        "allow",
        "/a/b",
    )
    denied = robots.match("/a/x", "FooBot")
    assert denied.rule is not None
    assert (denied.allowed, denied.rule.line, denied.rule.directive) == (False, 4, "disallow")
    assert robots.match("/other", "FooBot").rule is None


def test_line_endings_and_line_numbers() -> None:
    for eol in ("\n", "\r\n", "\r"):
        text = eol.join(
            ["User-Agent: foo", "Allow: /some/path", "User-Agent: bar", "", "", "Disallow: /"]
        )
        robots = RobotsTxt.parse(text)
        assert robots.lines == 6
        found = robots.match("/x", "bar")
        assert found.rule is not None
        assert found.rule.line == 6


def test_crawl_delay_request_rate_and_sitemaps() -> None:
    robots = RobotsTxt.parse(
        "Sitemap: http://e.com/a.xml\nUser-agent: FooBot\nCrawl-delay: 2.5\nRequest-rate: 1/10s\n"
        "Disallow: /x\nUser-agent: *\nCrawl-delay: 9\nSite-map: http://e.com/b.xml\nDisallow: /y\n"
        "User-agent: foobot\nCrawl-delay: abc\nCrawl-delay: 4\n"
    )
    assert robots.sitemaps == ["http://e.com/a.xml", "http://e.com/b.xml"]
    assert robots.crawl_delay("FooBot") == 4.0  # the strictest of the merged groups
    assert robots.request_rate("FooBot") == (1, 10.0)
    assert robots.crawl_delay("OtherBot") == 9.0


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("FooBot/1.2", "foobot"),
        ("FooBot bar", "foobot"),
        ("One, Two", "one"),
        ("*", "*"),
        ("* ", "*"),
        ("Foo_Bar-Baz", "foo_bar-baz"),
        ("/x", ""),
        ("ツbot", ""),
    ],
)
def test_product_token(value: str, token: str) -> None:
    assert product_token(value) == token


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("/a%2fb", "/a%2Fb"),
        ("/%7e%41", "/~A"),
        ("/café", "/caf%C3%A9"),
        ("/a b", "/a%20b"),
        ("/%zz", "/%25zz"),  # a '%' that starts no escape is a literal '%'
        ("/100%", "/100%25"),
        ("/*.php$", "/%2A.php%24"),  # in a URL, '*' and '$' are literals (RFC 9309 2.2.3)
        ("/a[1]", "/a%5B1%5D"),
        ("/a%5b1%5D", "/a%5B1%5D"),
        ("/search?", "/search?"),
        ("/plain", "/plain"),
    ],
)
def test_normalise_path(raw: str, normalised: str) -> None:
    assert normalise_path(raw) == normalised


def test_partial_utf8_bom_is_skipped() -> None:
    for prefix in (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"):
        robots = RobotsTxt.parse(decode_robots(prefix + b"User-Agent: foo\nDisallow: /\n"))
        assert not robots.allowed("/x", "foo")


@pytest.mark.timeout(20)
def test_hostile_bodies_finish_without_crashing() -> None:
    nul = RobotsTxt.parse(decode_robots(b"\x00" * 1_000_000))
    assert nul.allowed("/", "FooBot")
    huge = decode_robots(b"User-agent: *\n" + b"Disallow: /a/b/c/d/e/f/g\n" * 400_000)  # ~10 MB
    # More than MAX_RULES_PER_GROUP rules: what was cut could disallow anything (fail closed).
    assert not RobotsTxt.parse(huge).allowed("/x", "FooBot")
    many = "User-agent: FooBot\n" + "".join(f"Disallow: /p{i}\n" for i in range(100_000))
    assert not RobotsTxt.parse(many).allowed("/p99999", "FooBot")
    wild = RobotsTxt.parse("User-agent: *\nDisallow: /" + "*a" * 5000 + "\n")
    # 5,001 segments: the disallow keeps its first MAX_SEGMENTS and so matches more paths.
    assert not wild.allowed("/" + "a" * 4000 + "b", "FooBot")
    assert wild.allowed("/" + "a" * 14, "FooBot")
    assert not wild.allowed("/" + "a" * 5001, "FooBot")
    long_line = RobotsTxt.parse("User-agent: *\nDisallow: /" + "x" * 100_000 + "\n")
    assert long_line.allowed("/x", "FooBot")
    binary = RobotsTxt.parse(decode_robots(bytes(range(256)) * 4000))
    assert binary.allowed("/", "FooBot")


robots_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "User-agent: *",
                "User-agent: FooBot",
                "Disallow: /",
                "Allow: /a",
                "Disallow:",
                "Crawl-delay: 1",
                "Sitemap: x",
                "#c",
                "",
                "user agent foobot",
                "disallow /b*$",
            ]
        ),
        st.text(max_size=40),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(lines=robots_lines, path=st.text(max_size=40), agent=st.text(max_size=12))
def test_any_input_parses_and_decides_deterministically(
    lines: list[str], path: str, agent: str
) -> None:
    text = "\n".join(lines)
    first = RobotsTxt.parse(text).match("/" + path, agent)
    second = RobotsTxt.parse(text).match("/" + path, agent)
    assert first == second


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=2000))
def test_any_bytes_parse(body: bytes) -> None:
    RobotsTxt.parse(decode_robots(body)).allowed("/x", "FooBot")


def test_every_key_starts_with_a_letter_the_fast_reject_lets_through() -> None:
    from optout_service.policy.robotstxt import _KEY_INITIALS, _KEYS

    for key in _KEYS:
        assert {key[0], key[0].upper()} <= _KEY_INITIALS, key


@pytest.mark.parametrize(
    ("agent", "rate"),
    # Units from scrapy/protego tests/test_protego.py test_request_rate (s, m, h, d; a visit-time
    # window after the rate is accepted and ignored), each agent in a group of its own here.
    [
        ("one", (1, 10.0)),
        ("two", (100, 900.0)),
        ("three", (400, 3600.0)),
        ("four", (9000, 86400.0)),
        ("five", (1, 10.0)),
        ("six", None),
    ],
)
def test_request_rate_units(agent: str, rate: tuple[int, float] | None) -> None:
    robots = RobotsTxt.parse(
        "User-agent: one\nRequest-rate: 1/10s\nDisallow: /x\n"
        "User-agent: two\nRequest-rate: 100/15m\nDisallow: /x\n"
        "User-agent: three\nRequest-rate: 400/1h\nDisallow: /x\n"
        "User-agent: four\nRequest-rate: 9000/1d\nDisallow: /x\n"
        "User-agent: five\nRequest-rate: 1/10s 1820-1940\nDisallow: /x\n"
        "User-agent: six\nDisallow: /\n"
    )
    assert robots.request_rate(agent) == rate


def test_agents_not_separated_by_a_rule_share_one_group() -> None:
    # Protego's own fixture: no allow/disallow line between the agents, so under RFC 9309 2.2.4
    # they are one group, and the strictest rate of the group applies to each of them.
    robots = RobotsTxt.parse(
        "User-agent: one\nRequest-rate: 1/10s\nUser-agent: two\nRequest-rate: 100/15m\n"
        "User-agent: three\nRequest-rate: 400/1h\n"
    )
    assert robots.request_rate("two") == (1, 10.0)
    assert robots.request_rate("three") == (1, 10.0)


# RFC 9309 2.2.3, the table of special characters and percent-encoding examples.
RFC_TABLE = [
    ("/path/file-with-a-%2A.html", "/path/file-with-a-*.html", False),
    ("/path/file-with-a-%2A.html", "/path/file-with-a-%2A.html", False),
    ("/path/file-with-a-%2A.html", "/path/file-with-a-x.html", True),
    ("/path/foo-%24", "/path/foo-$", False),
    ("/%24", "/$100", False),
    ("/%24", "/100", True),
    ("/path/file-with-a-*.html", "/path/file-with-a-anything.html", False),  # '*' is a wildcard
    ("/path/foo-$", "/path/foo-", False),  # a final '$' anchors
    ("/path/foo-$", "/path/foo-bar", True),
    ("/a$b", "/a$b", False),  # a '$' before the end is a literal
    ("/a$b", "/ab", True),
    ("/search?", "/search?", False),  # an empty query keeps its '?'
    ("/search?", "/search", True),
    ("/a[1]", "/a[1]", False),  # '[' and ']' compare equal however either side writes them
    ("/a[1]", "/a%5B1%5D", False),
    ("/a%5B1%5D", "/a[1]", False),
    ("/a%5b1%5d", "/a[1]/x", False),
    ("/100%", "/100%", False),
    ("/100%", "/100%25", False),
]


@pytest.mark.parametrize(("pattern", "path", "allowed"), RFC_TABLE)
def test_special_characters_and_their_escapes(pattern: str, path: str, allowed: bool) -> None:
    robots = RobotsTxt.parse(f"User-agent: *\nDisallow: {pattern}\n")
    assert robots.allowed(path, "FooBot") is allowed
    assert robots.match(path, "FooBot").allowed is allowed


# Characters a URL may spell either way: as themselves, or percent-encoded.
_SPELLABLE = "abc/[]!'()+,;=:@~-._"


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.text(alphabet=_SPELLABLE, min_size=1, max_size=12),
    path=st.text(alphabet=_SPELLABLE, max_size=16),
    pattern_choices=st.lists(st.booleans(), max_size=12),
    path_choices=st.lists(st.booleans(), max_size=16),
    allow=st.booleans(),
)
def test_encoding_either_side_never_changes_the_answer(
    pattern: str,
    path: str,
    pattern_choices: list[bool],
    path_choices: list[bool],
    allow: bool,
) -> None:
    """Percent-encoding characters of the rule or of the URL (RFC 3986 equivalent for
    unreserved characters; for '[' and ']' the only spelling a URL path may carry) must not
    change what the rule says about the URL. Reserved gen-delims other than '[' ']' ('/', ':',
    '@', sub-delims) are left as written: RFC 3986 does not make them equal to their escapes."""
    directive = "Allow" if allow else "Disallow"
    base = RobotsTxt.parse(f"User-agent: *\nDisallow: /\n{directive}: /{pattern}\n")
    expected = base.allowed("/" + path, "FooBot")
    equivalent = set("abc[]~-._")  # characters whose escape means the same
    enc_pattern = "".join(
        f"%{ord(c):02X}" if c in equivalent and pick else c
        for c, pick in zip(pattern, pattern_choices + [False] * len(pattern), strict=False)
    )
    enc_path = "".join(
        f"%{ord(c):02X}" if c in equivalent and pick else c
        for c, pick in zip(path, path_choices + [False] * len(path), strict=False)
    )
    encoded = RobotsTxt.parse(f"User-agent: *\nDisallow: /\n{directive}: /{enc_pattern}\n")
    assert encoded.allowed("/" + path, "FooBot") is expected
    assert base.allowed("/" + enc_path, "FooBot") is expected
    assert encoded.allowed("/" + enc_path, "FooBot") is expected
