"""GET /v1/robots: what an origin's robots.txt says for a crawler (delay, rate, sitemaps)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from optout_service.api.deps import CrawlKey, ServicesDep
from optout_service.checks.robots import KIND as ROBOTS
from optout_service.policy.robots import RobotsRules
from optout_service.schemas import RobotsInfo
from optout_service.urls import InvalidURL, normalise_url

router = APIRouter(prefix="/v1", tags=["robots"])

_TOKEN = r"^[A-Za-z0-9_-]{1,100}$"


@router.get("/robots")
async def robots_info(
    services: ServicesDep,
    _key: CrawlKey,
    url: str = Query(max_length=8192, description="any URL of the origin"),
    crawler: str = Query(pattern=_TOKEN, description="the crawler's product token"),
) -> RobotsInfo:
    try:
        origin = normalise_url(url)
    except InvalidURL as exc:
        raise RequestValidationError(
            [{"loc": ("query", "url"), "msg": str(exc), "type": "url_invalid"}]
        ) from exc
    if services.piracy.match(origin.host) is not None:
        # Never contacted, not even for robots.txt.
        raise HTTPException(status.HTTP_403_FORBIDDEN, "piracy.listed: this origin is not crawled")
    entry = await services.store.get(origin.origin, ROBOTS)
    rules = entry.parsed
    assert isinstance(rules, RobotsRules)
    robots = rules.robots
    # The crawl delay is the origin's; "/robots.txt" is always allowed, so no rule is matched.
    verdict = rules.evaluate("/robots.txt", crawler)
    rate = robots.request_rate(crawler) if robots is not None else None
    return RobotsInfo(
        origin=origin.origin,
        outcome=entry.outcome.value,
        status=entry.status,
        sha256=entry.sha256,
        crawl_delay=verdict.crawl_delay,
        request_rate=f"{rate[0]}/{rate[1]:g}s" if rate else None,
        sitemaps=list(robots.sitemaps) if robots is not None else [],
        groups_for_crawler=robots.rules_for(crawler).groups if robots is not None else 0,
    )
