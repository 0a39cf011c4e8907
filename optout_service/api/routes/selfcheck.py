"""Public self-checks for rights holders: how do we read your robots.txt?"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote, urlsplit

from anyio import to_thread
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from optout_service.api.deps import ServicesDep
from optout_service.outcomes import outcome_for_status
from optout_service.policy.robots import RobotsRules, RobotsVerdict
from optout_service.policy.robotstxt import agent_product_token
from optout_service.schemas import RobotsEvaluate, RobotsEvaluation, RobotsMatch
from optout_service.urls import InvalidURL, path_query_of

router = APIRouter(prefix="/v1", tags=["self-check"])

NO_PRODUCT_TOKEN = (
    "names no crawler: give a product token (letters, '_' and '-', e.g. ExampleBot) or a "
    "crawler's user-agent string (ExampleBot/1.0, Mozilla/5.0 (compatible; ExampleBot/1.0)); "
    "browser products alone (Mozilla/5.0, Chrome, Safari) name none"
)


# The crawl path refuses URLs over api.max_url_length; the self-check reads longer ones, as
# RFC 9309 sets no limit (google/robotstxt's tests use a 16,000-character URL).
MAX_URL_CHARS = 64 * 1024


NOT_HIERARCHICAL = "give a path, or a URL with a host (https://host/path, ftp://host/path)"


def _path_of(url: str) -> str:
    """The path and query to decide: from an absolute URL, a path, or a host/path without scheme."""
    url = url.strip()
    if not url:
        return "/"
    if url.startswith("/"):
        return quote(url.split("#", 1)[0], safe="/:@!$&'()*+,;=-._~%?")
    if "://" not in url:
        scheme = urlsplit(url).scheme
        if scheme and "." not in scheme:  # mailto:, urn:, data:: no host, no path to match
            raise RequestValidationError(
                [{"loc": ("body", "url"), "msg": NOT_HIERARCHICAL, "type": "url_invalid"}]
            )
        url = "http://" + url  # a host and path without a scheme
    try:
        return path_query_of(url, max_length=MAX_URL_CHARS)
    except InvalidURL as exc:
        raise RequestValidationError(
            [{"loc": ("body", "url"), "msg": str(exc), "type": "url_invalid"}]
        ) from exc


def _evaluate(status: int, body: bytes, path: str, token: str) -> tuple[RobotsRules, RobotsVerdict]:
    rules = RobotsRules(outcome_for_status(status), body, status)
    return rules, rules.evaluate(path, token)


@router.post("/robots/evaluate")
async def evaluate_robots(body: RobotsEvaluate, services: ServicesDep) -> RobotsEvaluation:
    # The crawl path matches a product token; a full user-agent string is read down to one
    # first, and a string that names none is refused rather than answered for '*'.
    token = agent_product_token(body.user_agent)
    if not token:
        raise RequestValidationError(
            [{"loc": ("body", "user_agent"), "msg": NO_PRODUCT_TOKEN, "type": "product_token"}]
        )
    path = _path_of(body.url)
    raw = b""
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
    # Read exactly what the crawler would: at most robots.max_bytes of the body.
    cap = services.settings.robots.max_bytes
    truncated = len(raw) > cap and 200 <= status < 300  # other statuses read no body
    raw = raw[:cap]
    # Parsing is linear in the capped body: the worker thread ends in bounded time even if
    # this request is cancelled, and the store's limiter bounds how many run at once.
    async with services.robots.parse_memory.hold(len(raw)):
        rules, verdict = await to_thread.run_sync(
            _evaluate, status, raw, path, token, limiter=services.robots.parse_limiter
        )
    rule = verdict.rule
    return RobotsEvaluation(
        allowed=verdict.allowed,
        reason=verdict.reason.value,
        matched=RobotsMatch(line=rule.line, directive=rule.directive, pattern=rule.pattern)
        if rule is not None
        else None,
        crawl_delay=verdict.crawl_delay,
        sitemaps=list(rules.robots.sitemaps) if rules.robots is not None else [],
        product_token=token,
        truncated=truncated,
    )
