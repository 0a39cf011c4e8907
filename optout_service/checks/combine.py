"""Many findings, one answer: the most restrictive applicable statement wins.

For each purpose of the crawl: *reserved* when any finding reserves it (whatever other findings
allow: a permission in one place never lifts a reservation made in another); otherwise
*allowed* when some finding explicitly permits it; otherwise *unknown* (no statement: the
TDM exception applies, the crawl may go on). The answer is ``deny`` when any requested purpose
is reserved; its reasons are every finding that reserves a requested purpose, in check order.
An ``allow`` lists the notes and the permissions of the requested purposes instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from optout_service.checks.base import Finding
from optout_service.purposes import Purpose

State = Literal["reserved", "allowed", "unknown"]


@dataclass(frozen=True, slots=True)
class PurposeReading:
    state: State
    reasons: tuple[str, ...]  # the findings behind the state (reserving or allowing ones)


@dataclass(frozen=True, slots=True)
class Combined:
    reserved: bool  # some requested purpose is reserved (or the fetch is refused)
    reasons: tuple[str, ...]
    by_purpose: dict[Purpose, PurposeReading]
    licenses: tuple[str, ...]  # URLs to ask for permission, in the order found, no repeats
    findings: tuple[Finding, ...]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def combine(findings: Iterable[Finding], purposes: Sequence[Purpose]) -> Combined:
    """Read ``findings`` (in check order) for a crawl with ``purposes``."""
    found = tuple(findings)
    wanted = frozenset(purposes)
    by_purpose: dict[Purpose, PurposeReading] = {}
    for purpose in Purpose:
        reserving = [f.reason for f in found if purpose in f.reserves]
        if reserving:
            by_purpose[purpose] = PurposeReading("reserved", _unique(reserving))
            continue
        allowing = [f.reason for f in found if purpose in f.allows]
        if allowing:
            by_purpose[purpose] = PurposeReading("allowed", _unique(allowing))
        else:
            by_purpose[purpose] = PurposeReading("unknown", ())
    deciding = [f.reason for f in found if f.reserves & wanted]
    if deciding:
        reasons = _unique(deciding)
    else:
        reasons = _unique(
            f.reason for f in found if not (f.reserves or f.allows) or f.allows & wanted
        )
    licenses = _unique(f.license for f in found if f.license)
    return Combined(bool(deciding), reasons, by_purpose, licenses, found)
