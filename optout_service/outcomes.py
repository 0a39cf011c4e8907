"""How a fetch of a policy document ended, as facts about the fetch (no policy).

The fetcher (:mod:`optout_service.fetcher`) reports one of these for every fetch, whatever the
document; what each means for a crawl is the business of the kind of document: robots.txt
(:mod:`optout_service.policy.robots`, RFC 9309 2.3.1) reads a client error as "no restrictions"
and the others as "disallow all"; other kinds write their own rule beside their parser.
"""

from __future__ import annotations

from enum import StrEnum


class FetchOutcome(StrEnum):
    OK = "ok"  # 2xx: a body
    CLIENT_ERROR = "client_error"  # 4xx other than 429
    SERVER_ERROR = "server_error"  # 5xx, 429 ("come back later"), or any other status
    NETWORK_ERROR = "network_error"  # connection failure, DNS, TLS, protocol error
    TIMEOUT = "timeout"  # no complete answer in time
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BLOCKED_ADDRESS = "blocked_address"  # a refused address (the fetcher's address guard)


def outcome_for_status(status: int) -> FetchOutcome:
    if 200 <= status < 300:
        return FetchOutcome.OK
    if status == 429:
        return FetchOutcome.SERVER_ERROR
    if 400 <= status < 500:
        return FetchOutcome.CLIENT_ERROR
    return FetchOutcome.SERVER_ERROR
