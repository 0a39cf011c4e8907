"""Tenancy, hostile input and public-route budgets: each case was answered wrongly once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from optout_service.api.responses import PROTECTED, PUBLIC
from optout_service.main import create_app
from tests.unit.optout_service.conftest import (
    AUDIT_KEY,
    OTHER_CRAWL_KEY,
    FakeWeb,
    make_settings,
)

OTHER = {"Authorization": f"Bearer {OTHER_CRAWL_KEY}"}
AUDIT = {"Authorization": f"Bearer {AUDIT_KEY}"}
SHA = "ab" * 32


async def decide(
    client: httpx.AsyncClient, job: str, *urls: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    response = await client.post(
        "/v1/decisions",
        json={"crawler": "ExampleBot", "job": job, "urls": list(urls)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    decisions: list[dict[str, Any]] = response.json()["decisions"]
    return decisions


async def export(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: str
) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def observation(decision: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "decision_id": decision["id"],
        "url": decision["url"],
        "final_url": decision["url"],
        "status": 200,
        "length": 10,
        "sha256": SHA,
        **fields,
    }


@pytest.fixture
async def site(fakeweb: FakeWeb) -> FakeWeb:
    fakeweb.routes["http://news.example.com/robots.txt"] = httpx.Response(
        200, text="User-agent: *\nDisallow: /private/\n"
    )
    return fakeweb


# tenancy ---------------------------------------------------------------------------------


async def test_every_record_names_the_key_that_made_it(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    (allowed,) = await decide(client, "job-a", "http://news.example.com/a")
    response = await client.post("/v1/observations", json={"observations": [observation(allowed)]})
    assert response.status_code == 200, response.text
    records = await export(client, AUDIT, job="job-a")
    assert [(r["type"], r["api_key"]) for r in records] == [
        ("decision", "crawler"),
        ("observation", "crawler"),
    ]


async def test_a_crawl_key_exports_only_its_own_records(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    await decide(client, "shared-job", "http://news.example.com/mine")
    await decide(client, "shared-job", "http://news.example.com/theirs", headers=OTHER)
    mine = await export(client, job="shared-job")
    theirs = await export(client, OTHER, job="shared-job")
    assert [r["url"] for r in mine] == ["http://news.example.com/mine"]
    assert [r["url"] for r in theirs] == ["http://news.example.com/theirs"]
    # Without a job filter too: the key, not the filter, decides what is visible.
    assert [r["url"] for r in await export(client, OTHER)] == ["http://news.example.com/theirs"]
    everything = await export(client, AUDIT, job="shared-job")
    assert {r["api_key"] for r in everything} == {"crawler", "other-team"}


async def test_another_keys_decision_cannot_be_observed(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    (allowed,) = await decide(client, "job-a", "http://news.example.com/a")
    response = await client.post(
        "/v1/observations", json={"observations": [observation(allowed)]}, headers=OTHER
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    # Answered like an unknown id: nothing about the other tenant's job leaks.
    assert problem["type"] == "decision_unknown"
    assert problem["loc"] == ["body", "observations", 0, "decision_id"]
    assert [r["type"] for r in await export(client, AUDIT, job="job-a")] == ["decision"]


async def test_a_deny_decision_cannot_be_observed_not_even_by_its_own_key(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    """The forgery seen in probing: a `keep` posted against a `deny` decision."""
    allowed, denied = await decide(
        client, "job-a", "http://news.example.com/a", "http://news.example.com/private/x"
    )
    assert denied["decision"] == "deny"
    for headers in ({}, OTHER):
        response = await client.post(
            "/v1/observations",
            json={"observations": [observation(allowed), observation(denied)]},
            headers=headers,
        )
        assert response.status_code == 422
    detail = (
        await client.post("/v1/observations", json={"observations": [observation(denied)]})
    ).json()["detail"]
    assert detail[0]["type"] == "decision_not_allow"
    # Nothing of either rejected batch was logged, not even the valid observation.
    assert [r["type"] for r in await export(client, AUDIT, job="job-a")] == [
        "decision",
        "decision",
    ]


def test_api_key_names_must_be_unique(tmp_path: Path) -> None:
    keys = [
        {"name": "team", "key": "one-secret", "scopes": ["crawl"]},
        {"name": "team", "key": "another-secret", "scopes": ["crawl"]},
    ]
    with pytest.raises(ValueError, match="unique"):
        make_settings(tmp_path, auth={"api_keys": keys})


def test_api_key_secrets_must_be_unique(tmp_path: Path) -> None:
    keys = [
        {"name": "team-a", "key": "shared-secret", "scopes": ["crawl"]},
        {"name": "team-b", "key": "shared-secret", "scopes": ["audit"]},
    ]
    with pytest.raises(ValueError, match="same secret"):
        make_settings(tmp_path, auth={"api_keys": keys})


async def test_more_urls_than_a_request_may_hold_is_a_422_and_nothing_is_logged(
    client: httpx.AsyncClient,
) -> None:
    urls = [f"http://many.example/{n}" for n in range(1001)]
    response = await client.post(
        "/v1/decisions", json={"crawler": "ExampleBot", "job": "too-many", "urls": urls}
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "urls"]
    assert "1000" in problem["msg"]
    assert await export(client, AUDIT, job="too-many") == []
    assert len(await decide(client, "just-enough", *urls[:1000])) == 1000


# hostile input ---------------------------------------------------------------------------

LONE = "\ud800"


def _decision_body(**fields: Any) -> dict[str, Any]:
    return {"crawler": "ExampleBot", "job": "j", "urls": ["http://news.example.com/a"], **fields}


BAD_DECISIONS: list[tuple[dict[str, Any], list[Any]]] = [
    (_decision_body(job=LONE), ["body", "job"]),
    (_decision_body(job="a\x00b"), ["body", "job"]),
    (_decision_body(job="a\x1bb"), ["body", "job"]),
    (_decision_body(urls=["http://news.example.com/" + LONE]), ["body", "urls", 0]),
    (_decision_body(urls=["http://news.example.com/\x00"]), ["body", "urls", 0]),
]


@pytest.mark.parametrize(("body", "loc"), BAD_DECISIONS)
async def test_bad_text_in_a_decision_is_a_422_naming_the_field(
    client: httpx.AsyncClient, site: FakeWeb, body: dict[str, Any], loc: list[Any]
) -> None:
    # Sent as raw JSON: the escapes reach the server exactly as an attacker writes them.
    response = await client.post(
        "/v1/decisions",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"decision_id": LONE}, "decision_id"),
        ({"decision_id": "abc\x00"}, "decision_id"),
        ({"final_url": "http://news.example.com/a\x00"}, "final_url"),
        ({"final_url": LONE}, "final_url"),
        ({"url": LONE}, "url"),
        ({"content_type": "text/html\x00"}, "content_type"),
        ({"content_type": LONE}, "content_type"),
        ({"head_html": "<head>\x00</head>"}, "head_html"),
        ({"head_html": LONE}, "head_html"),
        ({"headers": [["X-A", "b\x00"]]}, "headers"),
        ({"headers": [[LONE, "b"]]}, "headers"),
        ({"length": 2**63}, "length"),
        ({"length": 10**30}, "length"),
    ],
)
async def test_bad_fields_in_an_observation_are_a_422_naming_the_field(
    client: httpx.AsyncClient, site: FakeWeb, fields: dict[str, Any], field: str
) -> None:
    (allowed,) = await decide(client, "job-a", "http://news.example.com/a")
    response = await client.post(
        "/v1/observations",
        content=json.dumps({"observations": [observation(allowed, **fields)]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:4] == ["body", "observations", 0, field]
    assert [r["type"] for r in await export(client, AUDIT, job="job-a")] == ["decision"]


async def test_the_largest_bigint_length_is_accepted(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    (allowed,) = await decide(client, "job-a", "http://news.example.com/a")
    response = await client.post(
        "/v1/observations", json={"observations": [observation(allowed, length=2**63 - 1)]}
    )
    assert response.status_code == 200, response.text
    assert (await export(client, AUDIT, job="job-a"))[1]["length"] == 2**63 - 1


async def test_tabs_and_line_ends_in_documents_are_fine(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    (allowed,) = await decide(client, "job-a", "http://news.example.com/a")
    response = await client.post(
        "/v1/observations",
        json={
            "observations": [
                observation(
                    allowed,
                    head_html="<head>\r\n\t<title>x</title></head>",
                    headers=[["X-Folded", "a\tb"]],
                )
            ]
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"robots_txt": "User-agent: *", "user_agent": LONE, "url": "/"},
        {"robots_txt": LONE, "user_agent": "ExampleBot", "url": "/"},
        {"robots_txt": "User-agent: *", "user_agent": "ExampleBot", "url": LONE},
        {"robots_txt": "User-agent: *", "user_agent": "ExampleBot", "url": "/\x00"},
        {"robots_txt_b64": LONE, "user_agent": "ExampleBot", "url": "/"},
    ],
)
async def test_bad_text_in_the_self_check_is_a_422(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(
        "/v1/robots/evaluate",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    yield b'{"crawler": "ExampleBot", "job": "j", "urls": ["'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"]}'


async def test_a_chunked_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/decisions",
        content=_chunks(3 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert "larger than" in response.json()["detail"]


async def test_a_chunked_body_under_the_limit_is_read_whole(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"crawler": "ExampleBot", "job": "j", '
        yield b'"urls": ["http://news.example.com/a"]}'

    response = await client.post(
        "/v1/decisions", content=body(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text


# export filters --------------------------------------------------------------------------


async def test_export_since_with_an_offset_is_compared_in_utc(
    client: httpx.AsyncClient, site: FakeWeb
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    await decide(client, "job-t", "http://news.example.com/a")
    # The same instant written at +05:00: the record comes after it...
    east = before.astimezone(timezone(timedelta(hours=5)))
    assert len(await export(client, AUDIT, job="job-t", since=east.isoformat())) == 1
    # ...and before an instant an hour later, however it is written.
    later = (before + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-3)))
    assert len(await export(client, AUDIT, job="job-t", until=later.isoformat())) == 1
    assert len(await export(client, AUDIT, job="job-t", since=later.isoformat())) == 0


async def test_export_domain_is_matched_literally(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    for host in ("news.example.com", "www.examplexcom.org"):
        fakeweb.routes[f"http://{host}/robots.txt"] = httpx.Response(404)
    await decide(client, "job-d", "http://news.example.com/a", "http://www.examplexcom.org/")
    assert len(await export(client, AUDIT, domain="example.com")) == 1
    # '_' and '%' are characters of the filter, not LIKE wildcards.
    assert await export(client, AUDIT, domain="example_com.org") == []
    assert await export(client, AUDIT, domain="examplexcom.org") != []
    for bad in ("%", "%.com", "a b"):
        response = await client.get("/v1/audit/export", params={"domain": bad}, headers=AUDIT)
        assert response.status_code == 422, bad


async def test_export_filters_with_nul_are_refused_before_streaming(
    client: httpx.AsyncClient,
) -> None:
    for params in ({"job": "a\x00"}, {"domain": "a\x00.com"}, {"job": "\x1b"}):
        response = await client.get("/v1/audit/export", params=params, headers=AUDIT)
        assert response.status_code == 422, params


# OpenAPI and public budgets --------------------------------------------------------------


async def test_every_route_documents_its_error_statuses(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            if path in ("/v1/robots/evaluate", "/v1/signals/evaluate"):
                expected = {str(code) for code in PUBLIC}
            elif path.startswith("/v1/"):
                expected = {str(code) for code in PROTECTED}
            else:
                expected = {"400", "413", "422"}
            assert expected <= declared, (method, path, expected - declared)


async def test_public_routes_are_rate_limited_per_client(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api={"public_requests_per_minute": 6, "public_burst": 3})
    app = create_app(settings, fetch_transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    body = {"robots_txt": "User-agent: *\nDisallow: /", "user_agent": "ExampleBot", "url": "/"}
    async with app.router.lifespan_context(app):
        statuses = []
        for client_address in ("10.0.0.1", "10.0.0.2"):
            transport = httpx.ASGITransport(app=app, client=(client_address, 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                for _ in range(5):
                    response = await http.post("/v1/robots/evaluate", json=body)
                    statuses.append(response.status_code)
                    if response.status_code == 429:
                        assert int(response.headers["retry-after"]) >= 1
                # Keyed routes are not limited by the public budget.
                for _ in range(5):
                    assert (await http.get("/healthz")).status_code == 200
    # Each client gets its own burst of three.
    assert statuses == [200, 200, 200, 429, 429] * 2


async def test_public_routes_take_smaller_bodies(client: httpx.AsyncClient) -> None:
    body = {"robots_txt": "#" * (1024 * 1024 + 10), "user_agent": "ExampleBot", "url": "/"}
    response = await client.post("/v1/robots/evaluate", json=body)
    assert response.status_code == 413
