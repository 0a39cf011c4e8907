"""Reason codes: the stable vocabulary of every decision and observation.

Codes are dotted: the part before the dot names the rule family, the part after the finding.
They appear in API answers, in the decision log and in crawler stats
(``compliance/<decision>/<code>``). Never rename or remove one; add new ones here (or in the
check module that gives them) and in that module's ``SIGNAL`` row, which docs/signals.md
renders. The crawler has a few codes of its own (``crawler/reasons.py``) for what happens before
the service answers.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # Before the fetch: robots.txt (RFC 9309)
    ROBOTS_ALLOWED = "robots.allowed"  # robots.txt fetched, no rule forbids the URL
    ROBOTS_DISALLOWED = "robots.disallowed"  # a rule for our token (or *) forbids the URL
    ROBOTS_UNAVAILABLE = "robots.unavailable"  # robots.txt answered 4xx: no restrictions (2.3.1.3)
    ROBOTS_UNREACHABLE = "robots.unreachable"  # 5xx, 429, network error, timeout: disallow all
    # ...and why, as the second reason of a robots.unreachable decision:
    ROBOTS_SERVER_ERROR = "robots.server_error"  # 5xx (or another status that is no answer)
    ROBOTS_RATE_LIMITED = "robots.rate_limited"  # 429
    ROBOTS_TIMEOUT = "robots.timeout"
    ROBOTS_NETWORK_ERROR = "robots.network_error"  # refused, reset, DNS, TLS
    ROBOTS_TOO_MANY_REDIRECTS = "robots.too_many_redirects"  # more than 5 (RFC 9309 2.3.1.2)
    ROBOTS_BLOCKED_ADDRESS = "robots.blocked_address"  # resolves to a private/loopback address
    # Before the fetch: lists and registrations
    PIRACY_LISTED = "piracy.listed"  # host on a piracy list: never contacted at all
    # After the fetch: per-asset reservations
    TDMREP_RESERVED = "tdmrep.reserved"  # TDMRep tdm-reservation: 1 (header or meta)
    X_ROBOTS_TAG_NOAI = "x_robots_tag.noai"
    X_ROBOTS_TAG_NOIMAGEAI = "x_robots_tag.noimageai"
    META_NOAI = "meta.noai"
    META_NOIMAGEAI = "meta.noimageai"
    # After the fetch: access control (never keep what was not lawfully accessible)
    ACCESS_AUTH_REQUIRED = "access.auth_required"  # 401
    ACCESS_PAYMENT_REQUIRED = "access.payment_required"  # 402
    ACCESS_FORBIDDEN = "access.forbidden"  # 403
    # Either side: a check failed on this input (a bug): refused, never let through
    CHECK_FAILED = "check.failed"
    # After the fetch: nothing found that forbids keeping the response
    CONTENT_UNRESERVED = "content.unreserved"


DENY_FAMILIES = frozenset({"piracy", "registry"})
