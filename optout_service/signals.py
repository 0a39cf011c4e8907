"""The public self-check of every signal: how do we read what your site says?

A rights holder pastes what a crawl would meet (a URL; robots.txt, tdmrep.json, ai.txt and
licence files; response headers; a page; an EPUB package document; XMP) and gets our reading:
reserved or not, for which purpose, and why. It runs the very check objects of the crawl path
(the decision engine's site checks, the observation engine's asset checks) over documents
parsed by the same parsers, so the answer is the one a crawl would get. Nothing is fetched:
a document not given is not read, and a check whose documents were not given does not run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from optout_service.checks.base import (
    Asset,
    AssetCheck,
    Document,
    EmbeddedMetadata,
    Finding,
    Site,
    SiteCheck,
)
from optout_service.checks.combine import Combined, combine
from optout_service.checks.embedded import read_tdm
from optout_service.checks.robots import KIND as ROBOTS
from optout_service.checks.robots import verdict_of
from optout_service.checks.tdmrep import tdm_reading
from optout_service.outcomes import outcome_for_status
from optout_service.policy_store import DocumentKind
from optout_service.purposes import Purpose
from optout_service.urls import NormalisedURL


@dataclass(frozen=True, slots=True)
class GivenDocument:
    status: int
    body: str | None


@dataclass(frozen=True, slots=True)
class SelfCheckInput:
    url: NormalisedURL
    token: str
    purposes: tuple[Purpose, ...]
    files: Mapping[str, GivenDocument]  # by path on the URL's origin, or absolute URL
    headers: Sequence[tuple[str, str]] | None
    body: str | None
    status: int | None
    final_url: str | None
    package_opf: str | None
    xmp: str | None
    respect_noindex: bool


@dataclass(frozen=True, slots=True)
class SelfCheckReading:
    combined: Combined
    findings: list[tuple[str, Finding]]  # (check name, finding)
    crawl: tuple[bool, str] | None  # robots.txt's answer, when one was given
    tdm_reservation: int | None
    tdm_policy: str | None


def _document(
    kind: DocumentKind, url: str, given: GivenDocument, max_bytes: int
) -> Document:
    outcome = outcome_for_status(given.status)
    raw = (given.body or "").encode("utf-8", errors="surrogatepass")
    truncated = len(raw) > max_bytes
    body = raw[:max_bytes] if 200 <= given.status < 300 else None
    return Document(
        kind.name,
        url,
        outcome,
        given.status,
        kind.parse(outcome, body, given.status),
        truncated=truncated,
    )


def _given(files: Mapping[str, GivenDocument], origin: str, url: str) -> GivenDocument | None:
    """The file given for ``url``: by its absolute URL, or by its path when on ``origin``."""
    found = files.get(url)
    if found is not None:
        return found
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" == origin:
        return files.get(parts.path + ("?" + parts.query if parts.query else ""))
    return None


def evaluate(
    request: SelfCheckInput,
    kinds: Mapping[str, DocumentKind],
    site_checks: Sequence[SiteCheck],
    asset_checks: Sequence[AssetCheck],
    max_bytes: int,
) -> SelfCheckReading:
    """Read everything given, as a crawl would (run in a worker thread: it parses)."""
    origin = request.url.origin
    documents: dict[str, Document] = {}
    for kind in kinds.values():
        if kind.path is None:
            continue
        given = _given(request.files, origin, origin + kind.path)
        if given is not None:
            documents[kind.name] = _document(kind, origin + kind.path, given, max_bytes)
    site = Site(origin, request.token, frozenset(request.purposes), documents)
    # A check runs when it reads no document or when one of its documents was given.
    running = [c for c in site_checks if not c.documents or set(c.documents) & set(documents)]
    linked: dict[str, Document] = {}
    for check in running:
        for kind_name, url in check.linked(site):
            given = _given(request.files, origin, url)
            linked_kind = kinds.get(kind_name)
            if given is not None and linked_kind is not None and url not in linked:
                linked[url] = _document(linked_kind, url, given, max_bytes)
    site = Site(origin, request.token, site.purposes, documents, linked)
    findings: list[tuple[str, Finding]] = []
    for check in running:
        findings.extend((check.name, f) for f in check.check(site, request.url.path_query))

    asset = _asset(request, origin, kinds, max_bytes)
    if asset is not None:
        asset_linked: dict[str, Document] = {}
        for asset_check in asset_checks:
            for kind_name, url in asset_check.linked(asset):
                given = _given(request.files, origin, url)
                linked_kind = kinds.get(kind_name)
                if given is not None and linked_kind is not None:
                    asset_linked[url] = _document(linked_kind, url, given, max_bytes)
        if asset_linked:
            asset = _with_links(asset, asset_linked)
        for asset_check in asset_checks:
            findings.extend((asset_check.name, f) for f in asset_check.check(asset))

    combined = combine((f for _, f in findings), request.purposes)
    crawl = None
    if ROBOTS in documents:
        verdict = verdict_of(site, request.url.path_query)
        if verdict is not None:
            crawl = (verdict.allowed, str(verdict.reason))
    tdm = tdm_reading(site, asset, request.url.path_query)
    reservation, policy = tdm.reservation, tdm.policy
    if asset is not None and asset.metadata is not None:
        embedded = read_tdm(asset.metadata)  # XMP and EPUB carriers of TDMRep
        values = {reservation, embedded.reservation}
        # As everywhere: a 1 in any carrier stands; a 0 only where no carrier says 1.
        reservation = 1 if 1 in values else 0 if 0 in values else None
        policy = embedded.policy or policy if embedded.reservation == 1 else policy
    return SelfCheckReading(combined, findings, crawl, reservation, policy)


def _asset(
    request: SelfCheckInput, origin: str, kinds: Mapping[str, DocumentKind], max_bytes: int
) -> Asset | None:
    """The response described by headers/body/status/metadata, when any of them was given."""
    given = (request.headers, request.body, request.status, request.package_opf, request.xmp)
    if all(value is None for value in given):
        return None
    headers = list(request.headers or ())
    content_type = next((v for n, v in headers if n.strip().lower() == "content-type"), None)
    metadata = None
    if request.package_opf is not None or request.xmp is not None:
        metadata = EmbeddedMetadata(
            xmp=request.xmp,
            package_opf=request.package_opf,
            format="epub" if request.package_opf is not None else None,
        )
    final_url = request.url.url
    redirects: tuple[str, ...] = ()
    if request.final_url:
        final_url = urljoin(request.url.url, request.final_url)
        if final_url != request.url.url:
            redirects = (request.url.url,)
    # No content type given stays unknown: checks then take the stricter reading (noimageai).
    return Asset(
        url=request.url.url,
        final_url=final_url,
        status=request.status or 200,
        headers=headers,
        content_type=content_type,
        html=request.body,
        token=request.token,
        purposes=frozenset(request.purposes),
        redirects=redirects,
        metadata=metadata,
        respect_noindex=request.respect_noindex,
    )


def _with_links(asset: Asset, linked: Mapping[str, Document]) -> Asset:
    return Asset(
        url=asset.url,
        final_url=asset.final_url,
        status=asset.status,
        headers=asset.headers,
        content_type=asset.content_type,
        html=asset.html,
        token=asset.token,
        purposes=asset.purposes,
        redirects=asset.redirects,
        metadata=asset.metadata,
        respect_noindex=asset.respect_noindex,
        linked=linked,
    )

