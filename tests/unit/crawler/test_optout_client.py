"""The opt-out client over httpx.MockTransport: request shapes, strict answers, error classes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from crawler.optout_client import HttpOptOutClient, Observation, ServiceError, ServiceRejected

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> HttpOptOutClient:
    return HttpOptOutClient("http://svc.test", "k3y", transport=httpx.MockTransport(handler))


def decisions_answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "decisions": [
                {
                    "id": f"d{i}",
                    "url": url,
                    "decision": "deny" if "private" in url else "allow",
                    "reasons": ["robots.disallowed" if "private" in url else "robots.allowed"],
                    "crawl_delay": 1,
                }
                for i, url in enumerate(body["urls"])
            ]
        },
    )


async def test_decide_sends_the_contract_shape_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return decisions_answer(request)

    result = await client(handler).decide(
        "ExampleBot", "job-1", ["http://a.test/", "http://a.test/private/x"]
    )
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/v1/decisions"
    assert request.headers["authorization"] == "Bearer k3y"
    assert json.loads(request.content) == {
        "crawler": "ExampleBot",
        "job": "job-1",
        "urls": ["http://a.test/", "http://a.test/private/x"],
    }
    assert [(d.decision, d.reasons, d.crawl_delay) for d in result] == [
        ("allow", ("robots.allowed",), 1.0),
        ("deny", ("robots.disallowed",), 1.0),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=[]),
        httpx.Response(200, json={"decisions": []}),
        httpx.Response(
            200,
            json={
                "decisions": [
                    {"id": "x", "url": "http://a.test/", "decision": "maybe", "reasons": ["r"]}
                ]
            },
        ),
        httpx.Response(
            200,
            json={
                "decisions": [
                    {"id": "x", "url": "http://a.test/", "decision": "allow", "reasons": []}
                ]
            },
        ),
        httpx.Response(
            200,
            json={
                "decisions": [
                    {"id": "x", "url": "http://other.test/", "decision": "allow", "reasons": ["r"]}
                ]
            },
        ),
        httpx.Response(
            200,
            json={
                "decisions": [
                    {
                        "id": "x",
                        "url": "http://a.test/",
                        "decision": "allow",
                        "reasons": ["r"],
                        "crawl_delay": -1,
                    }
                ]
            },
        ),
    ],
)
async def test_malformed_answers_are_service_errors(answer: httpx.Response) -> None:
    with pytest.raises(ServiceError) as info:
        await client(lambda r: answer).decide("ExampleBot", "j", ["http://a.test/"])
    assert info.value.transient


@pytest.mark.parametrize(
    ("answer", "rejected"),
    [
        (httpx.Response(500), False),
        (httpx.Response(503), False),
        (httpx.Response(429), False),
        (httpx.Response(401, json={"detail": "unknown API key"}), True),
        (httpx.Response(422, json={"detail": [{"loc": ["body", "urls", 0]}]}), True),
        (httpx.Response(413, text="too large"), True),
    ],
)
async def test_status_codes_map_to_transient_or_rejected(
    answer: httpx.Response, rejected: bool
) -> None:
    with pytest.raises(ServiceError) as info:
        await client(lambda r: answer).decide("ExampleBot", "j", ["http://a.test/"])
    assert isinstance(info.value, ServiceRejected) is rejected
    assert info.value.transient is not rejected


async def test_transport_failures_are_transient() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ServiceError) as info:
        await client(fail).decide("ExampleBot", "j", ["http://a.test/"])
    assert info.value.transient


async def test_observe_round_trip() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        (obs,) = body["observations"]
        assert obs["headers"] == [["X-Robots-Tag", "noai"]]
        assert obs["sha256"] == "a" * 64
        return httpx.Response(
            200,
            json={
                "results": [
                    {
                        "decision_id": obs["decision_id"],
                        "outcome": "discard",
                        "reasons": ["x_robots_tag.noai"],
                    }
                ]
            },
        )

    observation = Observation(
        "d1",
        "http://a.test/",
        "http://a.test/",
        200,
        (("X-Robots-Tag", "noai"),),
        "text/html",
        3,
        "a" * 64,
        "<head></head>",
    )
    (result,) = await client(handler).observe([observation])
    assert (result.decision_id, result.outcome, result.reasons) == (
        "d1",
        "discard",
        ("x_robots_tag.noai",),
    )


async def test_export_streams_to_a_file(tmp_path: Path) -> None:
    lines = [json.dumps({"type": "decision", "id": str(i)}) for i in range(1000)]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["job"] == "job-7"
        return httpx.Response(200, content="\n".join(lines).encode() + b"\n")

    dest = tmp_path / "sub" / "log.jsonl"
    assert await client(handler).export_log("job-7", dest) == 1000
    assert dest.read_text().splitlines() == lines
    with pytest.raises(ServiceRejected):
        await client(lambda r: httpx.Response(403, json={"detail": "no"})).export_log(
            "j", tmp_path / "x"
        )
    assert not (tmp_path / "x").exists()


async def test_export_keeps_the_bytes_and_completes_a_last_line(tmp_path: Path) -> None:
    raw = '{"type": "decision", "url": "http://a.test/é"}\n{"type": "observation"}'.encode()
    dest = tmp_path / "log.jsonl"
    count = await client(lambda r: httpx.Response(200, content=raw)).export_log("j", dest)
    assert count == 2
    assert dest.read_bytes() == raw + b"\n"


def files_in(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def test_a_broken_export_leaves_no_file(tmp_path: Path) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    dest = tmp_path / "log.jsonl"
    with pytest.raises(ServiceError) as info:
        await client(fail).export_log("j", dest)
    assert info.value.transient
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("delay", [True, "1", float("inf")])
async def test_odd_crawl_delays_are_malformed(delay: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "decisions": [
                {
                    "id": "x",
                    "url": "http://a.test/",
                    "decision": "allow",
                    "reasons": ["r"],
                    "crawl_delay": delay,
                }
            ]
        }
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    with pytest.raises(ServiceError):
        await client(handler).decide("ExampleBot", "j", ["http://a.test/"])


async def test_an_out_of_order_observation_answer_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"results": [{"decision_id": "other", "outcome": "keep", "reasons": ["r"]}]}
        )

    observation = Observation("d1", "http://a.test/", "http://a.test/", 200, (), None, 0, "", None)
    with pytest.raises(ServiceError):
        await client(handler).observe([observation])


async def test_the_embedded_client_talks_to_an_asgi_app_without_proxies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    seen: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(scope)
        assert callable(send)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"results": []}'})

    embedded = HttpOptOutClient.for_asgi_app(app, "k")
    assert await embedded.observe([]) == []
    assert seen[0]["path"] == "/v1/observations"
    assert dict(seen[0]["headers"])[b"authorization"] == b"Bearer k"  # type: ignore[call-overload]
    await embedded.aclose()


async def test_a_client_of_an_app_on_another_loop_gives_up_after_its_timeout() -> None:
    """The embedded service's loop runs on its own thread; a hung call there ends in time."""
    service_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=service_loop.run_forever, daemon=True)
    thread.start()
    cancelled = threading.Event()
    threads: list[threading.Thread] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        threads.append(threading.current_thread())
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        embedded = HttpOptOutClient.for_asgi_app(app, "k", timeout=0.2, loop=service_loop)
        with pytest.raises(ServiceError) as info:
            await embedded.observe([])
        assert info.value.transient
        assert "ReadTimeout" in str(info.value)
        assert threads == [thread]  # the app ran on the other loop's thread
        assert await asyncio.to_thread(cancelled.wait, 10)  # and was cancelled there
        await embedded.aclose()
    finally:
        service_loop.call_soon_threadsafe(service_loop.stop)
        await asyncio.to_thread(thread.join, 10)
        service_loop.close()


