"""After the fetch: reservations attached to one asset, and access control.

Inputs are what the crawler saw (status, headers, the bounded HTML ``<head>``); the answer is
``keep`` or ``discard`` with every reason found. Covered here: HTTP 401/402/403, TDMRep
``tdm-reservation`` (header and meta), ``X-Robots-Tag`` and robots meta ``noai``/``noimageai``
addressed to everyone or to our product token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from optout_service.reasons import Reason

Outcome = Literal["keep", "discard"]

_STATUS_REASONS = {
    401: Reason.ACCESS_AUTH_REQUIRED,
    402: Reason.ACCESS_PAYMENT_REQUIRED,
    403: Reason.ACCESS_FORBIDDEN,
}
# Directives of X-Robots-Tag that take a value after a colon; anything else before a colon names
# a user agent the rest of the value is addressed to.
_VALUED_DIRECTIVES = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)
_AGENT_PREFIX = re.compile(r"^\s*([A-Za-z_-]+)\s*:\s*(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ObservationVerdict:
    outcome: Outcome
    reasons: tuple[Reason, ...]


def _robots_directives(value: str, token: str) -> set[str]:
    """Directives of one X-Robots-Tag or robots-meta value that apply to ``token``."""
    match = _AGENT_PREFIX.match(value)
    if match and match.group(1).lower() not in _VALUED_DIRECTIVES:
        if match.group(1).lower() != token.lower():
            return set()
        value = match.group(2)
    return {part.strip().lower() for part in value.split(",") if part.strip()}


class _HeadMetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        name = values.get("name") or values.get("http-equiv")
        if name is not None and "content" in values:
            self.metas.append((name.strip().lower(), values["content"]))


def _may_reserve(head_html: str, lower_token: str) -> bool:
    """False when no meta tag in the head can name robots, TDMRep or our token (skip parsing)."""
    lower = head_html.lower()
    return "<meta" in lower and ("robots" in lower or "tdm-" in lower or lower_token in lower)


def head_metas(head_html: str) -> list[tuple[str, str]]:
    parser = _HeadMetaParser()
    try:
        parser.feed(head_html)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read so far
        pass
    return parser.metas


def evaluate_observation(
    *,
    status: int,
    headers: Sequence[tuple[str, str]],
    content_type: str | None,
    head_html: str | None,
    token: str,
) -> ObservationVerdict:
    reasons: list[Reason] = []
    if status in _STATUS_REASONS:
        reasons.append(_STATUS_REASONS[status])
    is_image = (content_type or "").lower().startswith("image/")
    lower_token = token.lower()

    def robots_flags(values: Iterable[str], noai: Reason, noimageai: Reason) -> None:
        for value in values:
            directives = _robots_directives(value, token)
            if "noai" in directives:
                reasons.append(noai)
            # noimageai reserves images; it does not reserve the text of an HTML page.
            if "noimageai" in directives and is_image:
                reasons.append(noimageai)

    header_map: dict[str, list[str]] = {}
    for name, value in headers:
        header_map.setdefault(name.strip().lower(), []).append(value)
    if any(v.strip() == "1" for v in header_map.get("tdm-reservation", [])):
        reasons.append(Reason.TDMREP_RESERVED)
    robots_flags(
        header_map.get("x-robots-tag", []), Reason.X_ROBOTS_TAG_NOAI, Reason.X_ROBOTS_TAG_NOIMAGEAI
    )

    if head_html and _may_reserve(head_html, lower_token):
        metas = head_metas(head_html)
        if any(n == "tdm-reservation" and c.strip() == "1" for n, c in metas):
            reasons.append(Reason.TDMREP_RESERVED)
        robot_values = [c for n, c in metas if n in ("robots", lower_token)]
        robots_flags(robot_values, Reason.META_NOAI, Reason.META_NOIMAGEAI)

    unique = tuple(dict.fromkeys(reasons))
    if unique:
        return ObservationVerdict("discard", unique)
    return ObservationVerdict("keep", (Reason.CONTENT_UNRESERVED,))
