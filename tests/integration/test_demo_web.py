"""The demo web on loopback: virtual hosts, proxy form, errors, keep-alive, HEAD, access log."""

from __future__ import annotations

import asyncio
import http.client
import socket
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demo.process import AccessRecord, DemoWebProcess, read_access_log
from crawler.demo.signals import SIGNAL_HOSTS
from crawler.demo.sites import (
    DEMO_SEEDS,
    NO_ROBOTS_HOST,
    ORDINARY_HOST,
    PARTIAL_HOST,
    PARTIAL_REDIRECT_TARGET,
    PIRACY_HOST,
    PIRACY_SUBDOMAIN_HOST,
    PUBLISHER_HOST,
    UNREACHABLE_HOST,
    Route,
    Site,
    demo_sites,
    generated_sites,
)
from crawler.demo.web import DemoWeb

Web = tuple[DemoWebProcess, Path]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    log = tmp_path_factory.mktemp("demo-web") / "access.jsonl"
    with DemoWebProcess(sites="demo", access_log=log) as process:
        yield process, log


def fetch(
    port: int, method: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection; ``target`` may be absolute (proxy form) or a path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def raw_exchange(port: int, payload: bytes) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        chunks: list[bytes] = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def wait_for_records(log: Path, path: str, count: int = 1) -> list[AccessRecord]:
    deadline = time.monotonic() + 5
    while True:
        records = [r for r in read_access_log(log) if r.path == path]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


PROXY_CASES = [
    (f"http://{ORDINARY_HOST}/", 200, {"Content-Type": "text/html; charset=utf-8"}),
    (f"http://{ORDINARY_HOST}/news/tide-tables.html", 200, {}),
    (f"http://{ORDINARY_HOST}/sitemap.xml", 200, {"Content-Type": "application/xml"}),
    (f"http://{UNREACHABLE_HOST}/robots.txt", 503, {"Retry-After": "120"}),
    (f"http://{UNREACHABLE_HOST}/tents.html", 200, {}),
    (f"http://{NO_ROBOTS_HOST}/robots.txt", 404, {}),
    (f"http://{NO_ROBOTS_HOST}/recipes/apple-pie.html", 200, {}),
    (
        f"http://{PARTIAL_HOST}/reports/latest",
        302,
        {"Location": PARTIAL_REDIRECT_TARGET},
    ),
    (f"http://{PARTIAL_HOST}/private/annual-report-2026.html", 200, {}),
    (f"http://{PARTIAL_HOST}/drafts/new-edition.html", 200, {}),
    (f"http://{PIRACY_HOST}/movies/latest.html", 200, {}),
    (f"http://{PIRACY_SUBDOMAIN_HOST}/robots.txt", 200, {}),
    (f"http://{PUBLISHER_HOST}/articles/open-letter.html", 200, {}),
    (
        f"http://{PUBLISHER_HOST}/articles/reserved-feature.html",
        200,
        {
            "tdm-reservation": "1",
            "tdm-policy": f"http://{PUBLISHER_HOST}/tdm-policy.json",
        },
    ),
    (
        f"http://{PUBLISHER_HOST}/articles/noai-column.html",
        200,
        {"X-Robots-Tag": "noai, noimageai"},
    ),
    (f"http://{PUBLISHER_HOST}/premium/investigation.html", 402, {}),
    (
        f"http://{PUBLISHER_HOST}/account/dashboard.html",
        401,
        {"WWW-Authenticate": 'Basic realm="Northwind subscribers"'},
    ),
    (f"http://{PUBLISHER_HOST}/tdm-policy.json", 200, {"Content-Type": "application/json"}),
    (f"http://{PUBLISHER_HOST}/no-such-page.html", 404, {}),
]


@pytest.mark.integration
@pytest.mark.parametrize(("url", "status", "expected_headers"), PROXY_CASES)
def test_proxy_form_routes(
    web: Web, url: str, status: int, expected_headers: dict[str, str]
) -> None:
    got_status, headers, body = fetch(web[0].port, "GET", url)
    assert got_status == status
    for name, value in expected_headers.items():
        assert headers[name] == value
    assert headers["Server"] == "demo-web"
    assert headers["Connection"] == "keep-alive"
    assert headers["Date"]
    assert int(headers["Content-Length"]) == len(body) > 0


@pytest.mark.integration
def test_urllib_with_an_explicit_proxy_handler(web: Web) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": web[0].proxy_url}))
    with opener.open(f"http://{PARTIAL_HOST}/robots.txt", timeout=10) as response:
        assert response.status == 200
        assert response.read().decode() == (
            "User-agent: *\nAllow: /\n\nUser-agent: ExampleBot\n"
            "Disallow: /private/\nDisallow: /drafts/\n"
        )
    with opener.open(f"http://{ORDINARY_HOST}/robots.txt", timeout=10) as response:
        assert response.read().decode() == (
            "User-agent: *\nCrawl-delay: 0.5\nAllow: /\n"
            "Sitemap: http://www.harbourgazette.co.uk/sitemap.xml\n"
        )
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(f"http://{UNREACHABLE_HOST}/robots.txt", timeout=10)
    with caught.value:
        assert caught.value.code == 503
        assert caught.value.headers["Retry-After"] == "120"
        assert caught.value.read() == b"Service Unavailable"


@pytest.mark.integration
def test_host_header_routing(web: Web) -> None:
    status, _, body = fetch(web[0].port, "GET", "/guide/faq.html", {"Host": f"{PARTIAL_HOST}:80"})
    assert status == 200
    assert b"<title>Frequently asked questions</title>" in body
    status, _, body = fetch(web[0].port, "GET", "/", {"Host": PUBLISHER_HOST.upper()})
    assert status == 200
    assert b"Northwind Times" in body
    records = wait_for_records(web[1], "/guide/faq.html")
    assert records[-1].host == PARTIAL_HOST
    assert records[-1].proxy is False


@pytest.mark.integration
@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("http://www.example.com/", {}),
        ("http://not-in-the-demo.test/page.html", {}),
        ("/", {"Host": "www.example.com"}),
    ],
)
def test_unknown_host_is_never_forwarded(web: Web, target: str, headers: dict[str, str]) -> None:
    status, response_headers, body = fetch(web[0].port, "GET", target, headers)
    assert status == 502
    assert response_headers["Content-Type"].startswith("text/plain")
    assert b"is not part of the demo web" in body


