"""Access control as an asset check: was the response lawfully accessible at all?

The GPAI Code of Practice asks a crawler to reproduce only lawfully accessible content and never
to circumvent a paywall, a login or a subscription wall. Our crawler sends no cookies and no
credentials, so it never passes such a wall; what this check does is make sure that what a wall
*answered* (a 401 page, a login form, a teaser marked as paywalled) is never kept either. Every
finding here is a :func:`~optout_service.checks.base.refusal`: it reserves every purpose.

**Status codes** (RFC 9110 section 15.5, RFC 7725):

====== ================================= =====================================================
status reason code                       why it is refused
====== ================================= =====================================================
401    ``access.auth_required``          the resource needs credentials we do not send
402    ``access.payment_required``       payment is asked for; Cloudflare's pay per crawl
                                         answers 402 with ``crawler-price`` (the price goes into
                                         the detail). A ``crawler-price`` quote on any other
                                         status is read the same way (stricter reading).
403    ``access.forbidden``              the server refuses us (``crawler-error`` is recorded)
407    ``access.proxy_auth_required``    a proxy on the way asks for credentials: the body is
                                         the proxy's, not the asset; never kept
451    ``access.legal_reasons``          unavailable for legal reasons (RFC 7725): the origin
                                         states a legal block; its ``Link: rel="blocked-by"``
                                         is recorded
====== ================================= =====================================================

**Redirect to a login or subscribe page** (``access.login_redirect``). ``Asset.redirects`` lists
the URLs before ``Asset.final_url``. A redirect *to another page* is one whose final host or path
differs from the requested one (scheme, a leading ``www.``, a trailing slash and case are
ignored: ``http://x/a`` -> ``https://www.x/a/`` is the same page). The signals, read on the final
URL and page:

==================== ==========================================================================
signal               what counts
==================== ==========================================================================
gate endpoint        a path segment (extension such as ``.php`` dropped) that is a login
(strong)             endpoint: ``login``, ``log-in``, ``signin``, ``sign-in``, ``logon``,
                     ``wp-login``, ``authorize``, ``authenticate`` (and ``_`` spellings); or,
                     reached by a redirect only, a gate: ``subscribe``, ``paywall``,
                     ``register``, ``signup``
word in the URL      one of login, log-in, signin, sign-in, logon, auth, oauth, sso, saml,
                     openid, subscribe, paywall, register, signup, account, session as a whole
                     word of the final path, of a query parameter name or short value, or of
                     the first host label (``login.example.com``); a word that the requested
                     URL already had does not count (a slug that changed is no wall)
return parameter     a query parameter such as ``next``, ``return``, ``returnTo``,
                     ``redirect_uri``, ``continue``, ``came_from`` whose value names the
                     requested path (or host): the page sends the reader back after the wall
password input       ``<input type=password>`` in the page (``HtmlFacts.forms_with_password``)
sign-in title        a part of the ``<title>`` (split at bars, dashes, middle dots, guillemets)
                     that *is* a sign-in phrase: "Log in", "Sign in to Example", "Account login",
                     "Subscribe to The Daily", not one that merely mentions it ("How to log in
                     to your router")
==================== ==========================================================================

The rule: **redirected to another page** and (a gate endpoint, or at least **two** of the other
four signals) -> refused. **Not redirected** (or redirected to the same page): refused only when
the URL is a login endpoint *and* the page shows a password input or a sign-in title; a page at a
gate or one that merely mentions logging in is not refused. Intermediate hops are not read: a
response served to our anonymous request at its final URL is what we keep or drop.

**Paywall markup** (``access.paywall_markup``). Google's structured data for subscription and
paywalled content marks a page, or parts of it (``hasPart`` ``WebPageElement``), with the
schema.org property ``isAccessibleForFree: false``, in JSON-LD or microdata. Any node of a JSON-LD
block (arrays, ``@graph``, nested ``hasPart``) or any microdata ``itemprop`` stating it refuses the
page: what the page served may be the paywalled text hidden by a script, and keeping it would be
taking what a paywall protects. Values read as false: ``false``, ``"false"``/``"False"`` (any
case), ``https://schema.org/False``, ``schema:False``, ``{"@value": ...}`` of those, and a list
holding one of them. JSON is parsed with a depth limit and a node budget; a malformed block is
skipped, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlsplit

from optout_service.checks.base import Asset, Finding, NoLinks, SignalInfo, refusal

# JSON-LD walk bounds: blocks are already capped in size by read_html; these bound the work on a
# block that is small but deeply nested or very wide.
MAX_JSON_DEPTH = 32
MAX_JSON_NODES = 20_000
# Characters of a header value or a title copied into a finding's detail.
_DETAIL_CHARS = 120


class AccessReason(StrEnum):
    """Reason codes of :class:`AccessCheck` (the first three are ``Reason`` members too)."""

    AUTH_REQUIRED = "access.auth_required"  # HTTP 401: credentials required
    PAYMENT_REQUIRED = "access.payment_required"  # HTTP 402, or a pay-per-crawl price quote
    FORBIDDEN = "access.forbidden"  # HTTP 403
    PROXY_AUTH_REQUIRED = "access.proxy_auth_required"  # HTTP 407: a proxy's answer, not ours
    LEGAL_REASONS = "access.legal_reasons"  # HTTP 451: unavailable for legal reasons
    LOGIN_REDIRECT = "access.login_redirect"  # redirected to (or served) a login/subscribe page
    PAYWALL_MARKUP = "access.paywall_markup"  # schema.org isAccessibleForFree: false


_STATUS_REASONS: dict[int, AccessReason] = {
    401: AccessReason.AUTH_REQUIRED,
    402: AccessReason.PAYMENT_REQUIRED,
    403: AccessReason.FORBIDDEN,
    407: AccessReason.PROXY_AUTH_REQUIRED,
    451: AccessReason.LEGAL_REASONS,
}

# Cloudflare pay per crawl: the price of a 402 (``crawler-price``), the error name of a refused
# paid request (``crawler-error``), the receipt of a paid one (``crawler-charged``).
_PAY_PER_CRAWL_HEADERS = ("crawler-price", "crawler-error", "crawler-charged")


def _clip(value: str, limit: int = _DETAIL_CHARS) -> str:
    """A header value fit for a detail: control characters dropped, bounded length."""
    clean = "".join(ch if ch.isprintable() else " " for ch in value).strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _headers_detail(asset: Asset, names: Iterable[str]) -> list[str]:
    return [f"{name}: {_clip(value)}" for name in names for value in asset.header(name)]


def status_findings(asset: Asset) -> list[Finding]:
    """The refusals the status line (and the pay-per-crawl headers) of ``asset`` make."""
    found: list[Finding] = []
    reason = _STATUS_REASONS.get(asset.status)
    if reason is not None:
        parts = [f"HTTP {asset.status}"]
        if asset.status == 401:
            # Only the scheme: a challenge's parameters (realm, nonce) say nothing we need.
            parts += [
                f"WWW-Authenticate: {_clip(v.strip().split(' ', 1)[0], 40)}"
                for v in asset.header("www-authenticate")
            ]
        elif asset.status == 451:
            parts += [f"Link: {_clip(v)}" for v in asset.header("link") if "blocked-by" in v]
        parts += _headers_detail(asset, _PAY_PER_CRAWL_HEADERS)
        found.append(refusal(reason, "; ".join(parts)))
    prices = asset.header("crawler-price")
    if prices and asset.status != 402:
        # A price quote is a request for payment whatever the status says (stricter reading).
        detail = f"pay per crawl price on HTTP {asset.status}; " + "; ".join(
            _headers_detail(asset, ("crawler-price",))
        )
        found.append(refusal(AccessReason.PAYMENT_REQUIRED, detail))
    return found


# --- login and subscribe walls -------------------------------------------------------------

# Path segments that are a login endpoint wherever they are met.
LOGIN_ENDPOINTS = frozenset(
    {
        "login",
        "log-in",
        "log_in",
        "signin",
        "sign-in",
        "sign_in",
        "logon",
        "log-on",
        "wp-login",
        "authorize",
        "authenticate",
    }
)
# Path segments that are a gate when a redirect leads there (a subscribe page met directly is
# just a page).
GATE_ENDPOINTS = frozenset({"subscribe", "paywall", "register", "signup", "sign-up"})
_EXTENSION = re.compile(r"\.(?:php\d?|aspx?|html?|jspx?|do|action|cgi|pl)$")
_WORDS = re.compile(
    r"(?<![a-z0-9])(login|log-in|log_in|signin|sign-in|sign_in|logon|oauth2?|auth|sso|saml|"
    r"openid|subscribe|paywall|register|signup|sign-up|account|session)(?![a-z0-9])"
)
# Query parameters that carry "where to go back to" after a wall (lowercased, "_" and "-" gone).
_RETURN_KEYS = frozenset(
    {
        "next",
        "return",
        "returnto",
        "returnurl",
        "returnpath",
        "redirect",
        "redirectto",
        "redirecturi",
        "redirecturl",
        "continue",
        "dest",
        "destination",
        "goto",
        "target",
        "from",
        "back",
        "backurl",
        "camefrom",
        "origin",
        "successurl",
        "service",
    }
)
# Title separators: hyphen, en and em dash, bar, middle dot, bullet, colon, guillemets.
_SEP = "|\u00b7\u2022\u00ab\u00bb\u2039\u203a"
_TITLE_SEPARATORS = re.compile(rf"\s[-\u2013\u2014:{_SEP}]\s|[{_SEP}]")
_SIGN_IN = r"(?:sign|log)[\s_-]?(?:in|on)|login|logon|signin"
_TITLE_PHRASES = re.compile(
    rf"^(?:please\s+)?(?:{_SIGN_IN})(?:\s+required)?(?:\s+(?:to|with|into)\b.*)?$"
    rf"|^(?:account|member|members|user|customer|secure|subscriber)\s+(?:{_SIGN_IN})$"
    r"|^subscribe(?:\s+(?:now|today|to\b.*))?$"
    r"|^(?:subscription|login|sign[\s-]?in)\s+required$"
)


@dataclass(frozen=True, slots=True)
class LoginEvidence:
    """What the final URL and page say about a wall, for :func:`is_login_wall`."""

    redirected: bool  # redirected to another page (not a scheme/host/slash change)
    login_endpoint: str | None  # the path segment that is a login endpoint
    gate_endpoint: str | None  # the path segment that is a subscribe/register gate
    words: tuple[str, ...]  # login words new in the final URL
    return_param: str | None  # the query parameter naming the requested URL
    password_inputs: int
    title: str | None  # the title part that is a sign-in phrase

    @property
    def other_signals(self) -> int:
        """How many of the four non-endpoint signals are present."""
        return sum(
            (bool(self.words), self.return_param is not None, self.password_inputs > 0,
             self.title is not None)
        )  # fmt: skip

    def describe(self) -> str:
        parts = ["redirected" if self.redirected else "not redirected"]
        if self.login_endpoint:
            parts.append(f"login endpoint {self.login_endpoint!r}")
        if self.gate_endpoint:
            parts.append(f"gate {self.gate_endpoint!r}")
        if self.words:
            parts.append("words " + ", ".join(self.words))
        if self.return_param:
            parts.append(f"return parameter {self.return_param!r}")
        if self.password_inputs:
            parts.append("password input")
        if self.title:
            parts.append(f"title {_clip(self.title, 60)!r}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _UrlParts:
    host: str  # lowercased, without port and a leading "www."
    first_label: str
    path: str  # unquoted, lowercased, without a trailing slash ("/" stays)
    query: list[tuple[str, str]]


def _url_parts(url: str) -> _UrlParts | None:
    try:
        split = urlsplit(url.strip())
        host = (split.hostname or "").lower()
    except ValueError:
        return None
    bare = host[4:] if host.startswith("www.") else host
    path = unquote(split.path).lower().rstrip("/") or "/"
    query = parse_qsl(split.query, keep_blank_values=True)
    return _UrlParts(bare, host.split(".", 1)[0], path, query)


def _words(parts: _UrlParts) -> set[str]:
    """Login words of a URL: path, parameter names, short non-URL values, first host label."""
    texts = [parts.path, parts.first_label]
    for key, value in parts.query:
        texts.append(key.lower())
        if "/" not in value and len(value) <= 40:
            texts.append(value.lower())
    return {m.group(1) for text in texts for m in _WORDS.finditer(text)}


def _return_param(final: _UrlParts, requested: _UrlParts) -> str | None:
    for key, value in final.query:
        if key.lower().replace("_", "").replace("-", "") not in _RETURN_KEYS:
            continue
        target = unquote(value).lower()
        if requested.path != "/" and requested.path in target:
            return key
        if requested.host and requested.host in target:
            return key
    return None


def _sign_in_title(title: str) -> str | None:
    for part in _TITLE_SEPARATORS.split(title):
        text = " ".join(part.split()).lower()
        if text and _TITLE_PHRASES.match(text):
            return text
    return None


def login_evidence(asset: Asset) -> LoginEvidence | None:
    """Read the login signals of ``asset``; None when its URLs cannot be read."""
    final = _url_parts(asset.final_url or asset.url)
    requested = _url_parts(asset.url)
    if final is None or requested is None:
        return None
    redirected = bool(asset.redirects) and (final.host, final.path) != (
        requested.host,
        requested.path,
    )
    segments = [_EXTENSION.sub("", s) for s in final.path.split("/") if s]
    login = next((s for s in segments if s in LOGIN_ENDPOINTS), None)
    gate = next((s for s in segments if s in GATE_ENDPOINTS), None)
    words = tuple(sorted(_words(final) - _words(requested))) if redirected else ()
    facts = asset.html_facts
    return LoginEvidence(
        redirected=redirected,
        login_endpoint=login,
        gate_endpoint=gate,
        words=words,
        return_param=_return_param(final, requested) if redirected else None,
        password_inputs=facts.forms_with_password,
        title=_sign_in_title(facts.title) if facts.title else None,
    )


def is_login_wall(evidence: LoginEvidence) -> bool:
    """The rule of the module docstring's table."""
    if evidence.redirected:
        if evidence.login_endpoint or evidence.gate_endpoint:
            return True
        return evidence.other_signals >= 2
    page_signal = evidence.password_inputs > 0 or evidence.title is not None
    return evidence.login_endpoint is not None and page_signal


