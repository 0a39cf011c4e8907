"""The v1 API in one process: routes, engine and log, with a fake web under the fetcher."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from optout_service.main import create_app
from optout_service.policy.robotstxt import agent_product_token
from tests.unit.optout_service.conftest import AUDIT_KEY, CRAWL_KEY, FakeWeb, make_settings

ROBOTS = "User-agent: *\nAllow: /\n\nUser-agent: ExampleBot\nCrawl-delay: 2\nDisallow: /private/\n"


async def decide(
    client: httpx.AsyncClient, *urls: str, crawler: str = "ExampleBot"
) -> list[dict[str, object]]:
    response = await client.post(
        "/v1/decisions", json={"crawler": crawler, "job": "job-1", "urls": list(urls)}
    )
    assert response.status_code == 200, response.text
    decisions: list[dict[str, object]] = response.json()["decisions"]
    return decisions


async def export(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    response = await client.get("/v1/audit/export", params={"format": "jsonl", **params})
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


async def test_robots_rules_decide_and_crawl_delay_is_returned(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    fakeweb.routes["http://site.example.com/robots.txt"] = httpx.Response(200, text=ROBOTS)
    first, second = await decide(
        client,
        "http://site.example.com/public/a.html",
        "http://SITE.example.com:80/private/b.html#frag",
    )
    assert (first["decision"], first["reasons"], first["crawl_delay"]) == (
        "allow",
        ["robots.allowed"],
        2.0,
    )
    assert (second["decision"], second["reasons"]) == ("deny", ["robots.disallowed"])
    assert second["url"] == "http://SITE.example.com:80/private/b.html#frag"
    assert second["normalized_url"] == "http://site.example.com/private/b.html"
    # Another crawler token falls under the * group.
    (other,) = await decide(client, "http://site.example.com/private/b.html", crawler="OtherBot")
    assert other["decision"] == "allow"
    assert fakeweb.fetched("http://site.example.com/robots.txt") == 1  # cached


@pytest.mark.parametrize(
    ("answer", "decision", "reasons"),
    [
        (httpx.Response(404), "allow", ["robots.unavailable"]),
        (httpx.Response(403), "allow", ["robots.unavailable"]),
        (httpx.Response(429), "deny", ["robots.unreachable", "robots.rate_limited"]),
        (httpx.Response(500), "deny", ["robots.unreachable", "robots.server_error"]),
        (
            httpx.Response(503, text="User-agent: *\nAllow: /\n"),
            "deny",
            ["robots.unreachable", "robots.server_error"],
        ),
        (httpx.ConnectError("refused"), "deny", ["robots.unreachable", "robots.network_error"]),
        (httpx.ReadTimeout("slow"), "deny", ["robots.unreachable", "robots.timeout"]),
    ],
)
async def test_status_policy_of_rfc9309(
    client: httpx.AsyncClient,
    fakeweb: FakeWeb,
    answer: httpx.Response | Exception,
    decision: str,
    reasons: list[str],
) -> None:
    fakeweb.routes["http://status.example.org/robots.txt"] = answer
    (result,) = await decide(client, "http://status.example.org/page")
    assert (result["decision"], result["reasons"]) == (decision, reasons)


async def test_redirects_are_followed_up_to_five(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    for i in range(5):
        fakeweb.routes[f"http://hop{i}.example.net/robots.txt"] = httpx.Response(
            301, headers={"Location": f"http://hop{i + 1}.example.net/robots.txt"}
        )
    fakeweb.routes["http://hop5.example.net/robots.txt"] = httpx.Response(
        200, text="User-agent: *\nDisallow: /x\n"
    )
    allowed, denied = await decide(client, "http://hop0.example.net/y", "http://hop0.example.net/x")
    assert allowed["decision"] == "allow"
    assert denied["reasons"] == ["robots.disallowed"]
    # Six hops are one too many: fail closed.
    fakeweb.routes["http://hop6.example.net/robots.txt"] = httpx.Response(
        302, headers={"Location": "http://hop0.example.net/robots.txt"}
    )
    (looping,) = await decide(client, "http://hop6.example.net/y")
    assert looping["reasons"] == ["robots.unreachable", "robots.too_many_redirects"]


async def test_piracy_listed_hosts_are_never_contacted(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    results = await decide(
        client, "http://streamvault-free.to/", "https://media.streamvault-free.to/x"
    )
    assert [r["reasons"] for r in results] == [["piracy.listed"], ["piracy.listed"]]
    assert all(r["decision"] == "deny" for r in results)
    assert fakeweb.requests == []


async def test_many_urls_of_one_unknown_origin_fetch_robots_once(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    import asyncio

    fakeweb.routes["http://busy.example.com/robots.txt"] = httpx.Response(
        200, text="User-agent: *\nDisallow: /odd\n"
    )
    batches = [
        [f"http://busy.example.com/{'odd' if i % 2 else 'even'}/{i}" for i in range(k, k + 5)]
        for k in range(0, 50, 5)
    ]
    results = await asyncio.gather(*(decide(client, *batch) for batch in batches))
    flat = [r for batch in results for r in batch]
    assert len(flat) == 50
    for r in flat:
        expected = "deny" if "/odd/" in str(r["url"]) else "allow"
        assert r["decision"] == expected
    assert fakeweb.fetched("http://busy.example.com/robots.txt") == 1


async def test_observations_keep_or_discard_and_everything_is_logged(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    fakeweb.routes["http://news.example.com/robots.txt"] = httpx.Response(
        200, text="User-agent: *\nDisallow:\n"
    )
    paths = ["/plain", "/tdm", "/noai", "/paid", "/login", "/meta"]
    decisions = await decide(client, *(f"http://news.example.com{p}" for p in paths))
    sha = "ab" * 32
    cases: list[tuple[int, list[list[str]], str | None]] = [
        (200, [["Content-Type", "text/html"]], "<head><title>x</title></head>"),
        (200, [["tdm-reservation", "1"]], None),
        (200, [["X-Robots-Tag", "noai, noimageai"]], None),
        (402, [], None),
        (401, [["WWW-Authenticate", "Basic"]], None),
        (200, [], '<head><meta name="robots" content="noindex, noai"></head>'),
    ]
    observations = [
        {
            "decision_id": d["id"],
            "url": d["url"],
            "final_url": d["url"],
            "status": status,
            "headers": headers,
            "content_type": "text/html",
            "length": 10,
            "sha256": sha,
            "head_html": head,
        }
        for d, (status, headers, head) in zip(decisions, cases, strict=True)
    ]
    response = await client.post("/v1/observations", json={"observations": observations})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["outcome"], r["reasons"]) for r in results] == [
        ("keep", ["content.unreserved"]),
        ("discard", ["tdmrep.reserved"]),
        ("discard", ["x_robots_tag.noai"]),
        ("discard", ["access.payment_required"]),
        ("discard", ["access.auth_required"]),
        ("discard", ["meta.noai"]),
    ]
    records = await export(client, job="job-1")
    assert [r["type"] for r in records].count("decision") == 6
    observed = {r["decision_id"]: r for r in records if r["type"] == "observation"}
    assert set(observed) == {d["id"] for d in decisions}
    assert observed[decisions[1]["id"]]["reasons"] == ["tdmrep.reserved"]


async def test_x_robots_tag_for_another_agent_does_not_apply(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    fakeweb.routes["http://agents.example.com/robots.txt"] = httpx.Response(404)
    (d1, d2) = await decide(client, "http://agents.example.com/a", "http://agents.example.com/b")
    obs = [
        {
            "decision_id": d1["id"],
            "url": d1["url"],
            "final_url": d1["url"],
            "status": 200,
            "headers": [["X-Robots-Tag", "otherbot: noai"]],
            "length": 0,
            "sha256": "0" * 64,
        },
        {
            "decision_id": d2["id"],
            "url": d2["url"],
            "final_url": d2["url"],
            "status": 200,
            "headers": [["X-Robots-Tag", "examplebot: noai"]],
            "length": 0,
            "sha256": "0" * 64,
        },
    ]
    response = await client.post("/v1/observations", json={"observations": obs})
    assert [r["outcome"] for r in response.json()["results"]] == ["keep", "discard"]


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/v1/decisions", {"job": "j", "urls": ["http://a.example.com/"]}),
        ("/v1/decisions", {"crawler": "ExampleBot", "job": "j", "urls": []}),
        (
            "/v1/decisions",
            {"crawler": "Example Bot/1.0", "job": "j", "urls": ["http://a.example.com/"]},
        ),
        ("/v1/decisions", {"crawler": "ExampleBot", "job": "j", "urls": ["ftp://a.example.com/"]}),
        ("/v1/decisions", {"crawler": "ExampleBot", "job": "j", "urls": ["not a url"]}),
        ("/v1/decisions", {"crawler": "ExampleBot", "job": "j", "urls": ["http://exa mple.com/"]}),
        ("/v1/decisions", {"crawler": "ExampleBot", "job": "j", "urls": ["http://[::1/"]}),
        ("/v1/decisions", {"crawler": "ExampleBot", "job": "j", "urls": [12]}),
        ("/v1/decisions", ["not", "an", "object"]),
        ("/v1/observations", {"observations": [{"decision_id": "nope"}]}),
        (
            "/v1/observations",
            {
                "observations": [
                    {
                        "decision_id": "00000000-0000-0000-0000-000000000000",
                        "url": "http://a/",
                        "final_url": "http://a/",
                        "status": 200,
                        "length": 1,
                        "sha256": "0" * 64,
                    }
                ]
            },
        ),
        ("/v1/robots/evaluate", {"user_agent": "ExampleBot"}),
        (
            "/v1/robots/evaluate",
            {"user_agent": "ExampleBot", "url": "http://a.example.com/", "robots_txt_b64": "***"},
        ),
        (
            "/v1/robots/evaluate",
            {"user_agent": "ExampleBot", "url": "mailto:x@y", "robots_txt": ""},
        ),
    ],
)
async def test_bad_input_is_a_4xx_never_a_500(
    client: httpx.AsyncClient, path: str, payload: object
) -> None:
    response = await client.post(path, json=payload)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


async def test_malformed_json_and_huge_bodies(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/decisions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    huge = json.dumps(
        {"crawler": "ExampleBot", "job": "j", "urls": ["http://a.example.com/" + "x" * 1000] * 3000}
    )
    response = await client.post(
        "/v1/decisions", content=huge.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    response = await client.post(
        "/v1/robots/evaluate",
        content=b"\x00\xff" * 10,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422


async def test_api_keys_and_scopes(client: httpx.AsyncClient) -> None:
    body = {"crawler": "ExampleBot", "job": "j", "urls": ["http://streamvault-free.to/"]}
    assert (
        await client.post("/v1/decisions", json=body, headers={"Authorization": ""})
    ).status_code == 401
    assert (
        await client.post("/v1/decisions", json=body, headers={"Authorization": "Bearer wrong"})
    ).status_code == 401
    audit = {"Authorization": f"Bearer {AUDIT_KEY}"}
    assert (await client.post("/v1/decisions", json=body, headers=audit)).status_code == 403
    # Both may export: a crawl key sees its own records only (test_api_hardening.py).
    assert (await client.get("/v1/audit/export")).status_code == 200
    assert (await client.get("/v1/audit/export", headers=audit)).status_code == 200


async def test_robots_self_check(client: httpx.AsyncClient) -> None:
    robots = "\ufeffUser-agent: ExampleBot\nDisallow: /no\n"
    cases: list[tuple[dict[str, object], bool, str]] = [
        ({"robots_txt": robots, "url": "http://a.example.com/no/x"}, False, "robots.disallowed"),
        ({"robots_txt": robots, "url": "/yes"}, True, "robots.allowed"),
        (
            {"robots_txt_b64": base64.b64encode(robots.encode("utf-16")).decode(), "url": "/no"},
            False,
            "robots.disallowed",
        ),
        ({"robots_txt": robots, "url": "/robots.txt"}, True, "robots.allowed"),
        ({"status": 404, "url": "/no"}, True, "robots.unavailable"),
        ({"status": 503, "url": "/anything"}, False, "robots.unreachable"),
        (
            {"status": 500, "robots_txt": "User-agent: *\nAllow: /", "url": "/a"},
            False,
            "robots.unreachable",
        ),
    ]
    for payload, allowed, reason in cases:
        response = await client.post(
            "/v1/robots/evaluate", json={"user_agent": "ExampleBot", **payload}, headers={}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["allowed"], response.json()["reason"]) == (allowed, reason), payload


async def test_health_readiness_and_metrics(client: httpx.AsyncClient, fakeweb: FakeWeb) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    await decide(client, "http://streamvault-free.to/")
    metrics = (await client.get("/metrics")).text
    assert 'optout_decisions_total{decision="deny",reason="piracy.listed"} 1.0' in metrics


async def test_origins_with_identical_robots_txt_fetched_at_once(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    """Every document is stored once per sha256, even when two fetches race to store it."""
    import asyncio

    for i in range(20):
        fakeweb.routes[f"http://same{i}.example.com/robots.txt"] = httpx.Response(
            200, text="User-agent: *\nDisallow: /x\n"
        )
    results = await asyncio.gather(
        *(decide(client, f"http://same{i}.example.com/y") for i in range(20))
    )
    assert all(r[0]["decision"] == "allow" for r in results)


async def test_an_observation_may_reach_another_replica(
    client: httpx.AsyncClient, fakeweb: FakeWeb, tmp_path: Path, database_url: str
) -> None:
    """Replicas share only the database: a decision from one is found by the other."""
    fakeweb.routes["http://replica.example.com/robots.txt"] = httpx.Response(404)
    (decision,) = await decide(client, "http://replica.example.com/a")
    other = create_app(
        make_settings(tmp_path, database={"url": database_url}),
        fetch_transport=httpx.MockTransport(fakeweb.handler),
    )
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other),
            base_url="http://replica.test",
            headers={"Authorization": f"Bearer {CRAWL_KEY}"},
        ) as second,
    ):
        response = await second.post(
            "/v1/observations",
            json={
                "observations": [
                    {
                        "decision_id": decision["id"],
                        "url": decision["url"],
                        "final_url": decision["url"],
                        "status": 200,
                        "length": 0,
                        "sha256": "0" * 64,
                    }
                ]
            },
        )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "keep"


async def test_self_check_names_the_deciding_line(client: httpx.AsyncClient) -> None:
    robots = (
        "User-agent: *\nDisallow: /\n\nUser-agent: ExampleBot\nAllow: /public/\nDisallow: /\n"
        "Request-rate: 1/5\nSitemap: http://a.example.com/s.xml\n"
    )
    response = await client.post(
        "/v1/robots/evaluate",
        json={
            "robots_txt": robots,
            "user_agent": "ExampleBot",
            "url": "http://a.example.com/public/x",
        },
    )
    body = response.json()
    assert body["allowed"] is True
    assert body["matched"] == {"line": 5, "directive": "allow", "pattern": "/public/"}
    assert body["crawl_delay"] == 5.0  # Request-rate 1/5: one request every 5 seconds
    assert body["sitemaps"] == ["http://a.example.com/s.xml"]
    response = await client.post(
        "/v1/robots/evaluate",
        json={
            "robots_txt": robots,
            "user_agent": "OtherBot",
            "url": "http://a.example.com/public/x",
        },
    )
    assert response.json()["matched"] == {"line": 2, "directive": "disallow", "pattern": "/"}


async def test_identical_robots_files_are_parsed_once(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    from optout_service.services import Services

    for host in ("one", "two"):
        fakeweb.routes[f"http://{host}.example.com/robots.txt"] = httpx.Response(
            200, text="User-agent: *\nDisallow: /x\n"
        )
    await decide(client, "http://one.example.com/a", "http://two.example.com/a")
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    services: Services = transport.app.state.services  # type: ignore[attr-defined]
    one = await services.store.get("http://one.example.com")
    two = await services.store.get("http://two.example.com")
    assert one.parsed is two.parsed


@pytest.mark.parametrize(
    ("url", "agent", "allowed"),
    [
        ("", "FooBot", False),  # empty URL: the path "/"
        ("foo.bar/x/y", "FooBot", False),  # no scheme: read as http
        ("/x#frag", "FooBot", False),
        ("http://foo.bar/robots.txt", "FooBot", True),
    ],
)
async def test_self_check_lenient_inputs(
    client: httpx.AsyncClient, url: str, agent: str, allowed: bool
) -> None:
    response = await client.post(
        "/v1/robots/evaluate",
        json={"robots_txt": "user-agent: FooBot\ndisallow: /\n", "user_agent": agent, "url": url},
    )
    assert response.status_code == 200, response.text
    assert response.json()["allowed"] is allowed


@pytest.mark.parametrize("agent", ["", "   ", "/1.0", "***", "Mozilla/5.0"])
async def test_self_check_refuses_an_agent_that_names_no_crawler(
    client: httpx.AsyncClient, agent: str
) -> None:
    response = await client.post(
        "/v1/robots/evaluate",
        json={"robots_txt": "user-agent: *\ndisallow: /\n", "user_agent": agent, "url": "/"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "user_agent"]


async def test_robots_info_for_the_crawler(client: httpx.AsyncClient, fakeweb: FakeWeb) -> None:
    fakeweb.routes["http://info.example.com/robots.txt"] = httpx.Response(
        200,
        text="User-agent: ExampleBot\nCrawl-delay: 3\nRequest-rate: 1/5\nDisallow: /x\n"
        "Sitemap: http://info.example.com/sitemap.xml\n",
    )
    response = await client.get(
        "/v1/robots", params={"url": "http://info.example.com/any/page", "crawler": "ExampleBot"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["origin"] == "http://info.example.com"
    assert (body["outcome"], body["status"], body["crawl_delay"]) == ("ok", 200, 5.0)
    assert body["request_rate"] == "1/5s"
    assert body["sitemaps"] == ["http://info.example.com/sitemap.xml"]
    assert body["groups_for_crawler"] == 1
    listed = await client.get(
        "/v1/robots", params={"url": "http://streamvault-free.to/", "crawler": "ExampleBot"}
    )
    assert listed.status_code == 403
    assert fakeweb.fetched("http://streamvault-free.to/robots.txt") == 0
    bad = await client.get("/v1/robots", params={"url": "ftp://x/", "crawler": "ExampleBot"})
    assert bad.status_code == 422


async def test_every_public_robots_case_through_the_self_check_endpoint(
    client: httpx.AsyncClient,
) -> None:
    """The acceptance sets are run against POST /v1/robots/evaluate: the same answers there."""
    from tests.unit.optout_service.robots_cases import CASES

    wrong = []
    for source, robots, agent, url, allowed in CASES:
        if not agent or agent_product_token(agent) != agent:
            # The endpoint reads a user-agent string down to its product token ("Foo Bar" asks
            # about Foo; "" names no crawler and is a 422), where these cases give the engine a
            # token as it is. test_robotstxt.py checks them against the engine directly.
            continue
        response = await client.post(
            "/v1/robots/evaluate",
            json={
                "robots_txt_b64": base64.b64encode(robots.encode("utf-8")).decode(),
                "user_agent": agent,
                "url": url,
            },
        )
        assert response.status_code == 200, (source, url, response.text)
        assert response.json()["product_token"] == agent
        if response.json()["allowed"] is not allowed:
            wrong.append((source, agent, url))
    assert wrong == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"crawler": Infinity}',
        b'{"crawler": NaN, "job": -Infinity, "urls": [Infinity]}',
        b'{"robots_txt": "' + b"x" * 5000 + b'", "user_agent": 5, "url": 1e999}',
    ],
)
async def test_validation_errors_render_any_input(client: httpx.AsyncClient, body: bytes) -> None:
    for path in ("/v1/decisions", "/v1/robots/evaluate", "/v1/observations"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert len(response.content) < 20_000  # inputs are echoed briefly, never whole
