"""POST /v1/signals/evaluate: the public self-check of every signal we read."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from optout_service.api.deps import ServicesDep
from optout_service.api.routes.selfcheck import NO_PRODUCT_TOKEN
from optout_service.policy.robotstxt import agent_product_token
from optout_service.purposes import parse_purposes
from optout_service.schemas import (
    CrawlRead,
    FindingRead,
    GivenFile,
    PurposeRead,
    SignalsEvaluate,
    SignalsEvaluation,
    TdmRead,
)
from optout_service.signals import GivenDocument, SelfCheckInput, evaluate
from optout_service.urls import InvalidURL, normalise_url

router = APIRouter(prefix="/v1", tags=["self-check"])


def _invalid(field: str, message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": kind}])


@router.post("/signals/evaluate")
async def evaluate_signals(body: SignalsEvaluate, services: ServicesDep) -> SignalsEvaluation:
    settings = services.settings
    if body.user_agent is None:
        token = settings.crawler.token
    else:
        token = agent_product_token(body.user_agent)
        if not token:
            raise _invalid("user_agent", NO_PRODUCT_TOKEN, "product_token")
    try:
        url = normalise_url(body.url, max_length=settings.api.max_url_length)
    except InvalidURL as exc:
        raise _invalid("url", str(exc), "url_invalid") from exc
    try:
        purposes = parse_purposes(body.purposes or settings.crawler.purposes)
    except ValueError as exc:
        raise _invalid("purposes", str(exc), "purpose") from exc
    files: dict[str, GivenDocument] = {}
    for key, value in (body.files or {}).items():
        if isinstance(value, GivenFile):
            files[key] = GivenDocument(value.status, value.body)
        elif value is None:  # null: the file does not exist
            files[key] = GivenDocument(404, None)
        else:
            files[key] = GivenDocument(200, value)
    headers = body.headers.items() if isinstance(body.headers, dict) else body.headers
    request = SelfCheckInput(
        url=url,
        token=token,
        purposes=purposes,
        files=files,
        headers=list(headers) if headers is not None else None,
        body=body.body,
        status=body.status,
        final_url=body.final_url,
        package_opf=body.package_opf,
        xmp=body.xmp,
        respect_noindex=body.options.respect_noindex
        if body.options is not None
        else settings.checks.respect_noindex,
    )
    store = services.store
    # Parsing is linear in the bounded input: the thread ends in bounded time even if this
    # request is cancelled, and the store's limiter bounds how many run at once.
    given = [d.body for d in files.values()] + [body.body, body.package_opf, body.xmp]
    async with store.parse_memory.hold(sum(len(text) for text in given if text)):
        reading = await to_thread.run_sync(
            evaluate,
            request,
            store.kinds,
            services.engine.checks,
            services.observer.checks,
            settings.robots.max_bytes,
            limiter=store.parse_limiter,
        )
    combined = reading.combined
    return SignalsEvaluation(
        reserved=combined.reserved,
        reasons=list(combined.reasons),
        tdm=TdmRead(reservation=reading.tdm_reservation, policy=reading.tdm_policy),
        by_purpose={
            purpose.value: PurposeRead(
                reserved=read.state == "reserved", state=read.state, reasons=list(read.reasons)
            )
            for purpose, read in combined.by_purpose.items()
        },
        licenses=list(combined.licenses),
        crawl=CrawlRead(allowed=reading.crawl[0], reason=reading.crawl[1])
        if reading.crawl is not None
        else None,
        purposes=[p.value for p in purposes],
        product_token=token,
        findings=[
            FindingRead(
                check=check,
                reason=f.reason,
                reserves=sorted(p.value for p in f.reserves),
                allows=sorted(p.value for p in f.allows),
                license=f.license,
                detail=f.detail,
            )
            for check, f in reading.findings
        ],
    )
