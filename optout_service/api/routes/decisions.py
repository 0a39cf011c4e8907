"""POST /v1/decisions: may these URLs be fetched? Logged before the answer is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError

from optout_service import errors
from optout_service.api.deps import CrawlKey, ServicesDep
from optout_service.repository import DecisionEntry, DecisionRef, new_ids
from optout_service.schemas import DecisionRead, DecisionRequest, DecisionsRead
from optout_service.urls import InvalidURL, NormalisedURL, normalise_url

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.post(
    "/decisions",
    responses={
        status.HTTP_401_UNAUTHORIZED: {"description": errors.MISSING_API_KEY},
        status.HTTP_413_CONTENT_TOO_LARGE: {"description": "request body too large"},
    },
)
async def create_decisions(
    body: DecisionRequest, services: ServicesDep, key: CrawlKey
) -> DecisionsRead:
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

    verdicts = await services.engine.decide(body.crawler, normalised)
    rows = [
        DecisionEntry(
            decision_id,
            v.url.url,
            v.url.host,
            v.decision,
            v.reasons,
            v.crawl_delay,
            v.robots_fetch_id,
        )
        for decision_id, v in zip(new_ids(len(verdicts)), verdicts, strict=True)
    ]
    # The log is written (committed) before anyone learns the decision.
    await services.log.add_decisions(
        rows, job=body.job, api_key=key.name, crawler=body.crawler, created_at=datetime.now(UTC)
    )
    services.recent.add(
        DecisionRef(r.id, body.job, r.url, r.host, body.crawler, key.name, r.decision) for r in rows
    )
    services.metrics.batch_size.observe(len(rows))
    for row in rows:
        services.metrics.decisions.labels(row.decision, row.reasons[0]).inc()
    return DecisionsRead(
        decisions=[
            DecisionRead(
                id=row.id,
                url=raw,
                normalized_url=row.url,
                decision=v.decision,
                reasons=[r.value for r in v.reasons],
                crawl_delay=row.crawl_delay,
            )
            for raw, row, v in zip(body.urls, rows, verdicts, strict=True)
        ]
    )
