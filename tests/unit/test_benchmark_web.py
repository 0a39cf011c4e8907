"""The crawl benchmark's corpus web and its profile grouping: pure functions, no network."""

from __future__ import annotations

import gc
import os
from urllib.parse import urlsplit

import pytest

from benchmarks.corpus_web import (
    DEFAULT_PAGES,
    MAX_PATH_CHARS,
    CorpusWeb,
    build_host,
    build_web,
    concrete_path,
    page_count,
    parse_pages,
    rule_paths,
)
from benchmarks.crawl import _GcTimer, _server_cpu
from benchmarks.profile_split import OTHER, attribute, read_pyspy, scaled, table_lines

RULES = (
    b"User-agent: Googlebot\nDisallow: /google-only/\n\n"
    b"User-agent: *\nDisallow: /private/\nDisallow: /*.pdf$\nDisallow: /search?\n"
    b"Allow: /private/press/\nDisallow: /tmp\n"
)
DELAYED = b"User-agent: *\nCrawl-delay: 5\nDisallow: /admin/\n"
RATE = b"User-agent: ExampleBot\nRequest-rate: 1/10s\nDisallow: /x/\n"
FILES = [
    ("a.example", RULES),
    ("b.example", DELAYED),
    ("c.example", b"User-agent: *\nAllow: /\n"),
    ("d.example", RATE),
]


def test_the_web_is_deterministic() -> None:
    first = build_web(FILES, 4)
    second = build_web(list(FILES), 4)
    assert first == second
    assert [h.host for h in first.hosts] == [f"c{n:04d}.corpusweb.org" for n in range(4)]
    assert first.seeds() == second.seeds()
    # A slice keeps each file's host name: names stand for files, not for positions in a run.
    assert build_web(FILES, 2, first=2).hosts == first.hosts[2:]


def test_robots_txt_is_served_byte_for_byte() -> None:
    odd = b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /\xe9t\xe9/\r\n\x00\xff garbage"
    host = build_host(7, "odd.example", odd)
    route = host.site().routes["/robots.txt"]
    assert route.body_bytes == odd
    assert route.status == 200
    assert host.robots == odd


def test_a_file_with_rules_gives_allowed_and_disallowed_pages() -> None:
    host = build_host(0, "a.example", RULES, (15, 15))
    assert len(host.pages) == 15
    by_path = {page.path: page for page in host.pages}
    assert any(page.allowed for page in host.pages)
    assert any(not page.allowed for page in host.pages)
    assert any(page.from_rule and not page.allowed for page in host.pages)
    assert by_path["/private/"].allowed is False
    assert by_path["/private/press/"].allowed is True
    assert "/google-only/" not in by_path  # a group for another crawler gives no path
    # Protego (Scrapy's parser) agrees on these plain rules.
    assert all(page.allowed_by_protego == page.allowed for page in host.pages)
    # Every page is a route of the site, and links to other pages of the same host.
    site = host.site()
    for page in host.pages:
        route = site.routes[urlsplit(page.path).path]
        assert route.status == 200
        assert b'<a href="/' in route.body_bytes


def test_delay_hosts_are_served_but_not_seeded() -> None:
    web = build_web(FILES, 4)
    assert [h.source for h in web.delay_hosts] == ["b.example", "d.example"]
    assert web.delay_hosts[0].crawl_delay == 5
    assert web.delay_hosts[1].crawl_delay == 10  # Request-rate 1/10s
    seeded = {urlsplit(url).hostname for url in web.seeds()}
    assert seeded == {h.host for h in web.throughput_hosts}
    assert {h.host for h in web.delay_hosts} <= set(web.sites())
    everything = {urlsplit(url).hostname for url in web.seeds(include_delay_hosts=True)}
    assert everything == set(web.sites())


def test_a_zero_crawl_delay_is_no_delay() -> None:
    host = build_host(0, "z.example", b"User-agent: *\nCrawl-delay: 0\n")
    assert host.crawl_delay == 0
    assert not host.delayed


def test_seed_orders() -> None:
    web = CorpusWeb(build_web(FILES, 4).throughput_hosts)
    by_host = web.seeds(order="host")
    interleaved = web.seeds(order="interleaved")
    assert sorted(by_host) == sorted(interleaved)
    assert len(set(by_host)) == len(by_host)
    assert urlsplit(interleaved[0]).hostname != urlsplit(interleaved[1]).hostname
    with pytest.raises(ValueError):
        web.seeds(order="random")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x01\x02\xff\xfe" * 1000,  # binary
        b"<html><head><title>404</title></head><body>Not found</body></html>",
        "User-agent: *\nDisallow: /caf\u00e9/\n".encode("utf-16"),
        b"User-agent: *\n" + b"Disallow: /a*b*c*d*e*f*g*h*i*j$\n" * 40_000,  # big, wildcards
        b"User-agent: *\nDisallow: " + b"/x" * 50_000 + b"\n",  # one enormous line
        b"User-agent: *\nDisallow: /%zz/\nDisallow: /a b/\nDisallow: admin\nDisallow: /./x\n",
    ],
)
def test_odd_files_still_give_a_host(body: bytes) -> None:
    host = build_host(3, "odd.example", body)
    low, high = DEFAULT_PAGES
    assert low <= len(host.pages) <= high
    for page in host.pages:
        assert page.path.startswith("/")
        assert page.path.isascii()
        assert " " not in page.path
        assert len(page.path) <= 3 * MAX_PATH_CHARS
        assert page.path != "/robots.txt"
    assert host.site().routes["/robots.txt"].body_bytes == body


