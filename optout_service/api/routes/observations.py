"""POST /v1/observations: may this response be kept? Logged before the answer is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from anyio import to_thread
from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError

from optout_service import errors
from optout_service.api.deps import CrawlKey, ServicesDep
from optout_service.checks.base import Asset, EmbeddedMetadata
from optout_service.purposes import Purpose, parse_purposes
from optout_service.repository import DecisionRef, ObservationEntry, new_ids
from optout_service.schemas import (
    ObservationCreate,
    ObservationResultRead,
    ObservationsCreate,
    ObservationsRead,
)

router = APIRouter(prefix="/v1", tags=["observations"])


def _problem(index: int, decision_id: str, message: str, kind: str) -> dict[str, object]:
    return {
        "loc": ("body", "observations", index, "decision_id"),
        "msg": message,
        "type": f"decision_{kind}",
        "input": decision_id,
    }


@router.post(
    "/observations",
    responses={status.HTTP_401_UNAUTHORIZED: {"description": errors.MISSING_API_KEY}},
)
async def create_observations(
    body: ObservationsCreate, services: ServicesDep, key: CrawlKey
) -> ObservationsRead:
    decisions: dict[str, DecisionRef] = {}
    for obs in body.observations:
        ref = services.recent.get(obs.decision_id)
        if ref is not None:
            decisions[ref.id] = ref
    unknown = [o.decision_id for o in body.observations if o.decision_id not in decisions]
    if unknown:
        decisions.update(await to_thread.run_sync(services.repository.find_decisions, unknown))
    problems: list[dict[str, object]] = []
    for i, obs in enumerate(body.observations):
        ref = decisions.get(obs.decision_id)
        # Another key's decision is answered exactly like one that does not exist: a crawl key
        # learns nothing about other tenants' jobs.
        if ref is None or ref.api_key != key.name:
            problems.append(_problem(i, obs.decision_id, errors.UNKNOWN_DECISION, "unknown"))
        elif ref.decision != "allow":
            problems.append(_problem(i, obs.decision_id, errors.DECISION_NOT_ALLOW, "not_allow"))
    if problems:
        # Nothing of the batch is logged.
        raise RequestValidationError(problems)

    settings = services.settings
    default_purposes = parse_purposes(settings.crawler.purposes)
    assets = [
        _asset(obs, decisions[obs.decision_id], default_purposes, settings.checks.respect_noindex)
        for obs in body.observations
    ]
    verdicts = await services.observer.evaluate(assets)
    rows: list[ObservationEntry] = []
    for observation_id, obs, verdict in zip(
        new_ids(len(body.observations)), body.observations, verdicts, strict=True
    ):
        decision = decisions[obs.decision_id]
        rows.append(
            ObservationEntry(
                observation_id,
                obs.decision_id,
                decision.job,
                decision.url,
                decision.host,
                obs.final_url,
                obs.status,
                obs.content_type,
                obs.length,
                obs.sha256.lower(),
                verdict.outcome,
                verdict.reasons,
                obs.headers,
                obs.metadata.model_dump(exclude_defaults=True) if obs.metadata else None,
            )
        )
    await services.log.add_observations(rows, api_key=key.name, created_at=datetime.now(UTC))
    for row in rows:
        for reason in row.reasons:
            services.metrics.observations.labels(row.outcome, reason).inc()
    return ObservationsRead(
        results=[
            ObservationResultRead(
                decision_id=r.decision_id, outcome=r.outcome, reasons=list(r.reasons)
            )
            for r in rows
        ]
    )


def _asset(
    obs: ObservationCreate,
    decision: DecisionRef,
    default_purposes: tuple[Purpose, ...],
    respect_noindex: bool,
) -> Asset:
    """What the asset checks read of one observation, for the purposes of its decision."""
    try:
        purposes = parse_purposes(decision.purposes) if decision.purposes else default_purposes
    except ValueError:  # a purpose this version does not know: the configured ones
        purposes = default_purposes
    metadata = None
    if obs.metadata is not None:
        metadata = EmbeddedMetadata(
            xmp=obs.metadata.xmp,
            package_opf=obs.metadata.package_opf,
            c2pa=obs.metadata.c2pa,
            format=obs.metadata.format,
            errors=obs.metadata.errors,
        )
    return Asset(
        url=obs.url,
        final_url=obs.final_url,
        status=obs.status,
        headers=obs.headers,
        content_type=obs.content_type,
        html=obs.head_html,
        token=decision.crawler,
        purposes=frozenset(purposes),
        redirects=tuple(obs.redirect_urls),
        metadata=metadata,
        respect_noindex=respect_noindex,
    )