# --- paywall structured data -----------------------------------------------------------------

_FALSE_IRIS = ("schema.org/false", "schema:false")
_PROPERTY = "isaccessibleforfree"


def _is_property(key: str) -> bool:
    lowered = key.strip().lower()
    # Plain, compact ("schema:isAccessibleForFree") or full IRI forms of the property.
    return lowered == _PROPERTY or re.split(r"[/#:]", lowered)[-1] == _PROPERTY


def is_false(value: object, _depth: int = 0) -> bool:
    """True when a schema.org Boolean value reads as false (see the module docstring)."""
    if value is False:
        return True
    if isinstance(value, str):
        text = value.strip().lower()
        return text == "false" or text.endswith(_FALSE_IRIS)
    if _depth > 2:
        return False
    if isinstance(value, dict):
        inner = value.get("@value", value.get("@id"))
        return inner is not None and is_false(inner, _depth + 1)
    if isinstance(value, list):
        return any(is_false(item, _depth + 1) for item in value[:8])
    return False


def _json_block(text: str) -> object | None:
    """A JSON-LD block parsed, or None when it is not JSON (never raises)."""
    body = text.strip()
    # Old templates wrap scripts in HTML comments or CDATA sections.
    for start, end in (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")):
        if body.startswith(start) and body.endswith(end):
            body = body[len(start) : -len(end)].strip()
    try:
        data: object = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data


def _type_of(node: dict[str, object]) -> str:
    kind = node.get("@type")
    if isinstance(kind, list) and kind:
        kind = kind[0]
    return kind if isinstance(kind, str) else "?"


def _paywalled_nodes(root: object) -> Iterator[str]:
    """Where in ``root`` a node states isAccessibleForFree false (a readable path each)."""
    stack: list[tuple[object, int, str]] = [(root, 0, "$")]
    budget = MAX_JSON_NODES
    while stack and budget > 0:
        node, depth, where = stack.pop()
        budget -= 1
        if depth > MAX_JSON_DEPTH:
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and _is_property(key) and is_false(value):
                    yield f"{where} ({_type_of(node)})"
            children = [
                (value, depth + 1, f"{where}.{key}")
                for key, value in node.items()
                if isinstance(value, (dict, list))
            ]
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(
                (item, depth + 1, f"{where}[{i}]")
                for i, item in reversed(list(enumerate(node)))
                if isinstance(item, (dict, list))
            )


def paywall_markup(asset: Asset) -> list[str]:
    """Every place of ``asset``'s structured data marking it as not free, in page order."""
    facts = asset.html_facts
    found: list[str] = []
    for number, block in enumerate(facts.jsonld, start=1):
        if _PROPERTY not in block.lower():  # cheap: skip parsing blocks that cannot say it
            continue
        data = _json_block(block)
        if data is not None:
            found += [f"JSON-LD block {number} {where}" for where in _paywalled_nodes(data)]
    for name, value in facts.itemprops:
        if _is_property(name) and is_false(value):
            found.append(f"microdata itemprop isAccessibleForFree={_clip(value, 40)!r}")
    return found


class AccessCheck(NoLinks):
    """Refuses what was not lawfully accessible: see the module docstring."""

    name = "access"

    def check(self, asset: Asset) -> Iterable[Finding]:
        found = status_findings(asset)
        evidence = login_evidence(asset)
        if evidence is not None and is_login_wall(evidence):
            where = asset.final_url or asset.url
            found.append(
                refusal(AccessReason.LOGIN_REDIRECT, f"{_clip(where)}: {evidence.describe()}")
            )
        places = paywall_markup(asset)
        if places:
            more = f" (and {len(places) - 1} more)" if len(places) > 1 else ""
            found.append(refusal(AccessReason.PAYWALL_MARKUP, places[0] + more))
        # One finding per code, first one kept: the answer must not list a reason twice.
        unique: dict[str, Finding] = {}
        for finding in found:
            unique.setdefault(finding.reason, finding)
        return tuple(unique.values())


_STATUS_SOURCE = (
    "RFC 9110 HTTP Semantics, section 15.5, https://www.rfc-editor.org/rfc/rfc9110#section-15.5; "
    "RFC 7725 (451), https://www.rfc-editor.org/rfc/rfc7725; Cloudflare pay per crawl, "
    "https://developers.cloudflare.com/ai-crawl-control/features/pay-per-crawl/"
    "use-pay-per-crawl-as-ai-owner/crawl-pages/"
)

SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo(
        name="HTTP access control (401, 402, 403, 407, 451, pay per crawl)",
        where="the status line and headers of every response, after the fetch",
        source=_STATUS_SOURCE,
        reasons={
            AccessReason.AUTH_REQUIRED: "HTTP 401: the resource needs credentials, which we "
            "never send",
            AccessReason.PAYMENT_REQUIRED: "HTTP 402, or a crawler-price header on any status "
            "(Cloudflare pay per crawl): the price is in the detail; we never pay",
            AccessReason.FORBIDDEN: "HTTP 403 (a pay-per-crawl crawler-error is in the detail)",
            AccessReason.PROXY_AUTH_REQUIRED: "HTTP 407: a proxy answered, not the origin",
            AccessReason.LEGAL_REASONS: "HTTP 451: unavailable for legal reasons (RFC 7725)",
        },
        purposes="a refusal for every purpose: nothing behind a wall is kept",
        reading="407 and 451 are refused like 401-403 (the body is not the asset); a "
        "crawler-price quote refuses the response even when the status is not 402",
    ),
    SignalInfo(
        name="Redirect to a login or subscribe page",
        where="the redirect chain, final URL, <title> and password inputs of a response",
        source="GPAI Code of Practice, copyright chapter (lawfully accessible content); "
        "heuristics documented in optout_service/checks/access.py",
        reasons={
            AccessReason.LOGIN_REDIRECT: "the request was redirected to a login, sign-in, "
            "SSO, subscribe or register page, or a login endpoint served a sign-in form",
        },
        purposes="a refusal for every purpose",
        reading="refused when redirected to another page that is a login endpoint or gate, or "
        "that shows two of: a login word new in the URL, a return-to parameter naming the "
        "requested URL, a password input, a sign-in title; a page at a login endpoint reached "
        "without redirect is refused only with a password input or sign-in title",
    ),
    SignalInfo(
        name="schema.org isAccessibleForFree: false (paywall markup)",
        where="JSON-LD blocks and microdata of the HTML, after the fetch",
        source="Google Search Central, structured data for subscription and paywalled content, "
        "https://developers.google.com/search/docs/appearance/structured-data/paywalled-content;"
        " https://schema.org/isAccessibleForFree",
        reasons={
            AccessReason.PAYWALL_MARKUP: "a node of the page's structured data (the page, a "
            "@graph member, a hasPart element) states isAccessibleForFree false",
        },
        purposes="a refusal for every purpose",
        reading="a paywalled part (hasPart) refuses the whole page: the served HTML may hold "
        "the protected text hidden by a script; false, 'false' in any case and "
        "schema.org/False all read as false; a malformed JSON-LD block is skipped",
    ),
)