def test_concrete_paths() -> None:
    assert concrete_path("/*.pdf$") == "/x.pdf"
    assert concrete_path("/search?") == "/search"  # Scrapy drops an empty query
    assert concrete_path("/search?q=") == "/search?q="
    assert concrete_path("admin") == "/admin"
    assert concrete_path("/caf\u00e9 menu/") == "/caf%C3%A9%20menu/"
    assert concrete_path("/100%") == "/100%25"
    assert concrete_path("/%7Euser") == "/%7Euser"
    assert concrete_path("http://elsewhere.example/") is None
    assert concrete_path("/robots.txt") is None
    assert concrete_path("/a/../b") is None
    assert concrete_path("$") is None


def test_rule_paths_prefer_disallow_two_to_one() -> None:
    text = "User-agent: *\n" + "".join(f"Disallow: /d{n}/\nAllow: /a{n}/\n" for n in range(10))
    assert rule_paths(text, 6) == ["/d0/", "/d1/", "/a0/", "/d2/", "/d3/", "/a1/"]
    assert rule_paths("User-agent: Other\nDisallow: /d/\n", 5) == []
    assert rule_paths("User-agent: ExampleBot\nUser-agent: Other\nDisallow: /e/\n", 5) == ["/e/"]


def test_pages_spec() -> None:
    assert parse_pages("15") == (15, 15)
    assert parse_pages("10-20") == (10, 20)
    for bad in ("0", "20-10", "x", "1-"):
        with pytest.raises(ValueError):
            parse_pages(bad)
    counts = {page_count(f"c{n:04d}.corpusweb.org", (10, 20)) for n in range(200)}
    assert min(counts) == 10
    assert max(counts) == 20


def test_profile_attribution() -> None:
    root = "/venv/site-packages/scrapy/core/engine.py"
    middleware = "/work/main/crawler/middlewares/compliance.py"
    httpx = "/venv/site-packages/httpx/_client.py"
    log = "/venv/site-packages/sqlalchemy/engine/base.py"
    json_lib = "/usr/lib/python3.11/json/encoder.py"
    fetcher = "/work/main/optout_service/fetcher.py"
    # Innermost part wins; the standard library counts for its caller.
    assert attribute([root, middleware, httpx]).label.startswith("HTTP to the service")
    assert attribute([root, middleware, "/usr/lib/python3.11/re/__init__.py"]).label == (
        "our middleware + batching"
    )
    # A sticky part owns what it calls: the log write's JSON, the fetcher's httpx.
    assert attribute([httpx, log, json_lib]).label.startswith("decision log write")
    assert attribute([fetcher, httpx]).label.startswith("robots.txt fetch")
    assert attribute([httpx, json_lib]).label == "JSON encode/decode"
    assert attribute(["/usr/lib/python3.11/threading.py"]) is OTHER


def test_pyspy_reading_and_table() -> None:
    lines = [
        'process 1:"python crawl.py --child ours";run (/venv/site-packages/scrapy/core/engine.py:1)'
        ";send (/work/main/crawler/optout_client.py:9) 30",
        'process 1:"python crawl.py";process 2:"python -m optout_service.cli serve";'
        "write (/work/main/optout_service/repository.py:3) 10",
        'process 1:"";process 3:"";write (/work/main/optout_service/repository.py:3) 10',
        "garbage line",
    ]
    profile = read_pyspy(lines, rate=100)
    assert profile.total == pytest.approx(0.5)
    # A process started by the crawl is the service, even when py-spy could not name it.
    assert profile.by_thread == pytest.approx(
        {
            "crawl process: main thread (Scrapy's loop)": 0.3,
            "service process: main thread (its event loop)": 0.2,
        }
    )
    table = table_lines(scaled(profile, pages=10, cpu_ms_per_page=8.0))
    assert table[0].startswith("| part | share | ms CPU/page (share x measured)")
    assert any("decision log write" in line and "| 40.0% | 3.20 |" in line for line in table)
    assert table[-1] == "| **total** | 100% | 8.00 |"
    # Against a baseline: its own scale, and the difference per part.
    baseline = read_pyspy(["run (/venv/site-packages/scrapy/core/engine.py:1) 50"], rate=100)
    compared = table_lines(scaled(profile, 10, 8.0), scaled(baseline, 10, 4.0))
    assert any(
        line.startswith("| Scrapy") and line.endswith("| 0.00 | 4.00 | -4.00 |")
        for line in compared
    )
    assert compared[-1] == "| **total** | 100% | 8.00 | 4.00 | +4.00 |"


def test_gc_timer_counts_full_collections() -> None:
    timer = _GcTimer()
    gc.callbacks.append(timer)
    try:
        gc.collect()
        gc.collect(0)
    finally:
        gc.callbacks.remove(timer)
    assert timer.full == 1
    assert timer.seconds > 0


def test_server_cpu_reads_proc() -> None:
    sum(range(200_000))  # some CPU of our own
    assert _server_cpu(os.getpid()) > 0
    assert _server_cpu(2**22 + 1) == 0.0  # no such process: nothing, not an error