def ndjson(*lines: object, cut: bool = False) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/x-ndjson"
        text = "".join(json.dumps(line) + "\n" for line in lines)
        return httpx.Response(
            200, content=text.encode(), headers={"content-type": "application/x-ndjson"}
        )

    return handler


def line(index: int, url: str, decision: str = "allow") -> dict[str, object]:
    return {
        "index": index,
        "id": f"d{index}",
        "url": url,
        "decision": decision,
        "reasons": ["robots.allowed" if decision == "allow" else "robots.disallowed"],
        "crawl_delay": None,
    }


URLS = ["http://a.test/", "http://b.test/x"]


async def test_decide_stream_delivers_each_line_to_its_url_in_the_order_it_came() -> None:
    got: list[tuple[int, str, str]] = []
    await client(ndjson(line(1, URLS[1], "deny"), line(0, URLS[0]))).decide_stream(
        "ExampleBot", "j", URLS, lambda i, d: got.append((i, d.url, d.decision))
    )
    assert got == [(1, URLS[1], "deny"), (0, URLS[0], "allow")]


async def test_decide_stream_reads_a_whole_json_answer_too() -> None:
    got: list[int] = []
    await client(decisions_answer).decide_stream(
        "ExampleBot", "j", URLS, lambda i, d: got.append(i)
    )
    assert got == [0, 1]


@pytest.mark.parametrize(
    "lines",
    [
        (line(0, URLS[0]),),  # ended early
        (line(0, URLS[0]), line(0, URLS[0])),  # twice
        (line(0, URLS[0]), line(2, URLS[1])),  # no such URL
        (line(0, URLS[0]), {**line(1, URLS[1]), "index": True}),
        (line(0, URLS[0]), line(1, "http://other.test/")),  # for another URL
        (line(0, URLS[0]), "not an object"),
    ],
)
async def test_decide_stream_refuses_a_broken_stream_after_what_it_delivered(
    lines: tuple[object, ...],
) -> None:
    got: list[int] = []
    with pytest.raises(ServiceError) as caught:
        await client(ndjson(*lines)).decide_stream(
            "ExampleBot", "j", URLS, lambda i, d: got.append(i)
        )
    assert caught.value.transient
    assert got == [0]


async def test_decide_stream_rejections_keep_their_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "unknown API key"})

    with pytest.raises(ServiceRejected) as caught:
        await client(refuse).decide_stream("ExampleBot", "j", URLS, lambda i, d: None)
    assert caught.value.status == 401
