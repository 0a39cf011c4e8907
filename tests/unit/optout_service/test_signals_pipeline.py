"""Every signal through the real app: decisions, observations and the signals self-check.

The site checks and asset checks have their own tests (tests/unit/optout_service/checks/); these
show them wired into the two paths of a fetch and into POST /v1/signals/evaluate, on SQLite and
PostgreSQL, with the policy documents served by a fake web under the fetcher.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from optout_service.checks.rsl import MAX_RSL_BYTES
from optout_service.main import create_app
from optout_service.services import Services
from tests.unit.optout_service.conftest import CRAWL_KEY, FakeWeb, make_settings

SITE = "http://reserved.example.com"
LOADED_ROBOTS = "User-agent: *\nContent-Signal: ai-train=no\nContent-Usage: train-ai=n\nAllow: /\n"
TDMREP = json.dumps([{"location": "/*", "tdm-reservation": 1, "tdm-policy": f"{SITE}/policy.json"}])


def services_of(client: httpx.AsyncClient) -> Services:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    services: Services = transport.app.state.services  # type: ignore[attr-defined]
    return services


async def decide(
    client: httpx.AsyncClient, *urls: str, purposes: list[str] | None = None
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"crawler": "ExampleBot", "job": "job-s", "urls": list(urls)}
    if purposes is not None:
        body["purposes"] = purposes
    response = await client.post("/v1/decisions", json=body)
    assert response.status_code == 200, response.text
    decisions: list[dict[str, Any]] = response.json()["decisions"]
    return decisions


def reserve_everything(fakeweb: FakeWeb) -> None:
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(200, text=LOADED_ROBOTS)
    fakeweb.routes[f"{SITE}/.well-known/tdmrep.json"] = httpx.Response(200, text=TDMREP)
    fakeweb.routes[f"{SITE}/ai.txt"] = httpx.Response(200, text="User-Agent: *\nDisallow: /\n")


async def test_every_site_reservation_is_read_and_listed(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    reserve_everything(fakeweb)
    (decision,) = await decide(client, f"{SITE}/article.html")
    assert decision["decision"] == "deny"
    assert set(decision["reasons"]) == {
        "content_signal.ai_train_no",
        "aipref.train_ai_no",
        "tdmrep.reserved",
        "ai_txt.disallowed",
    }
    assert decision["licenses"] == [f"{SITE}/policy.json"]
    # Each document was fetched once, at the same time (not one after another).
    for path in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"):
        assert fakeweb.fetched(SITE + path) == 1


async def test_a_decision_links_to_every_document_it_read(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    reserve_everything(fakeweb)
    (decision,) = await decide(client, f"{SITE}/article.html")
    services = services_of(client)
    with services.database.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT f.kind, f.url, d.sha256 FROM decision_document l "
                "JOIN policy_fetch f ON f.id = l.fetch_id "
                "LEFT JOIN policy_document d ON d.id = f.document_id "
                "WHERE l.decision_id = :id ORDER BY f.kind"
            ),
            {"id": decision["id"]},
        ).all()
    assert [(kind, url) for kind, url, _ in rows] == [
        ("ai_txt", f"{SITE}/ai.txt"),
        ("robots_txt", f"{SITE}/robots.txt"),
        ("tdmrep", f"{SITE}/.well-known/tdmrep.json"),
    ]
    by_kind = {kind: digest for kind, _, digest in rows}
    assert by_kind["tdmrep"] == hashlib.sha256(TDMREP.encode()).hexdigest()


async def test_purposes_decide_which_reservations_apply(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    # Reserves AI training only; a search crawl may go on, a training crawl may not.
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(
        200, text="User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"
    )
    (search,) = await decide(client, f"{SITE}/a", purposes=["search"])
    (train,) = await decide(client, f"{SITE}/a", purposes=["train-ai"])
    (default,) = await decide(client, f"{SITE}/a")  # the configured purposes: train-ai
    assert search["decision"] == "allow"
    assert "content_signal.search_yes" in search["reasons"]
    assert (train["decision"], train["reasons"]) == ("deny", ["content_signal.ai_train_no"])
    assert default["decision"] == "deny"


async def test_an_unknown_purpose_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/decisions",
        json={"crawler": "ExampleBot", "job": "j", "urls": [f"{SITE}/"], "purposes": ["fun"]},
    )
    assert response.status_code == 422
    assert "unknown purpose 'fun'" in response.text


async def test_a_tdmrep_file_that_fails_closes_the_origin(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(200, text="User-agent: *\nAllow: /\n")
    fakeweb.routes[f"{SITE}/.well-known/tdmrep.json"] = httpx.Response(503)
    (decision,) = await decide(client, f"{SITE}/a")
    assert (decision["decision"], decision["reasons"]) == ("deny", ["tdmrep.unreachable"])


async def test_a_licence_named_by_robots_txt_is_fetched_and_read(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    licence = (
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/">'
        '<license><prohibits type="usage">ai-train</prohibits></license>'
        "</content></rsl>"
    )
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(
        200, text="License: http://licences.example.org/rsl.xml\nUser-agent: *\nAllow: /\n"
    )
    fakeweb.routes["http://licences.example.org/rsl.xml"] = httpx.Response(200, text=licence)
    (decision,) = await decide(client, f"{SITE}/a")
    assert (decision["decision"], decision["reasons"]) == ("deny", ["rsl.prohibited"])
    assert decision["licenses"] == ["http://licences.example.org/rsl.xml"]
    (again,) = await decide(client, f"{SITE}/b")
    assert again["decision"] == "deny"
    assert fakeweb.fetched("http://licences.example.org/rsl.xml") == 1  # cached


async def test_an_oversized_licence_is_refused_after_one_byte_over_its_limit(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    padding = "<!-- padding -->" * (3 * 1024 * 1024 // 16)
    licence = (
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/">'
        '<license><permits type="usage">all</permits></license></content>' + padding + "</rsl>"
    )
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(
        200, text="License: http://licences.example.org/big.xml\nUser-agent: *\nAllow: /\n"
    )
    fakeweb.routes["http://licences.example.org/big.xml"] = httpx.Response(200, text=licence)
    (decision,) = await decide(client, f"{SITE}/a")
    assert (decision["decision"], decision["reasons"]) == ("deny", ["rsl.unreadable"])
    metrics = (await client.get("/metrics")).text
    # Read only up to the licence limit (and counted as cut), not up to robots.max_bytes.
    assert 'optout_policy_documents_truncated_total{kind="rsl"} 1.0' in metrics
    services = services_of(client)
    assert services.store.kinds["rsl"].max_bytes == MAX_RSL_BYTES + 1
    assert services.store.kinds["robots_txt"].max_bytes == services.settings.robots.max_bytes


async def test_a_licence_on_a_listed_host_is_never_fetched(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    # streamvault-free.to is on the demo piracy list the tests load.
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(
        200, text="License: http://streamvault-free.to/rsl.xml\nUser-agent: *\nAllow: /\n"
    )
    (decision,) = await decide(client, f"{SITE}/a")
    assert decision["decision"] == "deny"
    assert decision["reasons"] == ["rsl.unreadable"]
    assert fakeweb.fetched("http://streamvault-free.to/rsl.xml") == 0


def observation(decision_id: str, url: str, **fields: Any) -> dict[str, Any]:
    body = {
        "decision_id": decision_id,
        "url": url,
        "final_url": url,
        "status": 200,
        "headers": [],
        "content_type": "text/html",
        "length": 10,
        "sha256": "0" * 64,
        "head_html": "<html><head><title>x</title></head>",
    }
    body.update(fields)
    return body


PAYWALLED_HEAD = (
    '<html><head><script type="application/ld+json">'
    '{"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": false}'
    "</script></head>"
)
LOGIN_HEAD = (
    "<html><head><title>Sign in</title></head><body><form>"
    '<input type="password" name="password"></form>'
)


@pytest.mark.parametrize(
    ("url", "fields", "reason"),
    [
        (f"{SITE}/story", {"head_html": PAYWALLED_HEAD}, "access.paywall_markup"),
        (
            f"{SITE}/account/login?next=/story",
            {"head_html": LOGIN_HEAD, "redirect_urls": [f"{SITE}/story"]},
            "access.login_redirect",
        ),
        (f"{SITE}/story", {"headers": [["Content-Usage", "train-ai=n"]]}, "aipref.train_ai_no"),
        (f"{SITE}/story", {"headers": [["X-Robots-Tag", "noml"]]}, "x_robots_tag.noml"),
    ],
)
async def test_what_was_not_lawfully_accessible_or_is_reserved_is_discarded(
    client: httpx.AsyncClient,
    fakeweb: FakeWeb,
    url: str,
    fields: dict[str, Any],
    reason: str,
) -> None:
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(200, text="User-agent: *\nAllow: /\n")
    (decision,) = await decide(client, url)
    assert decision["decision"] == "allow"
    response = await client.post(
        "/v1/observations", json={"observations": [observation(decision["id"], url, **fields)]}
    )
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["outcome"] == "discard"
    assert reason in result["reasons"]


async def test_an_asset_reserved_in_its_embedded_metadata_is_discarded(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    from tests.support.assets import tdm_xmp

    url = f"{SITE}/report.pdf"
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(200, text="User-agent: *\nAllow: /\n")
    (decision,) = await decide(client, url)
    body = observation(
        decision["id"],
        url,
        content_type="application/pdf",
        head_html=None,
        metadata={"format": "pdf", "xmp": tdm_xmp("1")},
    )
    response = await client.post("/v1/observations", json={"observations": [body]})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert (result["outcome"], result["reasons"]) == ("discard", ["xmp.tdm_reserved"])


# POST /v1/signals/evaluate --------------------------------------------------------------------
async def evaluate(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/signals/evaluate", json=body, headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_the_self_check_reads_every_file_given(client: httpx.AsyncClient) -> None:
    answer = await evaluate(
        client,
        url=f"{SITE}/article.html",
        files={
            "/robots.txt": LOADED_ROBOTS,
            "/.well-known/tdmrep.json": TDMREP,
            "/ai.txt": "User-Agent: *\nDisallow: /\n",
        },
    )
    assert answer["reserved"] is True
    assert set(answer["reasons"]) == {
        "content_signal.ai_train_no",
        "aipref.train_ai_no",
        "tdmrep.reserved",
        "ai_txt.disallowed",
    }
    assert answer["tdm"] == {"reservation": 1, "policy": f"{SITE}/policy.json"}
    assert answer["crawl"] == {"allowed": True, "reason": "robots.allowed"}
    assert answer["by_purpose"]["train-ai"]["state"] == "reserved"
    assert answer["by_purpose"]["search"]["state"] == "unknown"
    assert answer["licenses"] == [f"{SITE}/policy.json"]
    assert answer["product_token"] == "ExampleBot"  # user_agent null: our configured token


async def test_the_self_check_says_unknown_rather_than_allowed(client: httpx.AsyncClient) -> None:
    answer = await evaluate(client, url=f"{SITE}/", files={"/robots.txt": "User-agent: *\n"})
    assert answer["reserved"] is False
    assert {p: r["state"] for p, r in answer["by_purpose"].items()} == {
        "train-ai": "unknown",
        "ai-input": "unknown",
        "search": "unknown",
    }
    assert answer["tdm"] == {"reservation": None, "policy": None}


async def test_the_self_check_reads_headers_pages_and_files_as_a_crawl_would(
    client: httpx.AsyncClient,
) -> None:
    # Repeated header lines as pairs; a file given as a status; noimageai with no content type
    # read the stricter way.
    answer = await evaluate(
        client,
        url=f"{SITE}/picture",
        headers=[["X-Robots-Tag", "noimageai"], ["X-Robots-Tag", "ExampleBot: noindex"]],
        files={"/robots.txt": {"status": 503}},
    )
    assert answer["reserved"] is True
    assert "x_robots_tag.noimageai" in answer["reasons"]
    assert "robots.unreachable" in answer["reasons"]
    assert answer["crawl"] == {"allowed": False, "reason": "robots.unreachable"}
    page = await evaluate(
        client,
        url=f"{SITE}/story",
        body=PAYWALLED_HEAD,
        headers={"Content-Type": "text/html"},
        purposes=["search"],
    )
    assert page["reserved"] is True  # access is refused whatever the purpose
    assert page["reasons"] == ["access.paywall_markup"]
    assert page["purposes"] == ["search"]


async def test_the_self_check_reads_an_epub_package_document(client: httpx.AsyncClient) -> None:
    opf = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'prefix="tdm: http://www.w3.org/ns/tdmrep#"><metadata>'
        '<meta property="tdm:reservation">1</meta>'
        '<meta property="tdm:policy">https://publisher.example/licence</meta>'
        "</metadata></package>"
    )
    answer = await evaluate(client, url=f"{SITE}/book.epub", package_opf=opf)
    assert answer["reserved"] is True
    assert answer["reasons"] == ["epub.tdm_reserved"]
    assert answer["tdm"] == {"reservation": 1, "policy": "https://publisher.example/licence"}


# The after-fetch rules of the first observation engine, kept as data and run through today's
# asset checks (the same objects as POST /v1/observations).
@pytest.mark.parametrize(
    ("status", "headers", "content_type", "head", "reasons"),
    [
        (200, [], "text/html", None, ()),
        (401, [], "text/html", None, ("access.auth_required",)),
        (402, [], "text/html", None, ("access.payment_required",)),
        (403, [], "text/html", None, ("access.forbidden",)),
        (200, [("TDM-Reservation", " 1 ")], "text/html", None, ("tdmrep.reserved",)),
        (200, [("tdm-reservation", "0")], "text/html", None, ()),
        (200, [("X-Robots-Tag", "NOAI")], "text/html", None, ("x_robots_tag.noai",)),
        (200, [("X-Robots-Tag", "noimageai")], "text/html", None, ()),
        (200, [("X-Robots-Tag", "noimageai")], "image/png", None, ("x_robots_tag.noimageai",)),
        (
            200,
            [("X-Robots-Tag", "unavailable_after: 2030-01-01")],
            "text/html",
            None,
            (),
        ),
        (
            200,
            [("X-Robots-Tag", "googlebot: noai")],
            "text/html",
            None,
            (),
        ),
        (
            200,
            [("X-Robots-Tag", "ExampleBot: noindex, noai")],
            "text/html",
            None,
            ("x_robots_tag.noai", "x_robots_tag.noindex"),  # noindex reserves search
        ),
        (
            200,
            [],
            "text/html",
            '<head><META NAME="Robots" CONTENT="noai"></head>',
            ("meta.noai",),
        ),
        (
            200,
            [],
            "text/html",
            '<head><meta name="examplebot" content="noai"></head>',
            ("meta.noai",),
        ),
        (
            200,
            [],
            "text/html",
            '<head><meta name="otherbot" content="noai"></head>',
            (),
        ),
        (
            200,
            [],
            "text/html",
            '<head><meta name="tdm-reservation" content="1"></head>',
            ("tdmrep.reserved",),
        ),
        (
            200,
            [],
            "text/html",
            "<head><meta name=robots content=noai <<<</",
            (),
        ),
        (
            402,
            [("tdm-reservation", "1")],
            "text/html",
            None,
            ("access.payment_required", "tdmrep.reserved"),
        ),
    ],
)
async def test_the_first_observation_rules_still_hold(
    client: httpx.AsyncClient,
    status: int,
    headers: list[tuple[str, str]],
    content_type: str,
    head: str | None,
    reasons: tuple[str, ...],
) -> None:
    answer = await evaluate(
        client,
        url=f"{SITE}/asset",
        status=status,
        headers=[*headers, ("Content-Type", content_type)],
        body=head,
    )
    reserving = tuple(f["reason"] for f in answer["findings"] if f["reserves"])
    assert reserving == reasons
    assert answer["reserved"] is bool(reasons)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": f"{SITE}/", "purposes": ["fun"]}, "purposes"),
        ({"url": f"{SITE}/", "user_agent": "Mozilla/5.0"}, "user_agent"),
        ({"url": f"{SITE}/", "files": {"/robots.txt": {"status": 99}}}, "files"),
    ],
)
async def test_bad_self_check_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/signals/evaluate", json=body)
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])


@pytest.mark.parametrize(
    ("crawler", "path", "decision"),
    [
        ("AI2Bot", "/own/x", "deny"),  # the group naming it whole (Protego's reading)
        ("AI2Bot", "/star/x", "deny"),  # the '*' group (RFC 9309's reading names no group)
        ("AI2Bot", "/other", "allow"),
        ("img2dataset", "/star/x", "deny"),
    ],
)
async def test_a_crawler_token_with_digits_is_decided_under_both_readings(
    client: httpx.AsyncClient, fakeweb: FakeWeb, crawler: str, path: str, decision: str
) -> None:
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(
        200, text="User-agent: AI2Bot\nDisallow: /own/\n\nUser-agent: *\nDisallow: /star/\n"
    )
    response = await client.post(
        "/v1/decisions", json={"crawler": crawler, "job": "job-d", "urls": [SITE + path]}
    )
    assert response.status_code == 200, response.text
    (answer,) = response.json()["decisions"]
    assert answer["decision"] == decision, answer


def long_robots(late_rule: str) -> str:
    """A real-world shape: 900 KB of rules, the one that matters near the end."""
    lines = [f"Disallow: /section-{n:06d}/\n" for n in range(36_000)]
    return "User-agent: *\n" + "".join(lines) + late_rule


async def test_a_robots_txt_past_500_kib_is_read_to_its_end(
    client: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    body = long_robots("Disallow: /late/\n")
    assert len(body) > 900 * 1024
    fakeweb.routes[f"{SITE}/robots.txt"] = httpx.Response(200, text=body)
    (late, other) = await decide(client, f"{SITE}/late/page", f"{SITE}/other")
    assert (late["decision"], late["reasons"]) == ("deny", ["robots.disallowed"])
    assert other["decision"] == "allow"
    metrics = (await client.get("/metrics")).text
    assert "optout_policy_documents_truncated_total{" not in metrics


async def test_a_file_past_the_cap_is_counted(tmp_path: Path, database_url: str) -> None:
    web = FakeWeb()
    web.routes[f"{SITE}/robots.txt"] = httpx.Response(200, text=long_robots("Disallow: /late/\n"))
    app = create_app(
        make_settings(tmp_path, database={"url": database_url}, robots={"max_bytes": 512 * 1024}),
        fetch_transport=httpx.MockTransport(web.handler),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://service.test",
            headers={"Authorization": f"Bearer {CRAWL_KEY}"},
        ) as http,
    ):
        (late,) = await decide(http, f"{SITE}/late/page")
        # Read up to the cap, as RFC 9309 2.5 allows: the late rule is not seen...
        assert late["decision"] == "allow"
        # ...and the cut is counted, by kind.
        metrics = (await http.get("/metrics")).text
        assert 'optout_policy_documents_truncated_total{kind="robots_txt"} 1.0' in metrics
