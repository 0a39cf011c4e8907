"""Random payloads at every endpoint: a 4xx or a 2xx, never a 500 (hypothesis)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optout_service.main import create_app
from tests.support.postgres import Cluster
from tests.unit.optout_service.conftest import CRAWL_KEY, make_settings

ENDPOINTS = ["/v1/decisions", "/v1/observations", "/v1/robots/evaluate"]
FIELDS = ["decision_id", "url", "final_url", "status", "headers", "length", "sha256", "head_html"]

# Strings that once reached the database or the JSON encoder and answered 500: unpaired
# surrogates, NUL and other control characters, integers past 64 bits.
hostile_text = st.text(st.characters(exclude_categories=()), max_size=30) | st.sampled_from(
    ["\ud800", "a\udfff", "\x00", "job\x00", "\x1b[31m", "\x85", "%00", "%", "_"]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 10**30])
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
urls = (
    json_values
    | st.text(max_size=80)
    | st.sampled_from(
        [
            "http://a.example.com/x",
            "http://[::1/",
            "http://exa mple/",
            "http://127.1/",
            "HTTP://Ü.de/ä",
        ]
    )
)
# Payloads shaped like the real ones, each field drawn from anything.
shaped = st.fixed_dictionaries(
    {},
    optional={
        "crawler": json_values | st.sampled_from(["ExampleBot", "", "Bad Bot/1"]),
        "job": json_values,
        "urls": st.lists(urls, max_size=5),
        "observations": st.lists(st.dictionaries(st.sampled_from(FIELDS), json_values), max_size=3),
        "robots_txt": json_values | st.text(max_size=200),
        "robots_txt_b64": json_values,
        "status": json_values,
        "user_agent": json_values,
        "url": urls,
    },
)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class SyncClient:
    """The app in-process on an event loop of its own, called synchronously per example."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(
            make_settings(tmp, database={"url": database_url}),
            fetch_transport=httpx.MockTransport(lambda r: httpx.Response(404)),
        )
        self.lifespan: AbstractAsyncContextManager[Any] = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self.lifespan.__aenter__())
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://fuzz.test",
            headers={"Authorization": f"Bearer {CRAWL_KEY}"},
        )

    def post(self, path: str, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        return self.loop.run_until_complete(self.http.post(path, content=body, headers=headers))

    def get_raw(self, path_and_query: str) -> httpx.Response:
        return self.loop.run_until_complete(self.http.get(path_and_query))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.lifespan.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncClient]:
    """The app on SQLite and on PostgreSQL (which refuses NUL in text: a 500 once)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'fuzz.sqlite3'}"
    else:
        cluster: Cluster = request.getfixturevalue("postgres")
        url = cluster.scratch()
    sync = SyncClient(tmp, url)
    yield sync
    sync.close()


@settings(FUZZ, max_examples=150)
@given(endpoint=st.sampled_from(ENDPOINTS), payload=shaped | json_values)
def test_json_payloads_never_cause_a_server_error(
    client: SyncClient, endpoint: str, payload: Any
) -> None:
    response = client.post(endpoint, json.dumps(payload).encode())
    assert response.status_code < 500, (endpoint, payload, response.text)


@settings(FUZZ, max_examples=60)
@given(endpoint=st.sampled_from(ENDPOINTS), body=st.binary(max_size=300))
def test_arbitrary_bytes_never_cause_a_server_error(
    client: SyncClient, endpoint: str, body: bytes
) -> None:
    assert client.post(endpoint, body).status_code < 500


# Query values as they appear on the wire: percent-escapes of NUL, of a surrogate's UTF-8
# form (not valid UTF-8), of overlong and stray bytes, besides ordinary text.
raw_query_values = st.sampled_from(
    ["%00", "a%00b", "%ED%A0%80", "%C0%AF", "%FF%FE", "%25", "%", "_", "%1B", "9" * 30]
) | st.text(st.characters(codec="utf-8"), max_size=30).map(lambda text: quote(text, safe=""))


@settings(FUZZ, max_examples=80)
@given(
    params=st.dictionaries(
        st.sampled_from(["format", "job", "domain", "since", "until", "url", "crawler"]),
        raw_query_values,
        max_size=4,
    )
)
def test_query_strings_never_cause_a_server_error(
    client: SyncClient, params: dict[str, str]
) -> None:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    for path in ("/v1/audit/export", "/v1/robots"):
        assert client.get_raw(f"{path}?{query}").status_code < 500
