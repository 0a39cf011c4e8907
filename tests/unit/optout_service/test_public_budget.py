"""The public routes' time budget through the real app, and the bound on the rate limit's table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from optout_service import errors
from optout_service.api.responses import PUBLIC
from optout_service.limits import TokenBuckets
from optout_service.main import create_app
from optout_service.outcomes import FetchOutcome
from optout_service.services import Services
from tests.unit.optout_service.conftest import CRAWL_KEY, make_settings

BUDGET = 0.3
SLOW = 3 * BUDGET  # how long the fake web takes over every robots.txt
# Generous: the point is that the answer comes near the budget, not after the slow work.
MARGIN = 1.0
EVALUATE = {"robots_txt": "User-agent: *\nDisallow: /", "user_agent": "ExampleBot", "url": "/"}


async def _slow_web(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(SLOW)
    return httpx.Response(404)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        tmp_path,
        api={"public_requests_per_minute": 0, "public_time_budget_seconds": BUDGET},
        # One parser slot, so a test can hold it and make the self-check wait.
        robots={"parse_concurrency": 1},
    )
    app = create_app(settings, fetch_transport=httpx.MockTransport(_slow_web))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        yield client


async def test_a_public_request_past_its_budget_is_a_503(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    services: Services = app.state.services
    assert (await http.post("/v1/robots/evaluate", json=EVALUATE)).status_code == 200
    # Every parser slot taken (as by a burst of large files): the self-check has to wait.
    limiter = services.robots.parse_limiter
    await limiter.acquire()
    try:
        started = time.monotonic()
        # Without the budget the request would wait for the slot: fail instead of hanging.
        response = await asyncio.wait_for(
            http.post("/v1/robots/evaluate", json=EVALUATE), BUDGET + MARGIN
        )
        elapsed = time.monotonic() - started
    finally:
        limiter.release()
    assert response.status_code == 503, response.text
    assert 503 in PUBLIC  # the answer is the one the OpenAPI document declares
    assert response.json() == {"detail": errors.TIME_BUDGET.format(seconds=BUDGET)}
    assert BUDGET <= elapsed < BUDGET + MARGIN
    # The cut request gave its place back: the next one is answered normally.
    assert (await http.post("/v1/robots/evaluate", json=EVALUATE)).status_code == 200


async def test_keyed_routes_are_not_cut_by_the_public_budget(http: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await http.post(
        "/v1/decisions",
        json={"crawler": "ExampleBot", "job": "slow", "urls": ["http://news.example.com/a"]},
        headers={"Authorization": f"Bearer {CRAWL_KEY}"},
    )
    assert response.status_code == 200, response.text
    # The robots.txt fetch alone took three budgets; the decision still came.
    assert time.monotonic() - started >= SLOW
    assert [d["decision"] for d in response.json()["decisions"]] == ["allow"]


def test_the_rate_limit_forgets_the_least_recently_seen_client_first() -> None:
    # A frozen clock: no bucket refills, so a fresh burst means the client was forgotten.
    buckets = TokenBuckets(1 / 60, 1, max_clients=2, clock=lambda: 0.0)
    assert TokenBuckets(1, 1).max_clients == 10_000  # the table create_app builds
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0  # empty
    assert buckets.take("b") == 0
    assert buckets.take("a") > 0  # still empty, and now seen after b
    assert buckets.take("c") == 0  # a third client: b, the least recently seen, is dropped
    assert buckets.take("a") > 0  # a was kept...
    assert buckets.take("b") == 0  # ...b starts again from a full burst


async def test_parses_wait_for_room_in_the_parse_memory_budget(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    services: Services = app.state.services
    memory = services.robots.parse_memory
    held = memory.hold(memory.capacity)  # as one parse of the largest file would
    await held.__aenter__()
    try:
        # The public self-check waits for room, so its time budget cuts it.
        response = await http.post("/v1/robots/evaluate", json=EVALUATE)
        assert response.status_code == 503, response.text
        # The store's parse of a fetched document waits too, and goes on once there is room.
        parsing = asyncio.ensure_future(
            services.store.parse("robots_txt", FetchOutcome.OK, b"User-agent: *\nDisallow: /", 200)
        )
        await asyncio.sleep(0.05)
        assert not parsing.done()
        assert memory.waiting == 1
    finally:
        await held.__aexit__(None, None, None)
    parsed = await asyncio.wait_for(parsing, MARGIN)
    assert parsed.estimated_bytes() > 0
    assert memory.in_use == 0
    assert (await http.post("/v1/robots/evaluate", json=EVALUATE)).status_code == 200
