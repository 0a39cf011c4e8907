"""``X-Robots-Tag`` and robots ``<meta>``: ``noai``, ``noimageai``, ``noml``, ``noindex``.

Where they are read: every ``X-Robots-Tag`` header of the response, and the ``<meta>`` tags of the
HTML whose name is ``robots``, our product token, or (``http-equiv``) ``X-Robots-Tag``.

**Syntax** (Google's robots meta tag and X-Robots-Tag specification, the reference every other
reader follows). A value is a comma-separated list of directives, case-insensitive; a header may
appear several times and every value counts. A directive list may be scoped to one crawler by a
``<token>:`` prefix (``X-Robots-Tag: examplebot: noai, noimageai``): the prefix applies to the
directives after it, up to the next prefix; directives before any prefix apply to every crawler.
A name before a colon is an agent token unless it is a directive that takes a value
(``unavailable_after``, ``max-snippet``, ``max-image-preview``, ``max-video-preview``); agent
tokens start with a letter and may hold digits (``AI2Bot: noai``), so the pieces of a date that
holds commas (``unavailable_after: Friday, 25-Jun-2010 15:00:00 PST``) are never read as one.
Agent tokens are compared with our product token case-insensitively.

**Directives and purposes:**

================ ================================== ========================================
directive        reserves                           origin
================ ================================== ========================================
``noai``         train-ai, ai-input                 DeviantArt (2022), read by Spawning's
                                                    datadiligence and many CMS plugins
``noimageai``    train-ai, ai-input of an **image** DeviantArt: put on an artwork's HTML page
                 (``image/*``, or an unknown        to protect the *image*; on a response
                 content type: the stricter         that is not an image it is recorded as
                 reading); a note otherwise         a note and reserves nothing
``noml``         train-ai, ai-input                 Mojeek's NoML proposal (noml.info): not
                                                    for machine learning, search is fine
``noindex``,     search always; with the            Google's robots meta specification;
``none``         ``respect_noindex`` setting also   datadiligence's ``respect_noindex`` reads
                 train-ai and ai-input              index directives as an AI opt-out too
``noimageindex`` as ``noindex``, for an image (or
                 an unknown content type) only
================ ================================== ========================================

Other directives (``nofollow``, ``noarchive``, ``nosnippet``, ``all``, ...) are about search
presentation and are not read; ``all`` or ``index`` never lift a reservation made elsewhere.
A page's ``noimageai`` is not carried over to the image files it shows: each image is read on
its own response (its own ``X-Robots-Tag``), as the check sees one response at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from optout_service.checks.base import Asset, Finding, NoLinks, SignalInfo, note
from optout_service.purposes import Purpose


class RobotsTagReason(StrEnum):
    """Reason codes of :class:`RobotsTagsCheck` (the noai/noimageai ones are ``Reason`` members)."""

    X_ROBOTS_TAG_NOAI = "x_robots_tag.noai"  # X-Robots-Tag noai for everyone or our token
    X_ROBOTS_TAG_NOIMAGEAI = "x_robots_tag.noimageai"  # ...noimageai on an image
    X_ROBOTS_TAG_NOML = "x_robots_tag.noml"  # ...noml (NoML)
    X_ROBOTS_TAG_NOINDEX = "x_robots_tag.noindex"  # ...noindex/none (noimageindex on an image)
    # ...noimageai on a response that is not an image: read, reserves nothing (a note)
    X_ROBOTS_TAG_NOIMAGEAI_NOT_IMAGE = "x_robots_tag.noimageai_not_image"
    META_NOAI = "meta.noai"  # <meta name="robots"|our token> noai
    META_NOIMAGEAI = "meta.noimageai"  # ...noimageai on an image (or unknown content type)
    META_NOML = "meta.noml"  # ...noml
    META_NOINDEX = "meta.noindex"  # ...noindex/none
    META_NOIMAGEAI_NOT_IMAGE = "meta.noimageai_not_image"  # ...noimageai on a text page: a note


HEADER = "x-robots-tag"
# Directives that carry a value after a colon: a name before a colon that is one of these is no
# agent token.
VALUED_DIRECTIVES = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)
_AGENT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*:(.*)$", re.DOTALL)
_AI = frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT})
_INDEX_ONLY = frozenset({Purpose.SEARCH})
_INDEX_AND_AI = frozenset({Purpose.SEARCH, Purpose.TRAIN_AI, Purpose.AI_INPUT})
# Values of one response read at most (a bound on a response that repeats a header).
MAX_VALUES = 64
_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class Directive:
    name: str  # lowercased, the part before a value's colon ("unavailable_after")
    agent: str | None  # the lowercased agent token it is scoped to; None: every crawler


def parse_directives(value: str) -> list[Directive]:
    """The directives of one header or meta value, each with the agent it is scoped to."""
    found: list[Directive] = []
    agent: str | None = None
    for piece in value.split(","):
        text = piece.strip()
        match = _AGENT.match(text)
        if match and match.group(1).lower() not in VALUED_DIRECTIVES:
            agent = match.group(1).lower()
            text = match.group(2).strip()
            # "examplebot: unavailable_after: 2030-01-01" scopes a valued directive
        name = text.split(":", 1)[0].strip().lower()
        if name:
            found.append(Directive(name, agent))
    return found


def directives_for(value: str, token: str) -> frozenset[str]:
    """Names of the directives of ``value`` that apply to the crawler ``token``."""
    lower = token.strip().lower()
    return frozenset(d.name for d in parse_directives(value) if d.agent in (None, lower))


@dataclass(frozen=True, slots=True)
class _Codes:
    noai: RobotsTagReason
    noimageai: RobotsTagReason
    noml: RobotsTagReason
    noindex: RobotsTagReason
    noimageai_not_image: RobotsTagReason


_HEADER_CODES = _Codes(
    RobotsTagReason.X_ROBOTS_TAG_NOAI,
    RobotsTagReason.X_ROBOTS_TAG_NOIMAGEAI,
    RobotsTagReason.X_ROBOTS_TAG_NOML,
    RobotsTagReason.X_ROBOTS_TAG_NOINDEX,
    RobotsTagReason.X_ROBOTS_TAG_NOIMAGEAI_NOT_IMAGE,
)
_META_CODES = _Codes(
    RobotsTagReason.META_NOAI,
    RobotsTagReason.META_NOIMAGEAI,
    RobotsTagReason.META_NOML,
    RobotsTagReason.META_NOINDEX,
    RobotsTagReason.META_NOIMAGEAI_NOT_IMAGE,
)


def _clip(value: str) -> str:
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    return clean if len(clean) <= _DETAIL_CHARS else clean[: _DETAIL_CHARS - 1] + "…"


def _is_image(asset: Asset) -> bool:
    """An image, or a response of unknown type (read as an image: the stricter reading)."""
    media_type = asset.media_type
    return media_type is None or media_type.startswith("image/")


class _Collector:
    """Findings by reason code, in the order first met, with every source in the detail."""

    def __init__(self) -> None:
        self._reserves: dict[str, frozenset[Purpose]] = {}
        self._sources: dict[str, list[str]] = {}

    def add(self, code: str, reserves: frozenset[Purpose], source: str) -> None:
        self._reserves[code] = self._reserves.get(code, frozenset()) | reserves
        sources = self._sources.setdefault(code, [])
        if source not in sources:
            sources.append(source)

    def findings(self) -> list[Finding]:
        found = []
        for code, reserves in self._reserves.items():
            detail = _clip("; ".join(self._sources[code]))
            if reserves:
                found.append(Finding(code, reserves=reserves, detail=detail))
            else:
                found.append(note(code, detail))
        return found


def _read(values: Iterable[tuple[str, str]], asset: Asset, codes: _Codes, into: _Collector) -> None:
    """Read ``(label, value)`` pairs (label: where the value came from, for the detail)."""
    image = _is_image(asset)
    for label, value in values:
        names = directives_for(value, asset.token)
        source = f"{label}: {value.strip()}"
        if "noai" in names:
            into.add(codes.noai, _AI, source)
        if "noimageai" in names:
            if image:
                into.add(codes.noimageai, _AI, source)
            else:
                media = asset.media_type or "unknown"
                into.add(codes.noimageai_not_image, frozenset(), f"{source} (on {media})")
        if "noml" in names:
            into.add(codes.noml, _AI, source)
        index_reserves = _INDEX_AND_AI if asset.respect_noindex else _INDEX_ONLY
        if names & {"noindex", "none"} or ("noimageindex" in names and image):
            into.add(codes.noindex, index_reserves, source)


def _meta_names(token: str) -> frozenset[str]:
    return frozenset({"robots", token.strip().lower(), HEADER})


class RobotsTagsCheck(NoLinks):
    """``X-Robots-Tag`` and robots meta ``noai``/``noimageai``/``noml``/``noindex``."""

    name = "robots_tags"

    def check(self, asset: Asset) -> Iterable[Finding]:
        collector = _Collector()
        headers = [("X-Robots-Tag", v) for v in asset.header(HEADER)[:MAX_VALUES]]
        _read(headers, asset, _HEADER_CODES, collector)
        if asset.html:
            wanted = _meta_names(asset.token)
            metas = [
                (f'<meta name="{name}">', content)
                for name, content in asset.html_facts.metas
                if name in wanted
            ][:MAX_VALUES]
            _read(metas, asset, _META_CODES, collector)
        return tuple(collector.findings())


_PURPOSES = (
    "noai, noml: train-ai and ai-input; noimageai: train-ai and ai-input of an image (or of a "
    "response of unknown type); noindex, none: search, and with respect_noindex also train-ai "
    "and ai-input"
)
_READING = (
    "a <token>: prefix scopes the directives after it up to the next prefix (Google's reading); "
    "agent tokens may hold digits; noimageai on a response that is not an image is a note; noml "
    "also reserves ai-input (use in a machine-learning product); noindex always reserves search"
)
_ORIGINS = (
    "DeviantArt, noai and noimageai directives, https://www.deviantart.com/team/journal/"
    "UPDATE-All-Deviations-Are-Opted-Out-of-AI-Datasets-934500371; Spawning datadiligence "
    "XRobotsTagHeader, https://github.com/Spawning-Inc/datadiligence; NoML, https://noml.info; "
    "Google, robots meta tag and X-Robots-Tag specification, "
    "https://developers.google.com/search/docs/crawling-indexing/robots-meta-tag"
)

SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo(
        name="X-Robots-Tag noai / noimageai / noml / noindex",
        where="every X-Robots-Tag header of a response, after the fetch",
        source=_ORIGINS,
        reasons={
            RobotsTagReason.X_ROBOTS_TAG_NOAI: "noai for every crawler or for our token",
            RobotsTagReason.X_ROBOTS_TAG_NOIMAGEAI: "noimageai on an image (or a response of "
            "unknown type)",
            RobotsTagReason.X_ROBOTS_TAG_NOML: "noml for every crawler or for our token",
            RobotsTagReason.X_ROBOTS_TAG_NOINDEX: "noindex or none (noimageindex on an image)",
            RobotsTagReason.X_ROBOTS_TAG_NOIMAGEAI_NOT_IMAGE: "noimageai on a response that "
            "is not an image: recorded, reserves nothing",
        },
        purposes=_PURPOSES,
        reading=_READING,
    ),
    SignalInfo(
        name="robots <meta> noai / noimageai / noml / noindex",
        where='<meta name="robots">, <meta name="<our token>"> and <meta http-equiv='
        '"X-Robots-Tag"> of an HTML page, after the fetch',
        source=_ORIGINS,
        reasons={
            RobotsTagReason.META_NOAI: "noai for every crawler or for our token",
            RobotsTagReason.META_NOIMAGEAI: "noimageai on an image (or unknown content type)",
            RobotsTagReason.META_NOML: "noml for every crawler or for our token",
            RobotsTagReason.META_NOINDEX: "noindex or none (noimageindex on an image)",
            RobotsTagReason.META_NOIMAGEAI_NOT_IMAGE: "noimageai on a page that is not an "
            "image: it protects the page's images, not its text; recorded, reserves nothing",
        },
        purposes=_PURPOSES,
        reading=_READING,
    ),
)
