"""POST /v1/decisions: may these URLs be fetched? Logged before the answer is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from optout_service import errors
from optout_service.api.deps import CrawlKey, ServicesDep
from optout_service.decisions import Group
from optout_service.purposes import Purpose, parse_purposes
from optout_service.repository import DecisionEntry, DecisionRef, new_ids
from optout_service.schemas import DecisionRead, DecisionRequest, DecisionsRead
from optout_service.services import Services
from optout_service.urls import InvalidURL, NormalisedURL, normalise_url

router = APIRouter(prefix="/v1", tags=["decisions"])

# Asked for with ``Accept: application/x-ndjson``: one JSON object a line, each decision
# with the ``index`` of its URL in the request, sent as soon as its origin is decided and
# logged (the piracy refusals first, then origin by origin as each robots.txt is at hand), so
# a slow robots.txt holds up only its own origin's URLs. The body of an error (4xx) is JSON
# as usual; a stream that ends early (the service failed midway) is missing its last lines.
NDJSON = "application/x-ndjson"


@router.post(
    "/decisions",
    response_model=DecisionsRead,
    responses={
        status.HTTP_401_UNAUTHORIZED: {"description": errors.MISSING_API_KEY},
        status.HTTP_413_CONTENT_TOO_LARGE: {"description": "request body too large"},
        status.HTTP_200_OK: {
            "content": {NDJSON: {}},
            "description": "with Accept: application/x-ndjson, one decision (with the index "
            "of its URL) a line, each origin's as soon as it is decided and logged",
        },
    },
)
async def create_decisions(
    body: DecisionRequest, services: ServicesDep, key: CrawlKey, request: Request
) -> DecisionsRead | StreamingResponse:
    api = services.settings.api
    if len(body.urls) > api.max_urls_per_request:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "urls"),
                    "msg": errors.TOO_MANY_URLS.format(limit=api.max_urls_per_request),
                    "type": "too_long",
                }
            ]
        )
    normalised: list[NormalisedURL] = []
    problems: list[dict[str, object]] = []
    for index, raw in enumerate(body.urls):
        try:
            normalised.append(normalise_url(raw, max_length=api.max_url_length))
        except InvalidURL as exc:
            problems.append(
                {
                    "loc": ("body", "urls", index),
                    "msg": str(exc),
                    "type": "url_invalid",
                    "input": raw[:200],
                }
            )
    if problems:
        raise RequestValidationError(problems)

    purposes = _purposes(body, services)
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(services, body, key.name, normalised, purposes), media_type=NDJSON
        )
    verdicts = await services.engine.decide(body.crawler, normalised, purposes)
    logged = await _log(services, body, key.name, list(enumerate(verdicts)), purposes)
    return DecisionsRead(decisions=[answer for _, answer in logged])


def _purposes(body: DecisionRequest, services: Services) -> tuple[Purpose, ...]:
    """The request's purposes, or the crawler's configured ones."""
    names = body.purposes or services.settings.crawler.purposes
    try:
        return parse_purposes(names)
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("body", "purposes"), "msg": str(exc), "type": "purpose"}]
        ) from exc


async def _stream(
    services: Services,
    body: DecisionRequest,
    api_key: str,
    normalised: list[NormalisedURL],
    purposes: tuple[Purpose, ...],
) -> AsyncIterator[bytes]:
    async for group in services.engine.decide_by_origin(body.crawler, normalised, purposes):
        lines = [
            json.dumps({"index": index, **answer.model_dump()}, separators=(",", ":"))
            for index, answer in await _log(services, body, api_key, group, purposes)
        ]
        yield ("\n".join(lines) + "\n").encode()


async def _log(
    services: Services,
    body: DecisionRequest,
    api_key: str,
    group: Group,
    purposes: tuple[Purpose, ...],
) -> list[tuple[int, DecisionRead]]:
    """Write ``group``'s decisions to the log (committed), then return their answers."""
    rows = [
        DecisionEntry(
            decision_id,
            v.url.url,
            v.url.host,
            v.decision,
            v.reasons,
            v.crawl_delay,
            v.robots_fetch_id,
            v.fetch_ids,
            v.licenses,
        )
        for decision_id, (_, v) in zip(new_ids(len(group)), group, strict=True)
    ]
    # The log is written (committed) before anyone learns the decision.
    names = tuple(p.value for p in purposes)
    await services.log.add_decisions(
        rows,
        job=body.job,
        api_key=api_key,
        crawler=body.crawler,
        created_at=datetime.now(UTC),
        purposes=names,
    )
    services.recent.add(
        DecisionRef(r.id, body.job, r.url, r.host, body.crawler, api_key, r.decision, names)
        for r in rows
    )
    services.metrics.batch_size.observe(len(rows))
    for row in rows:
        for reason in row.reasons:
            services.metrics.decisions.labels(row.decision, reason).inc()
    return [
        (
            index,
            DecisionRead(
                id=row.id,
                url=body.urls[index],
                normalized_url=row.url,
                decision=v.decision,
                reasons=list(v.reasons),
                crawl_delay=row.crawl_delay,
                licenses=list(v.licenses),
            ),
        )
        for row, (index, v) in zip(rows, group, strict=True)
    ]
