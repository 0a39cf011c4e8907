"""RSL 1.0 (Really Simple Licensing) licences: robots.txt ``License:`` lines and
``Link: rel="license"`` pointers, read onto our purposes.

An RSL document (namespace ``https://rslstandard.org/rsl``) lists ``<content url=...>`` elements,
each naming assets by an RFC 9309 pattern, each with one or more ``<license>`` term sets: what
they ``<permits>`` and ``<prohibits>`` (``type="usage"``: ``all``, ``ai-all``, ``ai-train``,
``ai-input``, ``ai-index``, ``search``), what they cost (``<payment type=...>``), and whether a
licence must be obtained from an RSL License Server first (``server=``). Two checks read it:
:class:`RslSiteCheck` before the fetch (the licences the origin's robots.txt names) and
:class:`RslAssetCheck` after it (the licences a response links to).

**Fail-closed rule of the kind ``rsl``** (:func:`parse_rsl`). A licence a robots.txt
``License:`` line (or a ``Link`` typed ``application/rsl+xml``) names is a statement that the
content is licensed on those terms: a crawler that cannot read them has no licence, so:

- 2xx with a well-formed RSL document: its terms apply;
- 2xx with anything else (not XML, a DTD or entity declaration, another root element or
  namespace, no ``<content>``, more than MAX_RSL_BYTES or MAX_ELEMENTS): unreadable;
- 4xx (404 included): unreadable: the licence the site points to does not exist, and no
  licence means no use (unlike tdmrep.json, where a 404 means "no file, no statement");
- 5xx, 429, a timeout, a network error, too many redirects, a refused address: unreadable.

An unreadable licence refuses the fetch (``rsl.unreadable``, every purpose), with the licence URL
as the place to ask. A ``rel="license"`` link with no ``type`` (HTML ``<link>`` elements, most
``Link`` headers) usually points to a human-readable licence (Creative Commons, a terms page):
it is read when the document it names parses as RSL and otherwise only noted
(``rsl.link_ignored``), never read as "unlicensed".
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import cast
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from optout_service.checks.base import (
    NOTHING,
    Asset,
    Document,
    Finding,
    SignalInfo,
    Site,
    note,
)
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules
from optout_service.policy.robotstxt import Extension, make_rule, normalise_path
from optout_service.purposes import ALL_PURPOSES, Purpose

RSL_NAMESPACE = "https://rslstandard.org/rsl"
RSL_MEDIA_TYPE = "application/rsl+xml"
KIND = "rsl"

# Bounds on what one document may make us hold or do. Real licences are a few KiB; a larger
# body is read as unreadable (fail closed) rather than cut, since a cut XML document parses as
# nothing and a partial licence could drop the very element that reserves.
MAX_RSL_BYTES = 512 * 1024
MAX_ELEMENTS = 20_000
MAX_DEPTH = 32
MAX_CONTENTS = 2_000
MAX_LICENSES_PER_CONTENT = 64
MAX_TOKENS = 512  # values of one <permits>/<prohibits> (a geo list names countries)
MAX_LIST_CHARS = 16 * 1024  # characters of one <permits>/<prohibits> list
MAX_TEXT_CHARS = 4_096  # characters kept of a URL or a pattern
# Licences read per subject: more License lines or rel=license links than this are refused
# (the first ones are fetched and read, the rest reported), never silently dropped.
MAX_LINKS = 8
MAX_LINK_HEADER_CHARS = 16 * 1024  # characters of one Link header value that are parsed


class RslReason(StrEnum):
    # A licence grants the purpose explicitly, free of charge (payment free or attribution).
    PERMITTED = "rsl.permitted"
    # A licence that applies to the URL prohibits the purpose (<prohibits type="usage">).
    PROHIBITED = "rsl.prohibited"
    # The licences that apply grant other uses only: the purpose is not licensed (RSL 1.0 §3).
    NOT_PERMITTED = "rsl.not_permitted"
    # The purpose is licensed only against payment (purchase, subscription, crawl, ...).
    PAYMENT_REQUIRED = "rsl.payment_required"
    # The content names an RSL License Server: a licence must be obtained there, even if free.
    LICENSE_SERVER_REQUIRED = "rsl.license_server_required"
    # Free only to some users or regions (<permits type="user"/"geo">): we cannot show we qualify.
    RESTRICTED = "rsl.restricted"
    # The licence could not be fetched or is not a readable RSL document: no licence, no fetch.
    UNREADABLE = "rsl.unreadable"
    # Note: the licence was read but none of its <content> elements names this URL.
    NOT_COVERED = "rsl.not_covered"
    # Note: a usage value outside the RSL 1.0 vocabulary (recorded, never silently dropped).
    UNKNOWN_USAGE = "rsl.unknown_usage"
    # Note: an untyped rel="license" link whose target is not (or could not be read as) RSL.
    LINK_IGNORED = "rsl.link_ignored"


class _Verdict(IntEnum):
    """What the licences of one document say about one purpose, most restrictive first."""

    PROHIBITED = 0
    NOT_PERMITTED = 1
    LICENSE_SERVER_REQUIRED = 2
    PAYMENT_REQUIRED = 3
    RESTRICTED = 4
    PERMITTED = 5
    IMPLIED = 6  # not prohibited, licensed by a term set with no usage list: no finding


_VERDICT_REASON: dict[_Verdict, RslReason] = {
    _Verdict.PROHIBITED: RslReason.PROHIBITED,
    _Verdict.NOT_PERMITTED: RslReason.NOT_PERMITTED,
    _Verdict.LICENSE_SERVER_REQUIRED: RslReason.LICENSE_SERVER_REQUIRED,
    _Verdict.PAYMENT_REQUIRED: RslReason.PAYMENT_REQUIRED,
    _Verdict.RESTRICTED: RslReason.RESTRICTED,
    _Verdict.PERMITTED: RslReason.PERMITTED,
}

_TRAIN = frozenset({Purpose.TRAIN_AI})
_INPUT = frozenset({Purpose.AI_INPUT})
_SEARCH = frozenset({Purpose.SEARCH})
_AI = _TRAIN | _INPUT

# RSL 1.0 usage values (§3.4.1) -> the purposes a prohibition of the value reserves.
USAGE_RESERVES: Mapping[str, frozenset[Purpose]] = {
    "all": ALL_PURPOSES,
    "ai-all": _AI,  # ai-train + ai-input + ai-index
    "ai-train": _TRAIN,
    "ai-input": _INPUT,
    "ai-index": _INPUT,  # an AI-powered search index feeds answers at use time
    "search": _SEARCH,
}
# ... and the purposes a permission of the value grants. ai-index grants none of ours: it
# licenses one kind of AI use at answer time, narrower than ai-input, and it is not the plain
# search index our "search" purpose builds.
USAGE_GRANTS: Mapping[str, frozenset[Purpose]] = {
    "all": ALL_PURPOSES,
    "ai-all": _AI,
    "ai-train": _TRAIN,
    "ai-input": _INPUT,
    "ai-index": NOTHING,
    "search": _SEARCH,
}
# Labels of the 2025 drafts and of IETF AIPREF seen in published licences, read as the RSL 1.0
# value they became.
USAGE_ALIASES: Mapping[str, str] = {
    "train-ai": "ai-train",
    "train-genai": "ai-train",
    "ai-use": "ai-input",
}
# Payment types that cost no money (attribution is a condition, not a price).
FREE_PAYMENTS = frozenset({"free", "attribution"})
# Payment types of the RSL 1.0 <payment> element; any other value (or none) is read as a price.
KNOWN_PAYMENTS = FREE_PAYMENTS | {
    "purchase",
    "subscription",
    "training",
    "crawl",
    "use",
    "contribution",
    "inference",  # a 2025 draft's name for per-use payment
}


# --- the parsed document -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RslPayment:
    type: str  # lowercased; "" when the attribute is missing (read as a price)
    standard: tuple[str, ...] = ()  # <standard> URLs: standard licence terms
    custom: tuple[str, ...] = ()  # <custom> URLs: where to negotiate
    amounts: tuple[tuple[str, str], ...] = ()  # (currency, amount as written)

    @property
    def free(self) -> bool:
        return self.type in FREE_PAYMENTS


@dataclass(frozen=True, slots=True)
class RslLicense:
    """One term set of a ``<content>``: its usage lists, conditions, payments."""

    # The <permits type="usage"> values (lowercased, aliases resolved); None without one.
    permits: tuple[str, ...] | None = None
    prohibits: tuple[str, ...] = ()  # the <prohibits type="usage"> values
    # Other <permits>/<prohibits> types (user, geo, ...): "permits user: education", ...
    conditions: tuple[str, ...] = ()
    payments: tuple[RslPayment, ...] = ()  # none: free (RSL's default)
    server: str | None = None  # a <server> child element (read like the content's attribute)

    @property
    def free(self) -> bool:
        return all(p.free for p in self.payments)


@dataclass(frozen=True, slots=True)
class RslContent:
    url: str | None  # the url attribute as written (None: missing, read as every URL)
    server: str | None = None  # the RSL License Server (attribute or <server> child)
    encrypted: bool = False
    licenses: tuple[RslLicense, ...] = ()


@dataclass(frozen=True, slots=True)
class RslDocument:
    """What one fetch of an RSL licence means. ``problem`` is None for a readable document."""

    outcome: FetchOutcome
    status: int | None
    problem: str | None = None  # why it is unreadable, for the finding's detail
    contents: tuple[RslContent, ...] = ()
    namespaced: bool = True  # False: a root <rsl> without the RSL namespace (read the same)
    unknown_usages: tuple[str, ...] = ()  # usage values outside the vocabulary, in order
    size: int = 0  # the estimate below, computed once while parsing

    @property
    def readable(self) -> bool:
        return self.problem is None

    def estimated_bytes(self) -> int:
        """A rough size of what this answer holds (the cache budget's unit)."""
        return sys.getsizeof(self) + self.size


def _unreadable(outcome: FetchOutcome, status: int | None, problem: str) -> RslDocument:
    return RslDocument(outcome, status, problem=problem)


_OUTCOME_PROBLEM = {
    FetchOutcome.CLIENT_ERROR: "the licence answered {status}",
    FetchOutcome.SERVER_ERROR: "the licence answered {status}",
    FetchOutcome.NETWORK_ERROR: "the licence could not be reached (network error)",
    FetchOutcome.TIMEOUT: "fetching the licence timed out",
    FetchOutcome.TOO_MANY_REDIRECTS: "fetching the licence met too many redirects",
    FetchOutcome.BLOCKED_ADDRESS: "the licence host resolves to a refused address",
}


class _TooBig(Exception):
    """The document has more elements, or deeper nesting, than we read."""


def _text(value: str | None) -> str:
    return (value or "").strip()[:MAX_TEXT_CHARS]


def _tokens(value: str | None) -> list[str]:
    """The values of a list: RSL separates them with spaces; commas are accepted too (a common
    slip). A longer list is refused rather than cut: a cut prohibition would reserve less."""
    value = value or ""
    if len(value) > MAX_LIST_CHARS:
        raise _TooBig(f"a value list longer than {MAX_LIST_CHARS} characters")
    values = value.replace(",", " ").lower().split()
    if len(values) > MAX_TOKENS:
        raise _TooBig(f"a value list of more than {MAX_TOKENS} values")
    return values


class _Reader:
    """Builds an :class:`RslDocument` from a parsed root, in one namespace (RSL's, or none)."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{{{namespace}}}" if namespace else ""
        self.unknown: list[str] = []
        self.size = 0

    def children(self, element: Element, name: str) -> Iterator[Element]:
        tag = self.prefix + name
        return (child for child in element if child.tag == tag)

    def usage(self, values: Iterable[str]) -> tuple[str, ...]:
        found: list[str] = []
        for value in values:
            value = USAGE_ALIASES.get(value, value)
            if value not in USAGE_GRANTS and value not in self.unknown:
                self.unknown.append(value)
            if value not in found:
                found.append(value)
        return tuple(found)

    def license(self, element: Element) -> RslLicense:
        permits: tuple[str, ...] | None = None
        prohibits: list[str] = []
        conditions: list[str] = []
        for child in element:
            if child.tag not in (self.prefix + "permits", self.prefix + "prohibits"):
                continue
            verb = child.tag[len(self.prefix) :]
            kind = _text(child.get("type")).lower() or "usage"  # untyped lists read as usage
            values = _tokens(child.text)
            if kind != "usage":
                if kind == "user" and ("commercial" in values) == (verb == "permits"):
                    continue  # our crawls are commercial use: granted to us / not aimed at us
                conditions.append(f"{verb} {kind}: {' '.join(values)}")
            elif verb == "prohibits":
                prohibits.extend(v for v in self.usage(values) if v not in prohibits)
            else:
                listed = self.usage(values)
                # At most one usage list per licence (RSL 1.0 §3.5); with more, only what
                # every list grants is read as granted.
                permits = listed if permits is None else tuple(v for v in permits if v in listed)
        payments = tuple(self.payment(p) for p in self.children(element, "payment"))
        servers = [_text(s.text) for s in self.children(element, "server") if _text(s.text)]
        self.size += 200 + 60 * (len(prohibits) + len(permits or ()) + len(conditions))
        return RslLicense(
            permits, tuple(prohibits), tuple(conditions), payments, servers[0] if servers else None
        )

    def payment(self, element: Element) -> RslPayment:
        amounts = tuple(
            (_text(a.get("currency")), _text(a.text)) for a in self.children(element, "amount")
        )
        self.size += 150 + 80 * len(amounts)
        return RslPayment(
            _text(element.get("type")).lower(),
            tuple(_text(s.text) for s in self.children(element, "standard")),
            tuple(_text(c.text) for c in self.children(element, "custom")),
            amounts,
        )

    def content(self, element: Element) -> RslContent:
        licenses = [self.license(e) for e in self.children(element, "license")]
        if len(licenses) > MAX_LICENSES_PER_CONTENT:
            raise _TooBig(f"more than {MAX_LICENSES_PER_CONTENT} licences in one content element")
        server = _text(element.get("server"))
        if not server:
            server = next((_text(s.text) for s in self.children(element, "server")), "")
        url = element.get("url")
        self.size += 200 + len(url or "") + len(server)
        return RslContent(
            _text(url) if url is not None else None,
            server or None,
            _text(element.get("encrypted")).lower() in ("true", "1", "yes"),
            tuple(licenses),
        )


def _parse_tree(body: bytes) -> Element:
    """The root of ``body``, bounded in elements and depth; no DTD, entities or external refs."""
    count = 0
    depth = 0
    root: Element | None = None
    events = SafeET.iterparse(
        io.BytesIO(body),
        events=("start", "end"),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    for event, element in events:
        if event == "start":
            count += 1
            depth += 1
            if root is None:
                root = cast(Element, element)
            if count > MAX_ELEMENTS:
                raise _TooBig(f"more than {MAX_ELEMENTS} elements")
            if depth > MAX_DEPTH:
                raise _TooBig(f"elements nested deeper than {MAX_DEPTH}")
        else:
            depth -= 1
    if root is None:  # pragma: no cover - expat reports an empty document as an error
        raise ValueError("no root element")
    return root


def _strip_leading_blanks(body: bytes) -> bytes:
    """Blank lines before the XML declaration are a common slip that expat refuses."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM: expat handles it
        return body
    bom = b"\xef\xbb\xbf" if body.startswith(b"\xef\xbb\xbf") else b""
    return body[len(bom) :].lstrip(b" \t\r\n")


def parse_rsl(outcome: FetchOutcome, body: bytes, status: int | None) -> RslDocument:
    """What a fetch of an RSL licence says; never raises (the rule is the module docstring)."""
    if outcome is not FetchOutcome.OK:
        template = _OUTCOME_PROBLEM.get(outcome, "the licence could not be fetched")
        return _unreadable(outcome, status, template.format(status=status or "an error"))
    if len(body) > MAX_RSL_BYTES:
        return _unreadable(outcome, status, f"the licence is larger than {MAX_RSL_BYTES} bytes")
    body = _strip_leading_blanks(body)
    if not body:
        return _unreadable(outcome, status, "the licence is empty")
    try:
        root = _parse_tree(body)
    except _TooBig as error:
        return _unreadable(outcome, status, f"the licence has {error}")
    except DefusedXmlException as error:
        return _unreadable(outcome, status, f"the licence declares a DTD or entities ({error})")
    except Exception as error:  # any other failure of the XML stack means "not RSL"
        # ParseError (not XML, binary, a bad encoding) and anything else expat raises.
        return _unreadable(outcome, status, f"not a well-formed XML document ({error})"[:300])
    namespace = ""
    local = root.tag
    if local.startswith("{"):
        namespace, _, local = local[1:].partition("}")
    if local != "rsl":
        return _unreadable(outcome, status, f"the root element is <{local[:40]}>, not <rsl>")
    if namespace not in (RSL_NAMESPACE, ""):
        return _unreadable(outcome, status, f"the root element is in namespace {namespace[:100]!r}")
    reader = _Reader(namespace)
    try:
        elements = list(reader.children(root, "content"))
        if len(elements) > MAX_CONTENTS:
            raise _TooBig(f"more than {MAX_CONTENTS} content elements")
        contents = tuple(reader.content(e) for e in elements)
    except _TooBig as error:
        return _unreadable(outcome, status, f"the licence has {error}")
    if not contents:
        return _unreadable(outcome, status, "the licence has no <content> element")
    return RslDocument(
        outcome,
        status,
        contents=contents,
        namespaced=bool(namespace),
        unknown_usages=tuple(reader.unknown),
        size=reader.size + 100 * len(reader.unknown),
    )


# --- which content elements apply to a URL -------------------------------------------------


def _host_port(origin_or_url: str) -> tuple[str, int | None]:
    parts = urlsplit(origin_or_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return (parts.hostname or "").lower(), None if port == default else port


def _applies(content: RslContent, origin: str, path_query: str) -> bool:
    """Whether ``content`` names the URL ``origin`` + ``path_query`` (normalised)."""
    pattern = content.url
    if not pattern:
        return True  # a content element without url: read as naming every asset
    if "://" in pattern:
        parts = urlsplit(pattern)
        # The same host (and explicit port) names the asset; the scheme is not compared, so a
        # licence written for http:// also covers the https:// site (the stricter reading).
        if _host_port(pattern) != _host_port(origin):
            return False
        pattern = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    elif not pattern.startswith(("/", "*")):
        return True  # neither a URL nor a path: we cannot tell what it names, so everything
    rule = make_rule(False, pattern, 1)
    return rule is None or rule.matches(path_query)


# --- reading the terms onto purposes --------------------------------------------------------


def _judge(content: RslContent, purpose: Purpose) -> tuple[_Verdict, str]:
    """The verdict of one content element for one purpose, and why (for the detail)."""
    where = f"content {content.url!r}" if content.url is not None else "content"
    for term in content.licenses:
        for value in term.prohibits:
            if purpose in USAGE_RESERVES.get(value, NOTHING):
                return _Verdict.PROHIBITED, f"{where} prohibits {value}"
    offers = [
        lic
        for lic in content.licenses
        if lic.permits is None or any(purpose in USAGE_GRANTS.get(v, NOTHING) for v in lic.permits)
    ]
    if not offers:
        return _Verdict.NOT_PERMITTED, f"{where} does not license {purpose.value}"
    server = content.server or next((lic.server for lic in offers if lic.server), None)
    if server:
        return _Verdict.LICENSE_SERVER_REQUIRED, f"{where}: obtain a licence from {server}"
    open_offers = [lic for lic in offers if lic.free and not lic.conditions]
    if open_offers:
        explicit = [lic for lic in open_offers if lic.permits is not None]
        if not explicit:
            return _Verdict.IMPLIED, ""
        attribution = all(any(p.type == "attribution" for p in lic.payments) for lic in explicit)
        return _Verdict.PERMITTED, f"{where} permits {purpose.value}" + (
            " (attribution required)" if attribution else ""
        )
    paid = [lic for lic in offers if not lic.free]
    if paid:
        terms = sorted(
            {p.type or "unspecified" for lic in paid for p in lic.payments if not p.free}
        )
        links = [u for lic in paid for p in lic.payments for u in (*p.standard, *p.custom) if u]
        how = f"; terms at {links[0]}" if links else ""
        return _Verdict.PAYMENT_REQUIRED, f"{where}: payment ({', '.join(terms)}){how}"
    conditions = sorted({c for lic in offers for c in lic.conditions})
    return _Verdict.RESTRICTED, f"{where}: free only under {'; '.join(conditions)}"


def document_findings(
    url: str, document: RslDocument, origin: str, path_query: str
) -> list[Finding]:
    """The findings of one readable licence (``url``) for one URL of ``origin``."""
    applicable = [c for c in document.contents if _applies(c, origin, path_query)]
    if not applicable:
        return [note(RslReason.NOT_COVERED, f"{url}: no <content> element names {path_query}")]
    by_verdict: dict[_Verdict, tuple[list[Purpose], list[str]]] = {}
    for purpose in Purpose:
        # Every content element naming the URL applies; the most restrictive one decides.
        verdict, why = min((_judge(c, purpose) for c in applicable), key=lambda item: item[0])
        if verdict is _Verdict.IMPLIED:
            continue
        purposes, details = by_verdict.setdefault(verdict, ([], []))
        purposes.append(purpose)
        if why not in details:
            details.append(why)
    findings: list[Finding] = []
    for verdict in sorted(by_verdict):
        purposes, details = by_verdict[verdict]
        chosen = frozenset(purposes)
        allowing = verdict is _Verdict.PERMITTED
        findings.append(
            Finding(
                _VERDICT_REASON[verdict],
                reserves=NOTHING if allowing else chosen,
                allows=chosen if allowing else NOTHING,
                license=url,
                detail=f"{url}: " + "; ".join(details),
            )
        )
    unknown = sorted(
        {
            value
            for content in applicable
            for lic in content.licenses
            for value in (*(lic.permits or ()), *lic.prohibits)
            if value not in USAGE_GRANTS
        }
    )
    if unknown:
        findings.append(note(RslReason.UNKNOWN_USAGE, f"{url}: {', '.join(unknown)}"))
    return findings


def _unreadable_finding(url: str, why: str) -> Finding:
    return Finding(RslReason.UNREADABLE, reserves=ALL_PURPOSES, license=url, detail=f"{url}: {why}")


def _linked_document(linked: Mapping[str, Document], url: str) -> RslDocument | None:
    document = linked.get(url)
    parsed = document.parsed if document is not None else None
    return parsed if isinstance(parsed, RslDocument) else None


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _http_url(base: str, value: str) -> str | None:
    """``value`` resolved against ``base``, when it is an http(s) URL with a host."""
    value = value.strip().strip("<>").strip()
    if not value or len(value) > MAX_TEXT_CHARS:
        return None
    try:
        absolute = urljoin(base, value)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts._replace(fragment="").geturl()


# --- before the fetch: robots.txt License lines --------------------------------------------


def _license_lines(site: Site) -> list[Extension]:
    document = site.document("robots_txt")
    rules = document.parsed if document is not None else None
    if not isinstance(rules, RobotsRules) or rules.robots is None:
        return []
    robots = rules.robots
    in_groups, file_level = robots.extensions_for(site.token, "license")
    if in_groups:
        return in_groups  # the lines of the groups that apply to us override file-level ones
    if file_level:
        return file_level
    # RSL calls License global (not tied to a user agent), so a line inside a group that does
    # not apply to us still applies when nothing else does (the stricter reading).
    return [e for g in robots.groups for e in g.extensions if e.key == "license"]


def _license_urls(site: Site) -> list[str]:
    """The licence URLs of the site, in file order, each once (MAX_LINKS + 1 at most: one more
    than we read, so that an excess can be reported)."""
    urls: list[str] = []
    for line in _license_lines(site):
        url = _http_url(site.origin + "/", line.value)
        if url is not None and url not in urls:
            urls.append(url)
            if len(urls) > MAX_LINKS:
                break
    return urls


class RslSiteCheck:
    """The RSL licences an origin's robots.txt names (``License:``), for one URL."""

    name = "rsl"
    documents: tuple[str, ...] = ("robots_txt",)

    def linked(self, site: Site) -> Iterable[tuple[str, str]]:
        return [(KIND, url) for url in _license_urls(site)[:MAX_LINKS]]

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        urls = _license_urls(site)
        findings: list[Finding] = []
        for url in urls[:MAX_LINKS]:
            document = _linked_document(site.linked, url)
            if document is None:
                findings.append(_unreadable_finding(url, "the licence was not fetched"))
            elif not document.readable:
                findings.append(_unreadable_finding(url, document.problem or "unreadable"))
            else:
                findings.extend(document_findings(url, document, site.origin, path_query))
        if len(urls) > MAX_LINKS:
            # More licences than we read: the unread ones could reserve, so fail closed.
            findings.append(
                _unreadable_finding(
                    urls[MAX_LINKS], f"more License lines than the {MAX_LINKS} we read"
                )
            )
        return _unique(findings)


# --- after the fetch: Link: rel="license" ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebLink:
    """One link of a ``Link`` header (RFC 8288): its target as written and its parameters."""

    target: str
    params: tuple[tuple[str, str], ...]  # (lowercased name, value), first occurrence only

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    @property
    def rels(self) -> list[str]:
        return (self.param("rel") or "").lower().split()


_TOKEN_END = frozenset(";,= \t")


def parse_link_header(value: str) -> list[WebLink]:
    """The links of one ``Link`` field value (RFC 8288 §3); malformed parts are skipped."""
    text = value[:MAX_LINK_HEADER_CHARS]
    links: list[WebLink] = []
    i, n = 0, len(text)
    while i < n and len(links) < 64:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        if text[i] != "<":
            # Not a link-value: skip to the next comma outside a quoted string.
            i = _skip_value(text, i)
            continue
        end = text.find(">", i + 1)
        if end < 0:
            break
        target = text[i + 1 : end]
        i = end + 1
        params: list[tuple[str, str]] = []
        while True:
            while i < n and text[i] in " \t":
                i += 1
            if i >= n or text[i] != ";":
                break
            i += 1
            while i < n and text[i] in " \t":
                i += 1
            start = i
            while i < n and text[i] not in _TOKEN_END:
                i += 1
            name = text[start:i].lower()
            while i < n and text[i] in " \t":
                i += 1
            param = ""
            if i < n and text[i] == "=":
                i += 1
                while i < n and text[i] in " \t":
                    i += 1
                if i < n and text[i] == '"':
                    param, i = _quoted(text, i)
                else:
                    start = i
                    while i < n and text[i] not in ";,":
                        i += 1
                    param = text[start:i].strip()
            if name.endswith("*"):  # RFC 8187 extended value: charset'lang'pct-encoded
                name = name[:-1]
                param = _extended(param)
            # RFC 8288 §3.3: occurrences of a parameter after the first are ignored.
            if name and all(k != name for k, _ in params):
                params.append((name, param))
        links.append(WebLink(target, tuple(params)))
        i = _skip_value(text, i)
    return links


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The quoted-string starting at ``text[i] == '"'``, unescaped, and the index after it."""
    out: list[str] = []
    i += 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def _skip_value(text: str, i: int) -> int:
    """The index of the next comma at or after ``i`` outside quotes (or the end)."""
    quoted = False
    while i < len(text):
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and quoted:
            i += 1
        elif char == "," and not quoted:
            return i
        i += 1
    return i


def _extended(value: str) -> str:
    parts = value.split("'", 2)
    if len(parts) != 3:
        return value
    try:
        return unquote(parts[2], encoding=parts[0] or "utf-8", errors="replace")
    except LookupError:
        return unquote(parts[2])


@dataclass(frozen=True, slots=True)
class LicenseLink:
    url: str  # absolute
    typed: bool  # type="application/rsl+xml" was given: an RSL licence by declaration
    source: str  # "header" or "html"


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def license_links(asset: Asset) -> list[LicenseLink]:
    """The rel="license" links of ``asset`` that may be RSL (typed ones first), at most
    MAX_LINKS + 1 (one more than we read, so that an excess can be reported)."""
    base = asset.final_url or asset.url
    typed: list[LicenseLink] = []
    untyped: list[LicenseLink] = []
    for value in asset.header("link"):
        for link in parse_link_header(value):
            if "license" not in link.rels:
                continue
            kind = link.param("type")
            if kind is not None and _media_type(kind) != RSL_MEDIA_TYPE:
                continue  # typed as something else (text/html, ...): not an RSL licence
            url = _http_url(base, link.target)
            if url is not None:
                (typed if kind is not None else untyped).append(
                    LicenseLink(url, kind is not None, "header")
                )
    if asset.html:
        for rel, href in asset.html_facts.links:
            if "license" in rel.split():
                url = _http_url(base, href)
                if url is not None:
                    # HtmlFacts keeps no type attribute: every HTML link is read as untyped.
                    untyped.append(LicenseLink(url, False, "html"))
    chosen: dict[str, LicenseLink] = {}
    for found in (*typed, *untyped):
        if found.url not in chosen:
            chosen[found.url] = found
    return list(chosen.values())[: MAX_LINKS + 1]


def _asset_origin_path(asset: Asset) -> tuple[str, str]:
    parts = urlsplit(asset.final_url or asset.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path or "/"
    return origin, normalise_path(path + (f"?{parts.query}" if parts.query else ""))


class RslAssetCheck:
    """RSL licences a response links to (``Link: rel="license"``, ``<link rel="license">``)."""

    name = "rsl_asset"

    def linked(self, asset: Asset) -> Iterable[tuple[str, str]]:
        return [(KIND, link.url) for link in license_links(asset)[:MAX_LINKS]]

    def check(self, asset: Asset) -> Iterable[Finding]:
        links = license_links(asset)
        origin, path_query = _asset_origin_path(asset)
        findings: list[Finding] = []
        for link in links[:MAX_LINKS]:
            document = _linked_document(asset.linked, link.url)
            if document is not None and document.readable:
                findings.extend(document_findings(link.url, document, origin, path_query))
                continue
            why = (
                "the licence was not fetched"
                if document is None
                else document.problem or "unreadable"
            )
            if link.typed:
                findings.append(_unreadable_finding(link.url, why))
            else:
                findings.append(
                    note(RslReason.LINK_IGNORED, f"{link.url} ({link.source}): not RSL: {why}")
                )
        if len(links) > MAX_LINKS:
            excess = links[MAX_LINKS]  # typed links come first: an untyped one means no more
            why = f"more rel=license links than the {MAX_LINKS} we read"
            if excess.typed:
                findings.append(_unreadable_finding(excess.url, why))
            else:
                findings.append(note(RslReason.LINK_IGNORED, f"{excess.url}: {why}"))
        return _unique(findings)


# --- the row of the signals table -----------------------------------------------------------

_PURPOSES = (
    "Usage values (RSL 1.0 §3.4.1) onto purposes. A prohibition reserves: all -> train-ai, "
    "ai-input, search; ai-all -> train-ai, ai-input; ai-train -> train-ai; ai-input -> ai-input; "
    "ai-index -> ai-input; search -> search. A permission grants the same, except ai-index, "
    "which grants none of our purposes (an AI search index is narrower than ai-input and is not "
    "a plain search index). Draft labels train-ai/train-genai read as ai-train, ai-use as "
    "ai-input; other values are recorded (rsl.unknown_usage) and grant nothing."
)

_READING = (
    "Every <content> whose url names the URL applies (RFC 9309 patterns; a full URL must name "
    "the same host; a missing or unintelligible url names every URL), and the most restrictive "
    "wins. Within one <content> the <license> elements are alternative term sets: a purpose is "
    "prohibited when any of them prohibits it (even if another grants it), not licensed when "
    "none grants it (a term set without a usage list grants every use it does not prohibit, "
    "which gives no finding), needs the license server when the content names one (even for "
    "free terms), is permitted when a term set grants it free (payment free or attribution, or "
    "no payment) with no user/geo condition, needs payment when only priced term sets grant it "
    "(an unknown or missing payment type is a price), and is restricted when only conditioned "
    "free term sets do. A licence that names no <content> for the URL says nothing about it "
    "(rsl.not_covered). Our crawls are read as commercial use: a user list that grants "
    "commercial (or a prohibition that does not name it) is no condition for us; any other user"
    " or geo list is one. robots.txt: the License lines of the groups applying to our token, "
    "else the file-level ones, else those of any group (License is global in RSL); relative "
    "values resolve against the origin; at most 8 licences are read, more are refused. "
    "Unreadable licences (any fetch failure, 4xx included, not XML, DTD/entities, other root or"
    " namespace, more than 512 KiB or 20,000 elements) refuse the fetch. A root <rsl> without "
    "namespace is read like the namespaced one. Links: rel lists and quoted parameters per RFC "
    "8288; typed links must be application/rsl+xml (others are not fetched); untyped links and "
    "HTML <link> elements count only when their target parses as RSL, and are otherwise noted "
    "(rsl.link_ignored)."
)

SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo(
        name="RSL 1.0 licence (robots.txt License:)",
        where="the licences named by robots.txt License: lines, before the fetch",
        source="Really Simple Licensing (RSL) 1.0, https://rslstandard.org/rsl",
        reasons={
            RslReason.PROHIBITED: "a licence prohibits the purpose",
            RslReason.NOT_PERMITTED: "the licences grant other uses only",
            RslReason.PAYMENT_REQUIRED: "the purpose is licensed only against payment",
            RslReason.LICENSE_SERVER_REQUIRED: "a licence must be obtained from a license server",
            RslReason.RESTRICTED: "free only to some users or regions",
            RslReason.PERMITTED: "a licence grants the purpose free of charge",
            RslReason.UNREADABLE: "the licence cannot be fetched or read: the fetch is refused",
            RslReason.NOT_COVERED: "note: the licence names no content for the URL",
            RslReason.UNKNOWN_USAGE: "note: a usage value outside the RSL vocabulary",
        },
        purposes=_PURPOSES,
        reading=_READING,
    ),
    SignalInfo(
        name='RSL 1.0 licence (Link: rel="license")',
        where='Link: rel="license" headers and <link rel="license"> elements, after the fetch',
        source="Really Simple Licensing (RSL) 1.0, https://rslstandard.org/rsl; RFC 8288",
        reasons={
            RslReason.PROHIBITED: "a linked licence prohibits the purpose",
            RslReason.NOT_PERMITTED: "the linked licences grant other uses only",
            RslReason.PAYMENT_REQUIRED: "the purpose is licensed only against payment",
            RslReason.LICENSE_SERVER_REQUIRED: "a licence must be obtained from a license server",
            RslReason.RESTRICTED: "free only to some users or regions",
            RslReason.PERMITTED: "a linked licence grants the purpose free of charge",
            RslReason.UNREADABLE: "a link typed application/rsl+xml cannot be read: discarded",
            RslReason.NOT_COVERED: "note: the licence names no content for the URL",
            RslReason.UNKNOWN_USAGE: "note: a usage value outside the RSL vocabulary",
            RslReason.LINK_IGNORED: "note: an untyped licence link that is not RSL",
        },
        purposes=_PURPOSES,
        reading=_READING,
    ),
)

__all__ = [
    "KIND",
    "RSL_MEDIA_TYPE",
    "RSL_NAMESPACE",
    "SIGNALS",
    "USAGE_GRANTS",
    "USAGE_RESERVES",
    "LicenseLink",
    "RslAssetCheck",
    "RslContent",
    "RslDocument",
    "RslLicense",
    "RslPayment",
    "RslReason",
    "RslSiteCheck",
    "WebLink",
    "document_findings",
    "license_links",
    "parse_link_header",
    "parse_rsl",
]