@pytest.mark.integration
def test_connect_and_other_methods_are_refused(web: Web) -> None:
    answer = raw_exchange(
        web[0].port, b"CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 501 ")
    assert b"Connection: close" in answer
    status, headers, _ = fetch(
        web[0].port, "POST", f"http://{ORDINARY_HOST}/", {"Content-Length": "0"}
    )
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"\x00\xff\xfe garbage \x01\r\n\r\n", 400),
        (b"hello\r\n", 400),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
        (b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET http://[::1/ HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
    ],
)
def test_malformed_requests_get_an_error_and_the_server_survives(
    web: Web, payload: bytes, status: int
) -> None:
    answer = raw_exchange(web[0].port, payload)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Connection: close" in answer
    # The server is still there and still answers.
    assert fetch(web[0].port, "GET", f"http://{ORDINARY_HOST}/about.html")[0] == 200


@pytest.mark.integration
def test_keep_alive_serves_several_requests_on_one_connection(web: Web) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", web[0].port, timeout=10)
    try:
        conn.request("GET", f"http://{NO_ROBOTS_HOST}/")
        first = conn.getresponse()
        assert first.status == 200
        assert b"Meadow Recipes" in first.read()
        sock = conn.sock
        assert sock is not None
        conn.request("GET", f"http://{NO_ROBOTS_HOST}/recipes/sourdough.html")
        second = conn.getresponse()
        assert second.status == 200
        assert b"Sourdough" in second.read()
        assert conn.sock is sock  # the same connection was reused
    finally:
        conn.close()


@pytest.mark.integration
def test_pipelined_requests_are_answered_in_order(web: Web) -> None:
    request = "GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n"
    payload = (
        request.format("/tents.html", UNREACHABLE_HOST, "")
        + request.format("/missing", UNREACHABLE_HOST, "")
        + request.format("/boots.html", UNREACHABLE_HOST, "Connection: close\r\n")
    ).encode()
    answer = raw_exchange(web[0].port, payload)
    assert answer.count(b"HTTP/1.1 ") == 3
    tents, missing, boots = (answer.index(x) for x in (b"<h1>Tents", b"404 Not", b"<h1>Boots"))
    assert tents < missing < boots


