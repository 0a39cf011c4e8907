"""The opt-out client: the crawler's only way to the service, and its only httpx user.

Exceptions::

    ServiceError            the service gave no usable answer (transient: retry may help)
    └── ServiceRejected     the service refused the call (4xx other than 429): do not retry
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from crawler.files import atomic_output

EMBEDDED_BASE_URL = "http://optout.embedded"


@dataclass(frozen=True, slots=True)
class Decision:
    id: str
    url: str
    decision: Literal["allow", "deny"]
    reasons: tuple[str, ...]
    crawl_delay: float | None


@dataclass(frozen=True, slots=True)
class Observation:
    decision_id: str
    url: str
    final_url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    content_type: str | None
    length: int
    sha256: str
    head_html: str | None
    redirect_urls: tuple[str, ...] = ()  # the hops before ``final_url``, first one first
    metadata: dict[str, Any] | None = None  # extracted from a non-HTML asset


@dataclass(frozen=True, slots=True)
class ObservationResult:
    decision_id: str
    outcome: Literal["keep", "discard"]
    reasons: tuple[str, ...]


class ServiceError(Exception):
    """No usable answer from the service.

    ``transient`` tells whether trying again may help: true for network errors, timeouts, 5xx,
    429 and malformed answers; false for :class:`ServiceRejected` and for a client that could
    not be started at all.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class ServiceRejected(ServiceError):
    """The service refused the call (a 4xx other than 429): the same call would fail again."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"service answered {status}: {detail}", transient=False)
        self.status = status
        self.detail = detail


class OptOutClient(Protocol):
    """What the crawler needs from the service; answers come back in the order asked.

    Every method raises :class:`ServiceError` when it has no usable answer.
    """

    async def decide(
        self, crawler: str, job: str, urls: Sequence[str], *, purposes: Sequence[str] = ()
    ) -> list[Decision]:
        """POST /v1/decisions: one decision per URL, logged by the service before it answers.
        ``purposes`` (train-ai, ai-input, search): what the data is for; none: the service's
        configured purposes."""
        ...

    async def decide_stream(
        self,
        crawler: str,
        job: str,
        urls: Sequence[str],
        deliver: Deliver,
        *,
        purposes: Sequence[str] = (),
    ) -> None:
        """As :meth:`decide`, but ``deliver(index, decision)`` as each decision arrives."""
        ...

    async def observe(self, observations: Sequence[Observation]) -> list[ObservationResult]:
        """POST /v1/observations: keep or discard each fetched response."""
        ...

    async def export_log(self, job: str, dest: Path) -> int:
        """Stream the decision log of ``job`` (JSONL) to ``dest``; return the records written."""
        ...

    async def aclose(self) -> None:
        """Release connections; the client is unusable afterwards."""
        ...


NDJSON = "application/x-ndjson"

# Called with the index of a URL in the request and its decision, as each arrives.
Deliver = Callable[[int, Decision], None]


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ServiceError("the service's answer is not JSON") from exc
    if not isinstance(body, dict):
        raise ServiceError("the service's answer is not a JSON object")
    return body


def _decisions(body: dict[str, Any], urls: Sequence[str]) -> list[Decision]:
    items = body.get("decisions")
    if not isinstance(items, list) or len(items) != len(urls):
        raise ServiceError("the service answered a different number of decisions")
    return [_decision(url, item) for url, item in zip(urls, items, strict=True)]


def _decision(url: str, item: Any) -> Decision:
    if not isinstance(item, dict):
        raise ServiceError("malformed decision")
    verdict = item.get("decision")
    decision_id = item.get("id")
    delay = item.get("crawl_delay")
    if verdict not in ("allow", "deny") or not isinstance(decision_id, str):
        raise ServiceError(f"malformed decision: {item!r}")
    if item.get("url") != url:
        raise ServiceError("the service answered decisions out of order")
    if delay is not None and (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not math.isfinite(delay)
        or delay < 0
    ):
        raise ServiceError(f"malformed crawl delay: {delay!r}")
    return Decision(
        id=decision_id,
        url=url,
        decision=verdict,
        reasons=_reasons(item.get("reasons")),
        crawl_delay=float(delay) if delay is not None else None,
    )


def _reasons(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise ServiceError(f"malformed reasons in the service's answer: {value!r}")
    return tuple(value)


def _decision_request(
    crawler: str, job: str, urls: Sequence[str], purposes: Sequence[str]
) -> dict[str, Any]:
    payload: dict[str, Any] = {"crawler": crawler, "job": job, "urls": list(urls)}
    if purposes:  # none: the service's configured purposes
        payload["purposes"] = list(purposes)
    return payload


class HttpOptOutClient:
    """Talks to the service over HTTP: over TCP, a Unix domain socket (embedded process mode),
    or in-process over ASGI (embedded thread mode).

    ``trust_env`` is off by default: the service's URL is explicit configuration, and the
    ``http_proxy`` a crawl uses for the web must not capture the calls to the service.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        trust_env: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            trust_env=trust_env,
            transport=transport,
        )

    @classmethod
    def for_asgi_app(
        cls,
        app: Any,
        api_key: str,
        *,
        timeout: float = 30.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> HttpOptOutClient:
        """A client of ``app`` in this process; on ``loop`` (another thread's) when given."""
        # An exception inside the app becomes a 500, i.e. a retryable ServiceError.
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False
        )
        if loop is not None:
            transport = OtherLoopTransport(transport, loop)
        return cls(EMBEDDED_BASE_URL, api_key, timeout=timeout, transport=transport)

    @classmethod
    def for_unix_socket(
        cls,
        path: Path,
        api_key: str,
        *,
        timeout: float = 10.0,
        keepalive_expiry: float = 5.0,
    ) -> HttpOptOutClient:
        """A client of a service listening on the Unix domain socket ``path``.

        Connections are kept open between calls for ``keepalive_expiry`` seconds (less than the
        server keeps them, so that a call never goes out on a connection being closed).
        """
        transport = httpx.AsyncHTTPTransport(
            uds=str(path),
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=keepalive_expiry
            ),
        )
        return cls(EMBEDDED_BASE_URL, api_key, timeout=timeout, transport=transport)

    async def ready(self, timeout: float = 5.0) -> bool:
        """True when ``GET /readyz`` answers 200; False for any other answer or error."""
        try:
            response = await self._client.get("/readyz", timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise ServiceError(f"{type(exc).__name__}: {exc}") from exc
        self._check(response)
        return _json_object(response)

    @staticmethod
    def _check(response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        if 400 <= status < 500 and status != 429:
            try:
                detail = json.dumps(response.json().get("detail"))[:500]
            except (ValueError, AttributeError):
                detail = response.text[:500]
            raise ServiceRejected(status, detail)
        raise ServiceError(f"service answered {status}")

    async def decide(
        self, crawler: str, job: str, urls: Sequence[str], *, purposes: Sequence[str] = ()
    ) -> list[Decision]:
        body = await self._post("/v1/decisions", _decision_request(crawler, job, urls, purposes))
        return _decisions(body, urls)

    async def decide_stream(
        self,
        crawler: str,
        job: str,
        urls: Sequence[str],
        deliver: Deliver,
        *,
        purposes: Sequence[str] = (),
    ) -> None:
        """POST /v1/decisions for a stream of answers (``Accept: application/x-ndjson``):
        ``deliver(index, decision)`` as each arrives, origin by origin, so a slow robots.txt
        holds up only its own origin's URLs. A service answering in one piece (plain JSON) is
        read as :meth:`decide` reads it. Raises :class:`ServiceError` when the answer ends
        before every URL has its decision (those delivered stand) or is malformed.
        """
        payload = _decision_request(crawler, job, urls, purposes)
        delivered: set[int] = set()
        try:
            async with self._client.stream(
                "POST", "/v1/decisions", json=payload, headers={"Accept": NDJSON}
            ) as response:
                if response.status_code >= 300:
                    await response.aread()
                    self._check(response)
                if not response.headers.get("content-type", "").startswith(NDJSON):
                    await response.aread()
                    for whole, decision in enumerate(_decisions(_json_object(response), urls)):
                        deliver(whole, decision)
                    return
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError as exc:
                        raise ServiceError("a line of the service's answer is not JSON") from exc
                    index: Any = item.get("index") if isinstance(item, dict) else None
                    if (
                        not isinstance(index, int)
                        or isinstance(index, bool)
                        or not 0 <= index < len(urls)
                        or index in delivered
                    ):
                        raise ServiceError(f"decision for no URL asked, or twice: {line[:200]}")
                    delivered.add(index)
                    deliver(index, _decision(urls[index], item))
        except httpx.HTTPError as exc:
            raise ServiceError(f"{type(exc).__name__}: {exc}") from exc
        if len(delivered) != len(urls):
            raise ServiceError(
                f"the service's answer ended after {len(delivered)} of {len(urls)} decisions"
            )

    async def observe(self, observations: Sequence[Observation]) -> list[ObservationResult]:
        payload = {
            "observations": [
                {
                    "decision_id": o.decision_id,
                    "url": o.url,
                    "final_url": o.final_url,
                    "status": o.status,
                    "headers": [list(h) for h in o.headers],
                    "content_type": o.content_type,
                    "length": o.length,
                    "sha256": o.sha256,
                    "head_html": o.head_html,
                    **({"redirect_urls": list(o.redirect_urls)} if o.redirect_urls else {}),
                    **({"metadata": o.metadata} if o.metadata is not None else {}),
                }
                for o in observations
            ]
        }
        body = await self._post("/v1/observations", payload)
        items = body.get("results")
        if not isinstance(items, list) or len(items) != len(observations):
            raise ServiceError("the service answered a different number of results")
        results: list[ObservationResult] = []
        for observation, item in zip(observations, items, strict=True):
            if not isinstance(item, dict) or item.get("decision_id") != observation.decision_id:
                raise ServiceError("malformed or out-of-order observation result")
            outcome = item.get("outcome")
            if outcome not in ("keep", "discard"):
                raise ServiceError(f"malformed outcome: {outcome!r}")
            results.append(
                ObservationResult(observation.decision_id, outcome, _reasons(item.get("reasons")))
            )
        return results

    async def export_log(self, job: str, dest: Path) -> int:
        """Stream the decision log of ``job`` to ``dest`` (JSONL); return the number of records.

        The bytes are written as the service sent them (an auditor may hash the file), first
        to ``<dest>.partial``, which replaces ``dest`` only once the whole export has arrived.
        """
        lines = 0
        last = b"\n"
        try:
            async with self._client.stream(
                "GET", "/v1/audit/export", params={"format": "jsonl", "job": job}
            ) as response:
                if response.status_code >= 300:
                    await response.aread()
                    self._check(response)
                with atomic_output(dest) as out:
                    async for chunk in response.aiter_bytes():
                        if chunk:
                            out.write(chunk)
                            lines += chunk.count(b"\n")
                            last = chunk[-1:]
                    if last != b"\n":  # the last record had no line end: complete it
                        out.write(b"\n")
                        lines += 1
        except httpx.HTTPError as exc:
            raise ServiceError(f"{type(exc).__name__}: {exc}") from exc
        return lines

    async def aclose(self) -> None:
        await self._client.aclose()


class OtherLoopTransport(httpx.AsyncBaseTransport):
    """Hands every request to ``inner`` on ``loop``, another thread's event loop, and waits.

    The embedded service runs on its own thread and loop (``crawler.embedded``): the app, its
    tasks and its worker threads all live there. The answer is read completely on that loop, so
    the caller gets a response that no longer depends on it. The request's read timeout bounds
    the whole call (``httpx.ASGITransport`` has no timeouts of its own); a call that cannot be
    handed over because that loop has ended fails like a refused connection.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        timeout = timeouts.get("read")

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(request)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            return response.status_code, response.headers.raw, body

        coro = call()
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        except RuntimeError as exc:  # that loop is closed
            coro.close()
            raise httpx.ConnectError(f"the embedded service has stopped ({exc})") from exc
        try:
            status, headers, body = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no answer within {timeout} s", request=request) from exc
        return httpx.Response(status, headers=headers, content=body)
