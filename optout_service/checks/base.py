"""The shapes every check shares: findings, the two subjects (a site, an asset), the protocols.

A **site check** runs before the fetch, once per URL, over the policy documents of the URL's
origin (robots.txt, tdmrep.json, ai.txt, RSL licences); an **asset check** runs after the fetch
over what the crawler observed (status, headers, the HTML head, embedded metadata). Both are
plain synchronous functions of parsed data: every document a check reads is fetched and parsed
before it runs (by the engine, or given by the self-check), so the crawl path and the public
self-checks run the very same objects. A check never raises for bad input: it reads what it can
and reports the rest as a finding.

A check returns :class:`Finding` objects. A finding *reserves* purposes (a rights reservation, or
a refusal such as robots.txt ``Disallow`` or HTTP 401, which reserves every purpose), *allows*
purposes (an explicit permission, e.g. AIPREF ``train-ai=y``), or neither (a note: an unknown
label, robots.txt allowing the URL). :func:`optout_service.checks.combine.combine` reads all
findings of one URL together: the most restrictive applicable statement wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from optout_service.checks.html import HtmlFacts, read_html
from optout_service.outcomes import FetchOutcome
from optout_service.purposes import ALL_PURPOSES, Purpose

NOTHING: frozenset[Purpose] = frozenset()


@dataclass(frozen=True, slots=True)
class Finding:
    """One statement a check read, with the reason code that names it."""

    reason: str  # a dotted reason code, e.g. "tdmrep.reserved"
    reserves: frozenset[Purpose] = NOTHING  # purposes it reserves (ALL_PURPOSES: a refusal)
    allows: frozenset[Purpose] = NOTHING  # purposes it explicitly permits
    # A URL a data team could use to ask for permission (tdm-policy, an RSL licence).
    license: str | None = None
    # Free text for the self-check and the logs: which line, which label, which value.
    detail: str | None = None

    @property
    def refusal(self) -> bool:
        """True for a finding that reserves every purpose (robots.txt, access, piracy)."""
        return self.reserves == ALL_PURPOSES


def refusal(reason: str, detail: str | None = None) -> Finding:
    """A finding that forbids the fetch (or keeping the response) whatever the purpose."""
    return Finding(reason, reserves=ALL_PURPOSES, detail=detail)


def note(reason: str, detail: str | None = None) -> Finding:
    """A finding that reserves and allows nothing: recorded, listed, never deciding."""
    return Finding(reason, detail=detail)


@dataclass(frozen=True, slots=True)
class Document:
    """One fetched (or, in a self-check, given) policy document, parsed.

    ``parsed`` is what the document kind's parser made of it (``optout_service.documents``):
    each check knows the type of the kinds it reads and checks it with ``isinstance``. The
    fail-closed rule of the kind (what a 5xx or a timeout means) is applied by that parser.
    """

    kind: str  # "robots_txt", "tdmrep", "ai_txt", "rsl"
    url: str
    outcome: FetchOutcome
    status: int | None
    parsed: object
    sha256: str | None = None
    fetch_id: int | None = None  # the policy_fetch row (None in a self-check)
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Site:
    """What a site check reads: the origin's documents, for one crawler and its purposes."""

    origin: str  # scheme://host[:port]
    token: str  # our crawler's product token
    purposes: frozenset[Purpose]
    documents: Mapping[str, Document]  # by kind; a kind nobody fetched is absent
    # Documents other documents point to (an RSL licence named by a robots.txt License: line),
    # by absolute URL; a URL that could not be fetched is present with its failed outcome.
    linked: Mapping[str, Document] = field(default_factory=dict)

    def document(self, kind: str) -> Document | None:
        return self.documents.get(kind)


@dataclass(frozen=True, slots=True)
class EmbeddedMetadata:
    """What the crawler extracted from a non-HTML asset (bounded; never the asset itself)."""

    xmp: str | None = None  # an XMP packet (PDF, image)
    package_opf: str | None = None  # an EPUB package document
    # C2PA / CAWG assertions of the active manifest: {"label": str, "data": {...}} each.
    c2pa: Sequence[Mapping[str, object]] = ()
    format: str | None = None  # "pdf", "epub", "image", ...
    errors: Sequence[str] = ()  # what the extractor could not read


@dataclass(frozen=True)
class Asset:
    """What an asset check reads: one response as the crawler observed it.

    ``html`` is the HTML the crawler sent (the bounded ``<head>`` in the crawl, a whole page in
    the self-check). Header names are matched case-insensitively through :meth:`header`.
    """

    url: str
    final_url: str
    status: int
    headers: Sequence[tuple[str, str]]
    content_type: str | None
    html: str | None
    token: str
    purposes: frozenset[Purpose]
    # URLs the request went through before ``final_url`` (redirect hops, first one first).
    redirects: Sequence[str] = ()
    metadata: EmbeddedMetadata | None = None
    respect_noindex: bool = False  # read noindex/none as a reservation too (a setting)
    # Documents asset statements point to (an RSL licence in a Link: rel="license" header), by
    # absolute URL, fetched before the checks run.
    linked: Mapping[str, Document] = field(default_factory=dict)

    @cached_property
    def _header_map(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in self.headers:
            found.setdefault(name.strip().lower(), []).append(value)
        return found

    @cached_property
    def html_facts(self) -> HtmlFacts:
        """The page's meta tags, JSON-LD, microdata, links (parsed once, shared by checks)."""
        return read_html(self.html or "")

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), in order; [] when absent."""
        return self._header_map.get(name.lower(), [])

    @property
    def media_type(self) -> str | None:
        """The content type's ``type/subtype``, lowercased; None when unknown."""
        if not self.content_type:
            return None
        return self.content_type.split(";", 1)[0].strip().lower() or None


class SiteCheck(Protocol):
    """A check before the fetch. ``documents`` names the kinds it reads: the engine fetches
    every kind that some check reads, for each origin, concurrently."""

    name: str
    documents: tuple[str, ...]

    def linked(self, site: Site) -> Iterable[tuple[str, str]]:
        """(kind, absolute URL) of other documents this check needs, read from ``site``'s
        documents (e.g. RSL licences named by robots.txt); fetched before :meth:`check`."""
        ...

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        """The findings for one URL of ``site`` (its path and query, normalised)."""
        ...


class AssetCheck(Protocol):
    """A check after the fetch, over one observed response."""

    name: str

    def linked(self, asset: Asset) -> Iterable[tuple[str, str]]:
        """(kind, absolute URL) of documents this check needs (e.g. a Link: rel=license)."""
        ...

    def check(self, asset: Asset) -> Iterable[Finding]: ...


class NoLinks:
    """Mixin for checks that read no linked documents."""

    def linked(self, subject: object) -> Iterable[tuple[str, str]]:
        return ()


@dataclass(frozen=True, slots=True)
class SignalInfo:
    """One row of the table of signals (``docs/signals.md``, the public crawler page):
    every check module describes what it reads in one ``SIGNAL`` (or ``SIGNALS``) constant."""

    name: str  # "W3C TDMRep (tdmrep.json)"
    where: str  # where it is read: "/.well-known/tdmrep.json, before the fetch"
    source: str  # the specification, with its URL
    reasons: Mapping[str, str]  # reason code -> what it means
    purposes: str  # how its labels map onto our purposes
    reading: str = ""  # our reading where the specification leaves room
