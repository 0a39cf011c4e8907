"""robots.txt (RFC 9309): what a fetch result means, and what a parsed file says about a URL.

The status policy is RFC 9309 section 2.3.1: a 2xx body is parsed; 4xx means there are no
restrictions; 5xx, 429 (treated as a server error, as Google does), a network error, a timeout or a
redirect chain longer than the limit mean the origin is completely disallowed. Matching is
delegated to Protego for now, behind :class:`RobotsRules`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from enum import StrEnum

from protego import Protego

from optout_service.reasons import Reason


class FetchOutcome(StrEnum):
    OK = "ok"  # 2xx, body parsed
    CLIENT_ERROR = "client_error"  # 4xx other than 429: no restrictions
    SERVER_ERROR = "server_error"  # 5xx, 429, or any other status: disallow all
    NETWORK_ERROR = "network_error"  # connection failure, timeout, TLS, protocol error
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BLOCKED_ADDRESS = "blocked_address"  # the origin resolves to a private address (SSRF guard)


def outcome_for_status(status: int) -> FetchOutcome:
    if 200 <= status < 300:
        return FetchOutcome.OK
    if status == 429:
        return FetchOutcome.SERVER_ERROR
    if 400 <= status < 500:
        return FetchOutcome.CLIENT_ERROR
    return FetchOutcome.SERVER_ERROR


def decode_robots(body: bytes) -> str:
    """Decode a robots.txt body: UTF-8 (BOM skipped), UTF-16 when a BOM says so; never raises."""
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not body.startswith(
        codecs.BOM_UTF8
    ):
        text = body.decode("utf-16", errors="replace")
    else:
        text = body.decode("utf-8", errors="replace")
    # A BOM left in the text (UTF-8 BOM, or one written twice) would hide the first line.
    return text.lstrip("\ufeff")


@dataclass(frozen=True, slots=True)
class RobotsVerdict:
    allowed: bool
    reason: Reason
    crawl_delay: float | None = None


class RobotsRules:
    """What one robots.txt fetch means for every URL of its origin."""

    __slots__ = ("_parser", "outcome")

    def __init__(self, outcome: FetchOutcome, body: bytes | None = None) -> None:
        self.outcome = outcome
        self._parser: Protego | None = None
        if outcome is FetchOutcome.OK:
            self._parser = Protego.parse(decode_robots(body or b""))

    def evaluate(self, path_query: str, token: str) -> RobotsVerdict:
        if self.outcome is FetchOutcome.CLIENT_ERROR:
            return RobotsVerdict(True, Reason.ROBOTS_UNAVAILABLE)
        if self._parser is None:
            return RobotsVerdict(False, Reason.ROBOTS_UNREACHABLE)
        delay = self._crawl_delay(token)
        # RFC 9309 2.2.2: /robots.txt itself is implicitly allowed.
        if path_query == "/robots.txt":
            return RobotsVerdict(True, Reason.ROBOTS_ALLOWED, delay)
        allowed = self._parser.can_fetch("http://robots.invalid" + path_query, token)
        return RobotsVerdict(
            allowed, Reason.ROBOTS_ALLOWED if allowed else Reason.ROBOTS_DISALLOWED, delay
        )

    def _crawl_delay(self, token: str) -> float | None:
        assert self._parser is not None
        value = self._parser.crawl_delay(token)
        if value is None:
            return None
        delay = float(value)
        return delay if delay >= 0 else None
