"""Reason codes the crawler gives itself, for what happens before the service has answered.

The service's codes are documented in the README and in ``optout_service/reasons.py``; these
complete them. Stats count both as ``compliance/<decision>/<code>``, where the crawler's own
decisions are ``deny``/``discard`` (no usable answer), ``skipped`` (the service allowed the
request, the crawler chose not to make it) and ``dropped`` (the crawl was closing).
"""

from __future__ import annotations

from enum import StrEnum


class CrawlerReason(StrEnum):
    # The service could not be reached, or answered 5xx/429/garbage, after every retry.
    SERVICE_UNAVAILABLE = "service.unavailable"
    # The service refused the call itself (4xx: bad API key, invalid payload, unknown decision).
    SERVICE_REJECTED = "service.rejected"
    # Only http and https URLs are ever asked about; anything else is refused locally.
    UNSUPPORTED_SCHEME = "request.unsupported_scheme"
    # A response arrived for a request that carries no decision id: never kept.
    DECISION_MISSING = "decision.missing"
    # The host's robots.txt asks for more seconds between requests than
    # COMPLIANCE_MAX_CRAWL_DELAY: the host is skipped (never crawled faster than it asks).
    CRAWL_DELAY_TOO_LONG = "crawl_delay.too_long"
    # The spider was closing (a limit such as CLOSESPIDER_TIMEOUT, Ctrl-C, SIGTERM): a request
    # not downloaded yet is dropped instead of being fetched after its crawl delay.
    CRAWL_CLOSING = "crawl.closing"


# The stats "decision" part of each of the crawler's own refusals.
SKIPPED = "skipped"
DROPPED = "dropped"

# The reason families the crawler owns (the part before the dot).
CRAWLER_FAMILIES = frozenset(reason.value.split(".")[0] for reason in CrawlerReason)
