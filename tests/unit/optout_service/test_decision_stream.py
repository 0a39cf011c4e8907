"""POST /v1/decisions as a stream (Accept: application/x-ndjson): each origin's decisions are
sent, logged first, as soon as that origin is decided, so a slow robots.txt holds up only its
own origin's lines. Driven at the ASGI level to see each chunk as the app sends it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from optout_service.main import create_app
from optout_service.purposes import Purpose
from optout_service.urls import normalise_url
from tests.unit.optout_service.conftest import AUDIT_KEY, CRAWL_KEY, make_settings

URLS = [
    "http://slow.example/a",
    "http://fast.example/a",
    "http://fast.example/private/b",
    "http://streamvault-free.to/",  # on the demo piracy list: never contacted
]


def _scope(body: bytes) -> dict[str, Any]:
    headers = {
        "host": "service.test",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "accept": "application/x-ndjson",
        "authorization": f"Bearer {CRAWL_KEY}",
    }
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/decisions",
        "raw_path": b"/v1/decisions",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("service.test", 80),
    }


def _client(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://service.test",
        headers={"Authorization": f"Bearer {key}"},
    )


def _lines(message: MutableMapping[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in bytes(message.get("body", b"")).splitlines() if line]


async def test_a_slow_robots_txt_holds_up_only_its_own_origins_lines(tmp_path: Path) -> None:
    release = asyncio.Event()
    fetched: list[str] = []

    async def web(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        if request.url.host == "slow.example":
            await release.wait()
        if request.url.path != "/robots.txt":
            return httpx.Response(404)  # no tdmrep.json, no ai.txt
        return httpx.Response(200, text="User-agent: *\nDisallow: /private/\n")

    app = create_app(make_settings(tmp_path), fetch_transport=httpx.MockTransport(web))
    body = json.dumps({"crawler": "ExampleBot", "job": "job-s", "urls": URLS}).encode()
    sent: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    never = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        await sent.put(message)

    async with app.router.lifespan_context(app):
        call = asyncio.ensure_future(app(_scope(body), receive, send))
        start = await asyncio.wait_for(sent.get(), 5)
        assert start["type"] == "http.response.start"
        assert start["status"] == 200
        assert (b"content-type", b"application/x-ndjson") in start["headers"]
        # Everything but the slow origin's lines arrives (the piracy refusal at once, the fast
        # origin's once its robots.txt is in), while the slow robots.txt is still awaited.
        first: list[dict[str, Any]] = []
        while len(first) < 3:
            first += _lines(await asyncio.wait_for(sent.get(), 5))
        by_index = {line["index"]: line for line in first}
        assert sorted(by_index) == [1, 2, 3]  # all but the slow origin's, which is not in yet
        assert not release.is_set()
        assert (by_index[1]["decision"], by_index[1]["reasons"]) == ("allow", ["robots.allowed"])
        assert (by_index[2]["decision"], by_index[2]["reasons"]) == ("deny", ["robots.disallowed"])
        assert by_index[3]["reasons"] == ["piracy.listed"]
        assert by_index[2]["url"] == URLS[2]
        # Written to the log before they were sent.
        async with _client(app, AUDIT_KEY) as audit:
            exported = await audit.get("/v1/audit/export", params={"job": "job-s"})
        logged = {json.loads(line)["id"] for line in exported.text.splitlines()}
        assert logged == {line["id"] for line in first}

        release.set()
        rest: list[dict[str, Any]] = []
        while True:
            message = await asyncio.wait_for(sent.get(), 5)
            rest += _lines(message)
            if not message.get("more_body", False):
                break
        await asyncio.wait_for(call, 5)
    assert [(line["index"], line["decision"]) for line in rest] == [(0, "allow")]
    assert "http://streamvault-free.to/robots.txt" not in fetched


async def test_without_the_header_the_answer_is_one_json_object(tmp_path: Path) -> None:
    async def web(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="User-agent: *\nDisallow: /private/\n")

    app = create_app(make_settings(tmp_path), fetch_transport=httpx.MockTransport(web))
    async with app.router.lifespan_context(app), _client(app, CRAWL_KEY) as client:
        answer = await client.post(
            "/v1/decisions", json={"crawler": "ExampleBot", "job": "j", "urls": URLS}
        )
    assert answer.headers["content-type"] == "application/json"
    decisions = answer.json()["decisions"]
    assert [d["url"] for d in decisions] == URLS  # in the order asked
    assert [d["decision"] for d in decisions] == ["allow", "allow", "deny", "deny"]


async def test_origins_known_already_are_decided_at_once_beside_one_still_fetching(
    tmp_path: Path,
) -> None:
    # A known origin's documents are all in the cache: its URLs are decided without waiting
    # for anything, in the first group, even while another origin's robots.txt is in flight.
    release = asyncio.Event()
    fetched: list[str] = []

    async def web(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        if request.url.host == "slow.example":
            await release.wait()
        if request.url.path != "/robots.txt":
            return httpx.Response(404)
        return httpx.Response(200, text="User-agent: *\nDisallow: /private/\n")

    app = create_app(make_settings(tmp_path), fetch_transport=httpx.MockTransport(web))
    async with app.router.lifespan_context(app):
        services = app.state.services
        fast = [normalise_url(u) for u in URLS[1:3]]
        await services.engine.decide("ExampleBot", fast, (Purpose.TRAIN_AI,))
        known = len(fetched)
        urls = [normalise_url(u) for u in URLS]
        groups = services.engine.decide_by_origin("ExampleBot", urls, (Purpose.TRAIN_AI,))
        first = await asyncio.wait_for(anext(groups), 5)
        assert not any("fast.example" in url for url in fetched[known:])  # from the cache
        assert not release.is_set()
        decided = {index: (v.decision, v.reasons) for index, v in first}
        assert decided == {
            1: ("allow", ("robots.allowed",)),
            2: ("deny", ("robots.disallowed",)),
            3: ("deny", ("piracy.listed",)),
        }
        release.set()
        rest = [pair async for group in groups for pair in group]
    assert [(index, v.decision) for index, v in rest] == [(0, "allow")]
