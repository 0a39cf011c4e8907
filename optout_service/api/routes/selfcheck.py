"""Public self-checks for rights holders: how do we read your robots.txt?"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote, urlsplit

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from optout_service.policy.robots import RobotsRules, outcome_for_status
from optout_service.schemas import RobotsEvaluate, RobotsEvaluation, RobotsMatch
from optout_service.urls import InvalidURL, normalise_url

router = APIRouter(prefix="/v1", tags=["self-check"])


def _path_of(url: str) -> str:
    """The path and query to decide: from an absolute URL, a path, or a host/path without scheme."""
    url = url.strip()
    if not url:
        return "/"
    if url.startswith("/"):
        return quote(url.split("#", 1)[0], safe="/:@!$&'()*+,;=-._~%?")
    if not urlsplit(url).scheme:
        url = "http://" + url
    try:
        return normalise_url(url).path_query
    except InvalidURL as exc:
        raise RequestValidationError(
            [{"loc": ("body", "url"), "msg": str(exc), "type": "url_invalid"}]
        ) from exc


@router.post("/robots/evaluate")
async def evaluate_robots(body: RobotsEvaluate) -> RobotsEvaluation:
    raw: bytes | None = None
    if body.robots_txt is not None:
        raw = body.robots_txt.encode("utf-8", errors="surrogatepass")
    elif body.robots_txt_b64 is not None:
        try:
            raw = base64.b64decode(body.robots_txt_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestValidationError(
                [{"loc": ("body", "robots_txt_b64"), "msg": "not valid base64", "type": "base64"}]
            ) from exc
    status = body.status or 200
    rules = RobotsRules(outcome_for_status(status), raw or b"", status)
    verdict = rules.evaluate(_path_of(body.url), body.user_agent)
    rule = verdict.rule
    return RobotsEvaluation(
        allowed=verdict.allowed,
        reason=verdict.reason.value,
        matched=RobotsMatch(line=rule.line, directive=rule.directive, pattern=rule.pattern)
        if rule is not None
        else None,
        crawl_delay=verdict.crawl_delay,
        sitemaps=list(rules.robots.sitemaps) if rules.robots is not None else [],
    )
