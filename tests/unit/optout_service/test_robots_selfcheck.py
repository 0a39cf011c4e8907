"""POST /v1/robots/evaluate: user-agent strings read as the crawl path reads them, the body read
as the crawler reads it (capped), and the parse done off the event loop."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optout_service.main import create_app
from optout_service.policy.robotstxt import RobotsTxt, agent_product_token, wide_product_token
from tests.unit.optout_service.conftest import FakeWeb, make_settings
from tests.unit.optout_service.robots_cases import CASES

GOOGLEBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html) Chrome/120.0.6099.71 Safari/537.36"
)
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "token"),
    [
        ("ExampleBot", "ExampleBot"),
        ("ExampleBot/1.0", "ExampleBot"),
        ("  ExampleBot/1.0  ", "ExampleBot"),
        ("Mozilla/5.0 (compatible; ExampleBot/1.0)", "ExampleBot"),
        ("Mozilla/5.0 (compatible; ExampleBot/1.0; +http://example.com/bot)", "ExampleBot"),
        ("Mozilla/5.0 (compatible; ExampleBot/1.0", "ExampleBot"),  # unclosed comment
        ("(compatible; ExampleBot/1.0)", "ExampleBot"),
        (GOOGLEBOT, "Googlebot"),
        (GOOGLEBOT_SMARTPHONE, "Googlebot"),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot"),
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; "
            "+https://openai.com/gptbot)",
            "GPTBot",
        ),
        ("CCBot/2.0 (https://commoncrawl.org/faq/)", "CCBot"),
        ("Googlebot-Image/1.0", "Googlebot-Image"),
        ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "DuckDuckBot"),
        (
            "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
            "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
            "Bytespider",
        ),
        ("Foo Bar", "Foo"),  # two products: the first names the crawler
        # Digits kept (MJ12bot, AI2Bot): robots.txt is then read under both readings of a
        # digit in a user-agent line and the stricter answer wins (docs/robots.md).
        ("crawler3", "crawler3"),
        ("Rule1TestBot/1.0", "Rule1TestBot"),
        ("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", "MJ12bot"),
        ("360Spider/1.0", "360Spider"),
        ("Mozilla/5.0 (compatible; 008/0.83; http://www.80legs.com/webcrawler.html)", "008"),
        # No crawler named: refused with a 422, never answered for '*'.
        ("", ""),
        ("   ", ""),
        ("/1.0", ""),
        ("***", ""),
        ("*", ""),
        ("Mozilla/5.0", ""),
        (CHROME, ""),
    ],
)
def test_the_product_token_of_a_user_agent_string(user_agent: str, token: str) -> None:
    assert agent_product_token(user_agent) == token


@settings(max_examples=300, deadline=None)
@given(
    name=st.from_regex(r"[A-Za-z_-][A-Za-z0-9_-]{0,20}", fullmatch=True),
    version=st.one_of(st.just(""), st.from_regex(r"/[0-9.]{1,8}", fullmatch=True)),
)
def test_a_user_agent_line_and_the_same_string_asked_about_name_one_group(
    name: str, version: str
) -> None:
    token = agent_product_token(name + version)
    if token:  # unless it is a browser product
        assert token.lower() == wide_product_token(name + version)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        make_settings(tmp_path), fetch_transport=httpx.MockTransport(FakeWeb().handler)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service.test"
        ) as http,
    ):
        yield http


async def check(client: httpx.AsyncClient, **payload: object) -> httpx.Response:
    return await client.post("/v1/robots/evaluate", json={"url": "/", **payload})


@pytest.mark.parametrize(
    "user_agent",
    [
        "ExampleBot",
        "ExampleBot/1.0",
        "Mozilla/5.0 (compatible; ExampleBot/1.0)",
        "Mozilla/5.0 (compatible; ExampleBot/1.0; +http://example.com/bot)",
        "examplebot/2",
    ],
)
async def test_a_full_user_agent_string_is_read_as_the_crawl_path_reads_it(
    client: httpx.AsyncClient, user_agent: str
) -> None:
    robots = "User-agent: *\nAllow: /\n\nUser-agent: ExampleBot\nDisallow: /\n"
    response = await check(client, robots_txt=robots, user_agent=user_agent, url="/page")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["allowed"] is False
    assert body["matched"] == {"line": 5, "directive": "disallow", "pattern": "/"}
    assert body["product_token"].lower() == "examplebot"
    assert body["truncated"] is False


async def test_googlebot_user_agents_name_googlebot(client: httpx.AsyncClient) -> None:
    robots = "User-agent: Googlebot\nDisallow: /private/\n"
    for user_agent in (GOOGLEBOT, GOOGLEBOT_SMARTPHONE):
        response = await check(client, robots_txt=robots, user_agent=user_agent, url="/private/x")
        assert (response.json()["allowed"], response.json()["product_token"]) == (
            False,
            "Googlebot",
        )


@pytest.mark.parametrize("user_agent", ["", "   ", "/1.0", "***", "*", "Mozilla/5.0", CHROME])
async def test_a_user_agent_naming_no_crawler_is_refused(
    client: httpx.AsyncClient, user_agent: str
) -> None:
    response = await check(client, robots_txt="User-agent: *\nAllow: /\n", user_agent=user_agent)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "user_agent"]
    assert "product token" in error["msg"]


async def test_the_body_is_read_as_far_as_the_crawler_reads(tmp_path: Path) -> None:
    # The crawler reads the first robots.max_bytes (here its floor, 500 KiB): a rule after
    # that is not seen there, so the self-check does not see it either, and says the body was
    # cut.
    app = create_app(
        make_settings(tmp_path, robots={"max_bytes": 500 * 1024}),
        fetch_transport=httpx.MockTransport(FakeWeb().handler),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service.test"
        ) as client,
    ):
        await _read_as_far_as_the_crawler_reads(client)


async def test_a_long_file_is_read_whole_by_default(client: httpx.AsyncClient) -> None:
    # The default cap (8 MiB) is far above RFC 9309's 500 KiB: a rule 600 KiB in counts.
    head = "User-agent: ExampleBot\nDisallow: /early\n"
    padding = "# " + "x" * 97 + "\n"
    robots = head + padding * (600 * 1024 // len(padding)) + "Disallow: /late\n"
    late = await check(client, robots_txt=robots, user_agent="ExampleBot", url="/late")
    assert (late.json()["allowed"], late.json()["truncated"]) == (False, False)


async def _read_as_far_as_the_crawler_reads(client: httpx.AsyncClient) -> None:
    head = "User-agent: ExampleBot\nDisallow: /early\n"
    padding = "# " + "x" * 97 + "\n"
    robots = head + padding * (600 * 1024 // len(padding)) + "Disallow: /late\n"
    early = await check(client, robots_txt=robots, user_agent="ExampleBot", url="/early")
    late = await check(client, robots_txt=robots, user_agent="ExampleBot", url="/late")
    assert early.status_code == late.status_code == 200
    assert (early.json()["allowed"], early.json()["truncated"]) == (False, True)
    assert (late.json()["allowed"], late.json()["truncated"]) == (True, True)
    encoded = base64.b64encode(robots.encode()).decode()
    response = await check(client, robots_txt_b64=encoded, user_agent="ExampleBot", url="/late")
    assert response.json()["truncated"] is True
    short = await check(client, robots_txt=head, user_agent="ExampleBot", url="/late")
    assert short.json()["truncated"] is False


async def test_the_event_loop_stays_free_while_a_body_is_parsed(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    release = threading.Event()
    threads: list[int] = []
    real = RobotsTxt.parse.__func__  # type: ignore[attr-defined]

    def parse(cls: type[RobotsTxt], text: str, tokens: Iterable[str] | None = None) -> RobotsTxt:
        threads.append(threading.get_ident())
        started.set()
        # On the event loop this would block the request below that sets `release`.
        assert release.wait(10), "the event loop could not run while a parse was in progress"
        parsed: RobotsTxt = real(cls, text, tokens)
        return parsed

    monkeypatch.setattr(RobotsTxt, "parse", classmethod(parse))
    adversarial = "User-agent: *\n" + "".join(
        f"Allow: /{chr(97 + i % 26)}\nDisallow: /{i:05d}/page\n" for i in range(20_000)
    )
    request = asyncio.create_task(
        check(client, robots_txt=adversarial, user_agent="ExampleBot", url="/00007/page")
    )
    assert await asyncio.to_thread(started.wait, 10)  # a parse is under way
    health = await asyncio.wait_for(client.get("/healthz"), timeout=10)  # mid-parse
    release.set()
    response = await request
    assert health.status_code == 200
    assert response.status_code == 200, response.text
    assert response.json()["allowed"] is False
    assert threads
    assert threading.get_ident() not in threads


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


async def test_every_public_case_through_the_endpoint(client: httpx.AsyncClient) -> None:
    """The acceptance sets through POST /v1/robots/evaluate. An agent that is a product token
    gets the expected answer; any other agent string is read down to its product token first
    (and refused when it names none), as the crawl path would read it."""
    for source, robots, agent, url, allowed in CASES:
        response = await check(
            client,
            robots_txt_b64=base64.b64encode(robots.encode("utf-8")).decode(),
            user_agent=agent,
            url=url,
        )
        token = agent_product_token(agent)
        if not token:
            assert response.status_code == 422, (source, agent)
            continue
        assert response.status_code == 200, (source, url, response.text)
        expected = (
            allowed if token == agent else RobotsTxt.parse(robots).allowed(path_of(url), token)
        )
        assert response.json()["allowed"] is expected, (source, agent, url)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        # RFC 9309 2.2: the rules apply to URIs of other schemes too.
        ("ftp://ftp.example.com/private/file.txt", False),
        ("ftp://ftp.example.com/public/file.txt", True),
        # google/robotstxt's own tests ask about a URL of 16,000 characters.
        ("http://example.com/private/" + "a" * 16_000, False),
        ("/public/" + "a" * 16_000, True),
        ("https://example.com/search?", False),  # the empty query keeps its '?'
        ("https://example.com/search", True),
    ],
)
async def test_any_scheme_and_long_urls_are_read(
    client: httpx.AsyncClient, url: str, allowed: bool
) -> None:
    robots = "User-agent: *\nDisallow: /private/\nDisallow: /search?\n"
    response = await check(client, robots_txt=robots, user_agent="ExampleBot", url=url)
    assert response.status_code == 200, response.text
    assert response.json()["allowed"] is allowed


@pytest.mark.parametrize("url", ["mailto:someone@example.com", "urn:isbn:0451450523"])
async def test_a_url_without_a_host_is_refused_clearly(client: httpx.AsyncClient, url: str) -> None:
    response = await check(client, robots_txt="", user_agent="ExampleBot", url=url)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "url"]


@pytest.mark.parametrize(
    ("user_agent", "url", "allowed"),
    [
        ("MJ12bot", "/a", False),  # its own group (the digit kept)
        ("MJ12bot", "/c", False),  # the '*' group (the digit ends the token: no line names it)
        ("MJ12bot", "/b", True),
        ("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", "/a", False),
        ("MJ", "/a", False),  # "User-agent: MJ12bot" is read as "MJ" for a crawler named MJ
        ("MJ", "/c", True),
    ],
)
async def test_product_tokens_with_digits_are_accepted(
    client: httpx.AsyncClient, user_agent: str, url: str, allowed: bool
) -> None:
    robots = "User-agent: MJ12bot\nDisallow: /a\n\nUser-agent: *\nDisallow: /c\n"
    response = await check(client, robots_txt=robots, user_agent=user_agent, url=url)
    assert response.status_code == 200, response.text
    assert response.json()["allowed"] is allowed
