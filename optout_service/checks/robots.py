"""robots.txt (RFC 9309) as a site check: may our crawler fetch this URL at all?

The reading itself (status policy, parsing, matching) is :mod:`optout_service.policy.robots`;
this module turns its verdict into findings: ``robots.disallowed`` and ``robots.unreachable``
(with the why as a second code) refuse the fetch for every purpose; ``robots.allowed`` and
``robots.unavailable`` are notes. The crawl delay the file asks for is read by
:func:`crawl_delay`.
"""

from __future__ import annotations

from collections.abc import Iterable

from optout_service.checks.base import Document, Finding, NoLinks, SignalInfo, Site, note, refusal
from optout_service.policy.robots import RobotsRules, RobotsVerdict
from optout_service.reasons import Reason

KIND = "robots_txt"


def robots_rules(document: Document | None) -> RobotsRules | None:
    """The parsed robots.txt of a site's documents, when it has one."""
    if document is None or not isinstance(document.parsed, RobotsRules):
        return None
    return document.parsed


def verdict_of(site: Site, path_query: str) -> RobotsVerdict | None:
    rules = robots_rules(site.document(KIND))
    return rules.evaluate(path_query, site.token) if rules is not None else None


class RobotsCheck(NoLinks):
    name = "robots"
    documents = (KIND,)

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        verdict = verdict_of(site, path_query)
        if verdict is None:  # robots.txt was not read: nothing may be fetched
            return (refusal(Reason.ROBOTS_UNREACHABLE, "no robots.txt was read"),)
        return findings_of(verdict)


def findings_of(verdict: RobotsVerdict) -> tuple[Finding, ...]:
    detail = None
    if verdict.rule is not None:
        detail = f"line {verdict.rule.line}: {verdict.rule.directive}: {verdict.rule.pattern}"
    if verdict.allowed:
        return (note(verdict.reason, detail),)
    found = [refusal(verdict.reason, detail)]
    if verdict.detail is not None:
        found.append(refusal(verdict.detail))
    return tuple(found)


SIGNAL = SignalInfo(
    name="robots.txt",
    where="/robots.txt of the URL's origin, before the fetch",
    source="RFC 9309, Robots Exclusion Protocol, https://www.rfc-editor.org/rfc/rfc9309",
    reasons={
        Reason.ROBOTS_ALLOWED: "robots.txt fetched; no rule for our token (or *) forbids the URL",
        Reason.ROBOTS_DISALLOWED: "a rule for our token (or *) forbids the URL",
        Reason.ROBOTS_UNAVAILABLE: "robots.txt answered 4xx: no restrictions (RFC 9309 2.3.1.3)",
        Reason.ROBOTS_UNREACHABLE: "5xx, 429, network error, timeout, too many redirects: the "
        "whole origin is disallowed (RFC 9309 2.3.1.4); the next code says why",
        Reason.ROBOTS_SERVER_ERROR: "second code of robots.unreachable: 5xx, or a status that "
        "is no answer",
        Reason.ROBOTS_RATE_LIMITED: "second code of robots.unreachable: 429",
        Reason.ROBOTS_TIMEOUT: "second code of robots.unreachable: no complete answer in time",
        Reason.ROBOTS_NETWORK_ERROR: "second code of robots.unreachable: refused, reset, DNS or "
        "TLS failure",
        Reason.ROBOTS_TOO_MANY_REDIRECTS: "second code of robots.unreachable: more than 5 "
        "redirects (RFC 9309 2.3.1.2)",
        Reason.ROBOTS_BLOCKED_ADDRESS: "second code of robots.unreachable: the host resolves to "
        "a private, loopback or otherwise refused address",
    },
    purposes="a refusal for every purpose: robots.txt decides whether we may fetch at all",
    reading="docs/robots.md lists every reading where RFC 9309, google/robotstxt and Protego "
    "differ; the stricter one wins",
)
