"""robots.txt (RFC 9309): what a fetch result means, and what a parsed file says about a URL.

The status policy is RFC 9309 section 2.3.1: a 2xx body is parsed; 4xx means there are no
restrictions; 5xx, 429 (treated as a server error, as Google does), a network error, a timeout or a
redirect chain longer than the limit mean the origin is completely disallowed. Parsing and
matching are :mod:`optout_service.policy.robotstxt`.
"""

from __future__ import annotations

import codecs
import sys
from dataclasses import dataclass

from optout_service.outcomes import FetchOutcome
from optout_service.policy.robotstxt import RobotsTxt, Rule
from optout_service.reasons import Reason


def decode_robots(body: bytes) -> str:
    """Decode a robots.txt body: UTF-8 (BOM skipped), UTF-16 when a BOM says so; never raises.

    A leading partial UTF-8 BOM (``EF BB`` or ``EF``) is skipped too, as Google's parser does.
    """
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not body.startswith(
        codecs.BOM_UTF8
    ):
        return body.decode("utf-16", errors="replace").lstrip("\ufeff")
    if body.startswith(b"\xef\xbb") and not body.startswith(codecs.BOM_UTF8):
        body = body[2:]
    elif body[:1] == b"\xef" and body[1:2] < b"\x80":
        body = body[1:]  # EF then ASCII can only be the first byte of a cut BOM
    return body.decode("utf-8", errors="replace").lstrip("\ufeff")


_DETAIL = {
    FetchOutcome.SERVER_ERROR: Reason.ROBOTS_SERVER_ERROR,
    FetchOutcome.TIMEOUT: Reason.ROBOTS_TIMEOUT,
    FetchOutcome.NETWORK_ERROR: Reason.ROBOTS_NETWORK_ERROR,
    FetchOutcome.TOO_MANY_REDIRECTS: Reason.ROBOTS_TOO_MANY_REDIRECTS,
    FetchOutcome.BLOCKED_ADDRESS: Reason.ROBOTS_BLOCKED_ADDRESS,
}


@dataclass(frozen=True, slots=True)
class RobotsVerdict:
    allowed: bool
    reason: Reason
    crawl_delay: float | None = None
    rule: Rule | None = None  # the line that decided, when one did
    detail: Reason | None = None  # why robots.txt was unreachable


class RobotsRules:
    """What one robots.txt fetch means for every URL of its origin."""

    __slots__ = ("detail", "outcome", "robots")

    def __init__(
        self, outcome: FetchOutcome, body: bytes | None = None, status: int | None = None
    ) -> None:
        self.outcome = outcome
        self.detail = Reason.ROBOTS_RATE_LIMITED if status == 429 else _DETAIL.get(outcome)
        self.robots: RobotsTxt | None = None
        if outcome is FetchOutcome.OK:
            self.robots = RobotsTxt.parse(decode_robots(body or b""))

    def evaluate(self, path_query: str, token: str) -> RobotsVerdict:
        if self.outcome is FetchOutcome.CLIENT_ERROR:
            return RobotsVerdict(True, Reason.ROBOTS_UNAVAILABLE)
        if self.robots is None:
            return RobotsVerdict(False, Reason.ROBOTS_UNREACHABLE, detail=self.detail)
        found = self.robots.match(path_query, token)
        delay = self.robots.crawl_delay(token)
        rate = self.robots.request_rate(token)
        if rate is not None:
            # Request-rate n/m: at most n requests every m seconds, i.e. one every m/n seconds.
            delay = max(delay or 0.0, rate[1] / rate[0])
        reason = Reason.ROBOTS_ALLOWED if found.allowed else Reason.ROBOTS_DISALLOWED
        return RobotsVerdict(found.allowed, reason, delay, found.rule)

    def estimated_bytes(self) -> int:
        """The memory this answer holds and may come to hold (the caches' unit of account)."""
        parsed = self.robots.estimated_bytes() if self.robots is not None else 0
        return sys.getsizeof(self) + parsed
