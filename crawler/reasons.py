"""Reason codes the crawler gives itself, for what happens before the service has answered.

The service's codes are documented in the README and in ``optout_service/reasons.py``; these
complete them. Stats count both as ``compliance/<decision>/<code>``.
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
