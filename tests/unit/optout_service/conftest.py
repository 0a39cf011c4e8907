from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from optout_service.config import Settings
from optout_service.main import create_app
from piracy_lists import demo_list_path

CRAWL_KEY = "test-crawl-key"
AUDIT_KEY = "test-audit-key"
OTHER_CRAWL_KEY = "test-other-crawl-key"  # another tenant

Handler = Callable[[httpx.Request], httpx.Response]


class FakeWeb:
    """robots.txt answers by origin for the service's fetcher; records what was fetched."""

    def __init__(self) -> None:
        self.routes: dict[str, httpx.Response | Exception] = {}
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get(str(request.url))
        if answer is None:
            return httpx.Response(404, text="not found")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fetched(self, url: str) -> int:
        return sum(1 for r in self.requests if str(r.url) == url)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "database": {"url": f"sqlite:///{tmp_path / 'optout.sqlite3'}"},
        "fetch": {"allow_private_networks": True},
        "piracy": {"lists": [str(demo_list_path())]},
        # Tests call the public self-check hundreds of times from one client.
        "api": {"public_requests_per_minute": 0},
        "auth": {
            "api_keys": [
                {"name": "crawler", "key": CRAWL_KEY, "scopes": ["crawl"]},
                {"name": "auditor", "key": AUDIT_KEY, "scopes": ["audit"]},
                {"name": "other-team", "key": OTHER_CRAWL_KEY, "scopes": ["crawl"]},
            ]
        },
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
def fakeweb() -> FakeWeb:
    return FakeWeb()


@pytest.fixture
async def client(
    tmp_path: Path, fakeweb: FakeWeb, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on SQLite and on PostgreSQL (tests/conftest.py), with a fake web under it."""
    app = create_app(
        make_settings(tmp_path, database={"url": database_url}),
        fetch_transport=httpx.MockTransport(fakeweb.handler),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://service.test",
            headers={"Authorization": f"Bearer {CRAWL_KEY}"},
        ) as http:
            yield http