@pytest.mark.integration
def test_http_1_0_closes_unless_keep_alive_is_asked(web: Web) -> None:
    answer = raw_exchange(web[0].port, f"GET http://{ORDINARY_HOST}/ HTTP/1.0\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in answer
    assert answer.endswith(b"</html>\n")


@pytest.mark.integration
def test_head_has_headers_but_no_body(web: Web) -> None:
    url = f"http://{PUBLISHER_HOST}/articles/reserved-feature.html"
    _, _, get_body = fetch(web[0].port, "GET", url)
    conn = http.client.HTTPConnection("127.0.0.1", web[0].port, timeout=10)
    try:
        conn.request("HEAD", url)
        head = conn.getresponse()
        assert head.status == 200
        assert head.read() == b""
        assert int(head.headers["Content-Length"]) == len(get_body)
        assert head.headers["tdm-reservation"] == "1"
        # Nothing stray follows the HEAD answer: the next request on the connection works.
        conn.request("GET", f"http://{PUBLISHER_HOST}/")
        assert conn.getresponse().read().startswith(b"<!DOCTYPE html>")
    finally:
        conn.close()


@pytest.mark.integration
def test_access_log_records_each_request(web: Web) -> None:
    process, log = web
    marker = uuid.uuid4().hex
    path = f"/news/lifeboat-rescue.html?probe={marker}"
    before = time.time()
    fetch(process.port, "GET", f"http://{ORDINARY_HOST}{path}", {"User-Agent": "ExampleBot/1.0"})
    fetch(process.port, "HEAD", path, {"Host": ORDINARY_HOST})
    records = wait_for_records(log, path, count=2)
    assert [(r.method, r.proxy) for r in records] == [("GET", True), ("HEAD", False)]
    got = records[0]
    assert got.host == ORDINARY_HOST
    assert got.status == 200
    assert got.ua == "ExampleBot/1.0"
    assert before <= got.t <= time.time()
    assert records[1].ua is None  # http.client sends no User-Agent by default
    unknown = f"/?probe={marker}"
    fetch(process.port, "GET", f"http://unknown.example{unknown}")
    (record,) = wait_for_records(log, unknown)
    assert (record.host, record.status) == ("unknown.example", 502)


@pytest.mark.integration
def test_access_log_reader_tolerates_a_partial_last_line(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(
        '{"t": 1.5, "host": "a.test", "path": "/", "method": "GET", "status": 200,'
        ' "proxy": true, "ua": null}\n{"t": 2.0, "host": "a.te'
    )
    assert read_access_log(log) == [AccessRecord(1.5, "a.test", "/", "GET", 200, True, None)]
    assert read_access_log(tmp_path / "missing.jsonl") == []


@pytest.mark.integration
def test_process_exits_cleanly_on_sigterm() -> None:
    web = DemoWebProcess(sites="bench", extra_args=["--hosts", "2", "--pages", "3"])
    with web:
        assert web.proxy_url == f"http://127.0.0.1:{web.port}"
        status, _, body = fetch(web.port, "GET", "http://site01.benchweb.org/p/2.html")
        assert status == 200
        assert b'href="/"' in body
    assert web.process.returncode == 0


@pytest.mark.integration
def test_demo_site_set_is_complete() -> None:
    sites = demo_sites()
    assert set(sites) == {
        ORDINARY_HOST,
        PARTIAL_HOST,
        UNREACHABLE_HOST,
        NO_ROBOTS_HOST,
        PIRACY_HOST,
        PIRACY_SUBDOMAIN_HOST,
        PUBLISHER_HOST,
        *SIGNAL_HOSTS,
    }
    assert DEMO_SEEDS[0] == f"http://{ORDINARY_HOST}/"
    front = sites[ORDINARY_HOST].routes["/"].body_bytes.decode()
    for host in set(sites) - {ORDINARY_HOST}:
        assert f'href="http://{host}/"' in front
    sitemap = ET.fromstring(sites[ORDINARY_HOST].routes["/sitemap.xml"].body_bytes)
    locs = [el.text for el in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert f"http://{ORDINARY_HOST}/news/harbour-expansion.html" in locs
    assert "/robots.txt" not in sites[NO_ROBOTS_HOST].routes


@pytest.mark.integration
def test_generated_sites_are_linked() -> None:
    sites = generated_sites(3, 10)
    assert list(sites) == ["site00.benchweb.org", "site01.benchweb.org", "site02.benchweb.org"]
    routes = sites["site01.benchweb.org"].routes
    assert set(routes) == {"/", "/robots.txt", *(f"/p/{n}.html" for n in range(1, 10))}
    assert routes["/robots.txt"].body_bytes == b"User-agent: *\nAllow: /\n"
    front = routes["/"].body_bytes.decode()
    assert all(f'href="/p/{n}.html"' in front for n in range(1, 6))
    last = routes["/p/9.html"].body_bytes.decode()
    # Page 9 wraps around to pages 0..4 and links home.
    assert all(f'href="/p/{n}.html"' in last for n in range(1, 5))
    assert 'href="/"' in last
    assert 'href="/p/5.html"' not in last


async def _get(port: int, target: str, host: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.integration
async def test_in_process_api(tmp_path: Path) -> None:
    sites = generated_sites(3, 10)
    sites["slow.test"] = Site("slow.test", {"/": Route(body="late", delay=0.2)})
    log = tmp_path / "access.jsonl"
    web = DemoWeb(sites, access_log=log)
    port = await web.start()
    try:
        assert web.url == f"http://127.0.0.1:{port}"
        answer = await _get(port, "/p/9.html", "site02.benchweb.org")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b'href="/p/1.html"' in answer
        started = time.monotonic()
        fast, slow = await asyncio.gather(
            _get(port, "http://site00.benchweb.org/", "ignored"),
            _get(port, "/", "slow.test"),
        )
        assert time.monotonic() - started >= 0.2
        assert fast.startswith(b"HTTP/1.1 200")
        assert slow.endswith(b"\r\n\r\nlate")
        assert web.requests == 3
        assert web.by_status[200] == 3
    finally:
        await web.stop()
    records = read_access_log(log)
    assert records[0].path == "/p/9.html"
    assert sorted((r.host, r.path, r.proxy) for r in records) == [
        ("site00.benchweb.org", "/", True),
        ("site02.benchweb.org", "/p/9.html", False),
        ("slow.test", "/", False),
    ]
