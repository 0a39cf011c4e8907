"""The demo web server on loopback: virtual hosts, proxy form, errors, keep-alive, access log."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demo.process import DemoWebProcess, read_access_log
from crawler.demo.sites import PARTIAL_HOST, PUBLISHER_HOST, UNREACHABLE_HOST, generated_sites
from crawler.demo.web import DemoWeb

pytestmark = pytest.mark.integration


def exchange(port: int, *requests: bytes) -> list[bytes]:
    """Send raw requests on one connection; return each raw response."""
    answers: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        stream = conn.makefile("rb")
        for raw in requests:
            conn.sendall(raw)
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                chunk = stream.read(1)
                if not chunk:
                    break
                head += chunk
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = stream.read(length) if length and not raw.startswith(b"HEAD") else b""
            answers.append(head + body)
    return answers


def get(target: str, host: str | None = None, method: str = "GET") -> bytes:
    host_header = f"Host: {host}\r\n" if host else ""
    return f"{method} {target} HTTP/1.1\r\n{host_header}User-Agent: test\r\n\r\n".encode()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoWebProcess, Path]]:
    log = tmp_path_factory.mktemp("web") / "access.jsonl"
    with DemoWebProcess(sites="demo", access_log=log) as process:
        yield process, log


@pytest.mark.parametrize(
    ("target", "host", "expected"),
    [
        (f"http://{UNREACHABLE_HOST}/robots.txt", None, [b"HTTP/1.1 503 ", b"Retry-After: 120"]),
        (
            f"http://{PARTIAL_HOST}/reports/latest",
            None,
            [b"HTTP/1.1 302 ", b"Location: http://docs.lanternbooks.org/private/"],
        ),
        (
            f"http://{PUBLISHER_HOST}/articles/reserved-feature.html",
            None,
            [b"HTTP/1.1 200 ", b"tdm-reservation: 1"],
        ),
        (f"http://{PUBLISHER_HOST}/premium/investigation.html", None, [b"HTTP/1.1 402 "]),
        (
            f"http://{PUBLISHER_HOST}/account/dashboard.html",
            None,
            [b"HTTP/1.1 401 ", b"WWW-Authenticate: Basic"],
        ),
        ("http://www.meadowrecipes.net/robots.txt", None, [b"HTTP/1.1 404 "]),
        ("/guide/faq.html", f"{PARTIAL_HOST}:80", [b"HTTP/1.1 200 ", b"<title>FAQ</title>"]),
        ("http://not-in-the-demo.example/", None, [b"HTTP/1.1 502 ", b"not part of the demo web"]),
    ],
)
def test_routes(
    web: tuple[DemoWebProcess, Path], target: str, host: str | None, expected: list[bytes]
) -> None:
    (answer,) = exchange(web[0].port, get(target, host))
    for fragment in expected:
        assert fragment in answer


def test_errors_do_not_kill_the_server(web: tuple[DemoWebProcess, Path]) -> None:
    port = web[0].port
    assert exchange(port, b"CONNECT a.test:443 HTTP/1.1\r\n\r\n")[0].startswith(b"HTTP/1.1 501")
    assert exchange(port, b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")[
        0
    ].startswith(b"HTTP/1.1 405")
    assert exchange(port, b"\x00\xff garbage\r\n\r\n")[0].startswith(b"HTTP/1.1 400")
    assert exchange(port, get(f"http://{PUBLISHER_HOST}/"))[0].startswith(b"HTTP/1.1 200")


def test_keep_alive_head_and_access_log(web: tuple[DemoWebProcess, Path]) -> None:
    process, log = web
    first, second = exchange(
        process.port,
        get(f"http://{PUBLISHER_HOST}/", method="HEAD"),
        get(f"http://{PUBLISHER_HOST}/articles/open-letter.html"),
    )
    assert first.endswith(b"\r\n\r\n")  # HEAD: headers only
    assert b"Open letter" in second
    records = [r for r in read_access_log(log) if r.path == "/articles/open-letter.html"]
    assert records[-1].host == PUBLISHER_HOST
    assert records[-1].proxy is True
    assert records[-1].ua == "test"
    assert records[-1].status == 200


async def test_in_process_generated_web() -> None:
    sites = generated_sites(3, 10)
    assert len(sites) == 3
    web = DemoWeb(sites)
    port = await web.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(get("/p/9.html", "site02.benchweb.org"))
        await writer.drain()
        answer = await reader.read(65536)
        writer.close()
        await writer.wait_closed()
    finally:
        await web.stop()
    assert b"HTTP/1.1 200" in answer
    assert b'href="/p/1.html"' in answer  # wraps around to the first pages
    assert web.requests == 1
