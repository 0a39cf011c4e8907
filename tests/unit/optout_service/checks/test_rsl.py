"""RSL 1.0 licences: the parser's fail-closed rule, the reading of terms onto purposes, the
robots.txt License: lines (site check) and Link: rel="license" pointers (asset check).

The examples come from the RSL pages at https://rslstandard.org (cited per case); the RSL 1.0
specification is https://rslstandard.org/rsl (section numbers as in that document)."""

from __future__ import annotations

import codecs
import time
from collections.abc import Sequence

import pytest

from optout_service.checks.base import Asset, Document, Finding, Site
from optout_service.checks.combine import combine
from optout_service.checks.rsl import (
    MAX_LINKS,
    MAX_RSL_BYTES,
    SIGNALS,
    USAGE_GRANTS,
    USAGE_RESERVES,
    RslAssetCheck,
    RslDocument,
    RslReason,
    RslSiteCheck,
    document_findings,
    license_links,
    parse_link_header,
    parse_rsl,
)
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules
from optout_service.purposes import ALL_PURPOSES, Purpose

TRAIN, INPUT, SEARCH = Purpose.TRAIN_AI, Purpose.AI_INPUT, Purpose.SEARCH
ORIGIN = "https://example.com"
LICENSE = "https://example.com/license.xml"
TOKEN = "examplebot"


def rsl(inner: str, root: str = '<rsl xmlns="https://rslstandard.org/rsl">') -> bytes:
    return f"{root}{inner}</rsl>".encode()


def ok(body: bytes) -> RslDocument:
    return parse_rsl(FetchOutcome.OK, body, 200)


def findings_for(body: bytes, path: str = "/", origin: str = ORIGIN) -> list[Finding]:
    document = ok(body)
    assert document.readable, document.problem
    return document_findings(LICENSE, document, origin, path)


def reading(findings: list[Finding]) -> dict[Purpose, str]:
    """Purpose -> the reason that reserves or allows it ("" when no finding speaks of it)."""
    out: dict[Purpose, str] = {}
    for purpose in Purpose:
        out[purpose] = next(
            (str(f.reason) for f in findings if purpose in f.reserves | f.allows), ""
        )
    return out


# --- the specification's examples ----------------------------------------------------------

P, NP, PAY, SRV = (
    "rsl.permitted",
    "rsl.not_permitted",
    "rsl.payment_required",
    ("rsl.license_server_required"),
)
PRO = "rsl.prohibited"

SPEC_EXAMPLES: list[tuple[str, bytes, dict[Purpose, str]]] = [
    # rslstandard.org/guide/getting-started, template "Prohibit AI training" (written there
    # with the draft label train-ai and typographic quotes around "/"; ASCII quotes here).
    # Other uses, search among them, stay licensed: no finding speaks of them.
    (
        "getting-started: prohibit AI training",
        rsl(
            '<content url="/"><license><prohibits type="usage">train-ai</prohibits>'
            "</license></content>"
        ),
        {TRAIN: PRO, INPUT: "", SEARCH: ""},
    ),
    # rslstandard.org/guide/getting-started, template "Allow AI training": a usage list
    # licenses what it names and nothing else (RSL 1.0 §3, conservative interpretation).
    (
        "getting-started: allow AI training",
        rsl(
            '<content url="/"><license><permits type="usage">train-ai</permits></license></content>'
        ),
        {TRAIN: P, INPUT: NP, SEARCH: NP},
    ),
    # rslstandard.org/guide/getting-started, "Allow AI training with usage reporting and
    # attribution": the content names an RSL License Server (RSL 1.0, <content> server attribute:
    # a licence must be obtained from it even when the licence is free).
    (
        "getting-started: license server and attribution",
        rsl(
            '<content url="/" server="https://rslcollective.org/api"><license>'
            '<permits type="usage">ai-train</permits><payment type="attribution"/>'
            "</license></content>"
        ),
        {TRAIN: SRV, INPUT: NP, SEARCH: NP},
    ),
    # rslstandard.org/guide/ai-preferences: train-ai licensed through a subscription whose
    # terms are negotiated at a contact form.
    (
        "ai-preferences guide: subscription",
        rsl(
            '<content url="/"><license><permits type="usage">train-ai</permits>'
            '<payment type="subscription"><custom>https://your-website.com/contact-form.html'
            "</custom></payment></license></content>"
        ),
        {TRAIN: PAY, INPUT: NP, SEARCH: NP},
    ),
    # RSL 1.0 §3.4: several <license> elements in one <content> are distinct term sets
    # (a free one for search and ai-input, an attribution one for ai-train).
    (
        "two term sets",
        rsl(
            '<content url="/"><license><permits type="usage">search ai-input</permits>'
            '<payment type="free"/></license><license><permits type="usage">ai-train'
            '</permits><payment type="attribution"><standard>https://example.com/terms'
            "</standard></payment></license></content>"
        ),
        {TRAIN: P, INPUT: P, SEARCH: P},
    ),
    # RSL 1.0 §3.5: the values of one <permits> are separated by spaces; ai-all covers
    # ai-train, ai-input and ai-index, all covers every use.
    (
        "prohibit ai-all, permit search",
        rsl(
            '<content url="/"><license><permits type="usage">search</permits>'
            '<prohibits type="usage">ai-all</prohibits></license></content>'
        ),
        {TRAIN: PRO, INPUT: PRO, SEARCH: P},
    ),
    (
        "permit all, free",
        rsl(
            '<content url="/"><license><permits type="usage">all</permits>'
            '<payment type="free"/></license></content>'
        ),
        {TRAIN: P, INPUT: P, SEARCH: P},
    ),
    (
        "prohibit all",
        rsl(
            '<content url="/"><license><prohibits type="usage">all</prohibits></license></content>'
        ),
        {TRAIN: PRO, INPUT: PRO, SEARCH: PRO},
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in SPEC_EXAMPLES], ids=[c[0] for c in SPEC_EXAMPLES]
)
def test_specification_examples(body: bytes, expected: dict[Purpose, str]) -> None:
    found = findings_for(body, "/articles/1")
    assert reading(found) == expected
    assert all(f.license == LICENSE for f in found)


def test_attribution_is_free_but_said_in_the_detail() -> None:
    body = SPEC_EXAMPLES[4][1]
    permitted = [f for f in findings_for(body) if f.reason == "rsl.permitted"]
    assert len(permitted) == 1
    assert permitted[0].allows == ALL_PURPOSES
    assert "permits train-ai (attribution required)" in (permitted[0].detail or "")
    assert "permits search (attribution" not in (permitted[0].detail or "")


def test_payment_detail_names_where_to_ask() -> None:
    found = findings_for(SPEC_EXAMPLES[3][1])
    paid = next(f for f in found if f.reason == "rsl.payment_required")
    assert paid.detail is not None
    assert "subscription" in paid.detail
    assert "contact-form.html" in paid.detail


# --- the usage vocabulary onto purposes (RSL 1.0 §3.4.1) ------------------------------------

VOCABULARY: list[tuple[str, frozenset[Purpose], frozenset[Purpose]]] = [
    # value, what prohibiting it reserves, what permitting it grants
    ("all", ALL_PURPOSES, ALL_PURPOSES),
    ("ai-all", frozenset({TRAIN, INPUT}), frozenset({TRAIN, INPUT})),
    ("ai-train", frozenset({TRAIN}), frozenset({TRAIN})),
    ("ai-input", frozenset({INPUT}), frozenset({INPUT})),
    ("ai-index", frozenset({INPUT}), frozenset()),
    ("search", frozenset({SEARCH}), frozenset({SEARCH})),
]


@pytest.mark.parametrize(("value", "reserves", "grants"), VOCABULARY)
def test_usage_vocabulary(
    value: str, reserves: frozenset[Purpose], grants: frozenset[Purpose]
) -> None:
    assert USAGE_RESERVES[value] == reserves
    assert USAGE_GRANTS[value] == grants
    prohibited = findings_for(
        rsl(
            f'<content url="/"><license><prohibits type="usage">{value}</prohibits>'
            "</license></content>"
        )
    )
    assert frozenset(p for p, r in reading(prohibited).items() if r == PRO) == reserves
    permitted = findings_for(
        rsl(
            f'<content url="/"><license><permits type="usage">{value}</permits></license></content>'
        )
    )
    assert frozenset(p for p, r in reading(permitted).items() if r == P) == grants
    assert frozenset(p for p, r in reading(permitted).items() if r == NP) == ALL_PURPOSES - grants


def test_unknown_usage_values_are_noted_and_grant_nothing() -> None:
    found = findings_for(
        rsl(
            '<content url="/"><license><permits type="usage">AI-Summaries, search</permits>'
            "</license></content>"
        )
    )
    assert reading(found) == {TRAIN: NP, INPUT: NP, SEARCH: P}
    notes = [f for f in found if f.reason == "rsl.unknown_usage"]
    assert len(notes) == 1
    assert notes[0].detail is not None
    assert "ai-summaries" in notes[0].detail
    assert not notes[0].reserves
    assert not notes[0].allows


def test_prohibition_wins_over_a_grant_in_another_term_set() -> None:
    found = findings_for(
        rsl(
            '<content url="/"><license><permits type="usage">all</permits></license>'
            '<license><prohibits type="usage">ai-train</prohibits></license></content>'
        )
    )
    assert reading(found) == {TRAIN: PRO, INPUT: P, SEARCH: P}


def test_content_without_license_licenses_nothing() -> None:
    assert reading(findings_for(rsl('<content url="/"/>'))) == dict.fromkeys(Purpose, NP)


PAYMENTS: list[tuple[str, str]] = [
    # RSL 1.0 <payment> types: only free and attribution cost nothing.
    ('<payment type="free"/>', P),
    ('<payment type="attribution"/>', P),
    ("", P),  # no <payment>: free (the default)
    ('<payment type="purchase"><amount currency="USD">10</amount></payment>', PAY),
    ('<payment type="subscription"/>', PAY),
    ('<payment type="training"/>', PAY),
    ('<payment type="crawl"/>', PAY),
    ('<payment type="use"/>', PAY),
    ('<payment type="contribution"/>', PAY),
    ('<payment type="barter"/>', PAY),  # unknown type: read as a price
    ("<payment/>", PAY),  # no type: read as a price
    ('<payment type="free"/><payment type="crawl"/>', PAY),
]


@pytest.mark.parametrize(("payment", "expected"), PAYMENTS)
def test_payment_types(payment: str, expected: str) -> None:
    body = rsl(
        f'<content url="/"><license><permits type="usage">ai-train</permits>{payment}'
        "</license></content>"
    )
    assert reading(findings_for(body))[TRAIN] == expected


CONDITIONS: list[tuple[str, str]] = [
    # RSL 1.0 <permits>/<prohibits> type="user" and type="geo" lists. Our crawls are commercial use.
    ('<permits type="user">commercial non-commercial education</permits>', P),
    ('<permits type="user">education personal</permits>', "rsl.restricted"),
    ('<prohibits type="user">commercial</prohibits>', "rsl.restricted"),
    ('<prohibits type="user">government</prohibits>', P),
    ('<permits type="geo">US CA</permits>', "rsl.restricted"),
    ('<prohibits type="geo">CN</prohibits>', "rsl.restricted"),
]


@pytest.mark.parametrize(("condition", "expected"), CONDITIONS)
def test_user_and_geo_conditions(condition: str, expected: str) -> None:
    body = rsl(
        f'<content url="/"><license><permits type="usage">ai-train</permits>{condition}'
        "</license></content>"
    )
    assert reading(findings_for(body))[TRAIN] == expected


def test_a_priced_offer_is_reported_over_a_conditioned_free_one() -> None:
    body = rsl(
        '<content url="/"><license><permits type="usage">ai-train</permits>'
        '<permits type="user">education</permits></license><license>'
        '<permits type="usage">ai-train</permits><payment type="training"/></license></content>'
    )
    assert reading(findings_for(body))[TRAIN] == PAY


def test_server_element_is_read_like_the_attribute() -> None:
    body = rsl(
        '<content url="/"><server>https://olp.example.com</server><license>'
        '<permits type="usage">all</permits></license></content>'
    )
    assert reading(findings_for(body)) == dict.fromkeys(Purpose, SRV)


# --- which content elements apply (RSL 1.0 <content url>: RFC 9309 patterns or full URLs) ----

TWO_SECTIONS = rsl(
    '<content url="/"><license><permits type="usage">search</permits></license></content>'
    '<content url="/premium/*"><license><permits type="usage">all</permits>'
    '<payment type="subscription"/></license></content>'
)

MATCHING: list[tuple[bytes, str, dict[Purpose, str]]] = [
    (TWO_SECTIONS, "/news/1", {TRAIN: NP, INPUT: NP, SEARCH: P}),
    # Every matching content applies; the most restrictive decides.
    (TWO_SECTIONS, "/premium/a", {TRAIN: NP, INPUT: NP, SEARCH: PAY}),
    (
        rsl(
            '<content url="/a$"><license><prohibits type="usage">all</prohibits></license>'
            "</content>"
        ),
        "/a",
        dict.fromkeys(Purpose, PRO),
    ),
    (
        rsl(
            '<content url="https://example.com/docs/*.pdf$"><license>'
            '<prohibits type="usage">ai-train</prohibits></license></content>'
        ),
        "/docs/x/y.pdf",
        {TRAIN: PRO, INPUT: "", SEARCH: ""},
    ),
    # A full URL with the http scheme still names the https site's asset.
    (
        rsl(
            '<content url="http://EXAMPLE.com/"><license><prohibits type="usage">ai-train'
            "</prohibits></license></content>"
        ),
        "/x",
        {TRAIN: PRO, INPUT: "", SEARCH: ""},
    ),
    # No url attribute: read as naming every asset.
    (
        rsl('<content><license><prohibits type="usage">ai-input</prohibits></license></content>'),
        "/anything",
        {TRAIN: "", INPUT: PRO, SEARCH: ""},
    ),
]


@pytest.mark.parametrize(("body", "path", "expected"), MATCHING)
def test_content_matching(body: bytes, path: str, expected: dict[Purpose, str]) -> None:
    assert reading(findings_for(body, path)) == expected


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/a$", "/ab"),
        ("/premium/", "/news"),
        ("https://other.example/", "/"),
        ("https://example.com:8443/", "/"),
    ],
)
def test_content_not_naming_the_url_is_a_note(pattern: str, path: str) -> None:
    body = rsl(
        f'<content url="{pattern}"><license><prohibits type="usage">all</prohibits></license>'
        "</content>"
    )
    found = findings_for(body, path)
    assert [f.reason for f in found] == ["rsl.not_covered"]
    assert not found[0].reserves


# --- the parser: fail closed, bounded, safe ------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rsl xmlns="https://rslstandard.org/rsl"><content url="&lol9;"/></rsl>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rsl [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rsl xmlns="https://rslstandard.org/rsl"><content url="&x;"/></rsl>"""

UNREADABLE_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("blank", b"  \n "),
    ("not XML", b"User-agent: *\nDisallow: /\n"),
    ("HTML soft 404", b"<!doctype html><html><body>Not found</body></html>"),
    ("binary", bytes(range(256)) * 8),
    ("malformed XML", rsl('<content url="/"><license>')),
    ("unclosed root", b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"/>'),
    ("billion laughs", BILLION_LAUGHS),
    ("external entity", EXTERNAL_ENTITY),
    ("DTD only", b'<!DOCTYPE rsl SYSTEM "http://example.com/rsl.dtd"><rsl/>'),
    ("wrong namespace", rsl('<content url="/"/>', '<rsl xmlns="https://example.com/rsl">')),
    (
        "namespace with a slash",
        rsl('<content url="/"/>', '<rsl xmlns="https://rslstandard.org/rsl/">'),
    ),
    ("wrong root", b'<license xmlns="https://rslstandard.org/rsl"/>'),
    ("RSS root", b'<rss version="2.0"><channel/></rss>'),
    ("no content", rsl("")),
    ("typographic quotes (as on a guide page)", rsl("<content url=\u201d/\u201d/>")),
    ("too deep", rsl("<x>" * 40 + "</x>" * 40)),
    ("too many elements", rsl('<content url="/"/>' * 20_001)),
    ("JSON", b'{"rsl": {"content": []}}'),
]


@pytest.mark.parametrize(
    "body", [b for _, b in UNREADABLE_BODIES], ids=[n for n, _ in UNREADABLE_BODIES]
)
def test_unreadable_bodies(body: bytes) -> None:
    document = ok(body)
    assert not document.readable
    assert document.problem
    assert document.contents == ()


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    document = ok(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    assert document.problem is not None
    assert "DTD" in document.problem


def test_a_5_mb_document_is_refused_without_parsing() -> None:
    body = rsl(
        '<content url="/"><license><permits type="usage">all</permits></license></content>'
        + "<!-- padding -->" * (5 * 1024 * 1024 // 16)
    )
    assert len(body) > 5_000_000 > MAX_RSL_BYTES
    started = time.perf_counter()
    document = ok(body)
    assert time.perf_counter() - started < 0.5
    assert not document.readable
    assert "larger" in (document.problem or "")


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (FetchOutcome.CLIENT_ERROR, 404),
        (FetchOutcome.CLIENT_ERROR, 410),
        (FetchOutcome.CLIENT_ERROR, 403),
        (FetchOutcome.SERVER_ERROR, 500),
        (FetchOutcome.SERVER_ERROR, 503),
        (FetchOutcome.SERVER_ERROR, 429),
        (FetchOutcome.TIMEOUT, None),
        (FetchOutcome.NETWORK_ERROR, None),
        (FetchOutcome.TOO_MANY_REDIRECTS, None),
        (FetchOutcome.BLOCKED_ADDRESS, None),
    ],
)
def test_failed_fetches_are_unreadable(outcome: FetchOutcome, status: int | None) -> None:
    body = rsl('<content url="/"><license><permits type="usage">all</permits></license></content>')
    document = parse_rsl(outcome, body, status)  # a body of an error answer is never read
    assert not document.readable
    assert document.outcome is outcome
    assert document.status == status


GOOD = '<content url="/"><license><prohibits type="usage">ai-train</prohibits></license></content>'

READABLE_BODIES: list[tuple[str, bytes]] = [
    ("plain", rsl(GOOD)),
    ("XML declaration", b'<?xml version="1.0" encoding="utf-8"?>\n' + rsl(GOOD)),
    ("UTF-8 BOM", codecs.BOM_UTF8 + b'<?xml version="1.0"?>' + rsl(GOOD)),
    (
        "UTF-16 with BOM",
        ('<?xml version="1.0" encoding="UTF-16"?>' + rsl(GOOD).decode()).encode("utf-16"),
    ),
    ("blank lines before the declaration", b"\n\n  <?xml version='1.0'?>" + rsl(GOOD)),
    (
        "prefixed namespace",
        rsl(
            GOOD.replace("<", "<r:").replace("<r:/", "</r:"),
            '<r:rsl xmlns:r="https://rslstandard.org/rsl">',
        ).replace(b"</rsl>", b"</r:rsl>"),
    ),
    (
        "comments and an extension namespace",
        rsl(
            '<!-- c --><content url="/" xmlns:x="https://example.com/x"><x:note>hi</x:note>'
            '<license><prohibits type="usage">ai-train</prohibits><x:binding ref="1"/></license>'
            "</content>"
        ),
    ),
    (
        "ISO-8859-1",
        b'<?xml version="1.0" encoding="ISO-8859-1"?>'
        + rsl(GOOD.replace("<license>", "<copyright>Caf\xe9</copyright><license>")).replace(
            b"\xc3\xa9", b"\xe9"
        ),
    ),
]


@pytest.mark.parametrize(
    "body", [b for _, b in READABLE_BODIES], ids=[n for n, _ in READABLE_BODIES]
)
def test_readable_bodies(body: bytes) -> None:
    document = ok(body)
    assert document.readable, document.problem
    assert reading(document_findings(LICENSE, document, ORIGIN, "/"))[TRAIN] == PRO


def test_root_without_namespace_is_read() -> None:
    document = ok(rsl(GOOD, "<rsl>"))
    assert document.readable
    assert not document.namespaced
    assert reading(document_findings(LICENSE, document, ORIGIN, "/"))[TRAIN] == PRO


def test_elements_of_other_namespaces_are_not_rsl_elements() -> None:
    body = rsl(
        '<content url="/" xmlns:x="https://example.com/x"><x:license>'
        '<x:prohibits type="usage">all</x:prohibits></x:license></content>'
    )
    assert reading(findings_for(body)) == dict.fromkeys(Purpose, NP)


def test_parsed_document_is_small_and_sized() -> None:
    document = ok(rsl(GOOD * 100))
    assert len(document.contents) == 100
    assert 0 < document.estimated_bytes() < 200_000


def test_parser_never_raises_on_odd_bytes() -> None:
    for body in (
        b"\xff\xfe\x00",
        b"\xef\xbb",
        b"<?xml version='1.0' encoding='bogus'?><rsl/>",
        b"<rsl xmlns='https://rslstandard.org/rsl'>\x00</rsl>",
        b"<" * 10_000,
    ):
        assert not ok(body).readable


# --- the site check: robots.txt License: lines ---------------------------------------------


def robots(text: str | None, outcome: FetchOutcome = FetchOutcome.OK) -> Document:
    body = text.encode() if text is not None else b""
    return Document(
        "robots_txt", f"{ORIGIN}/robots.txt", outcome, 200, RobotsRules(outcome, body, 200)
    )


def licence(
    url: str, body: bytes | None, outcome: FetchOutcome = FetchOutcome.OK, status: int | None = 200
) -> Document:
    return Document("rsl", url, outcome, status, parse_rsl(outcome, body or b"", status))


def site(robots_txt: str | None, linked: dict[str, Document] | None = None) -> Site:
    documents = {"robots_txt": robots(robots_txt)} if robots_txt is not None else {}
    return Site(ORIGIN, TOKEN, frozenset({TRAIN}), documents, linked or {})


CHECK = RslSiteCheck()


def test_site_check_shape() -> None:
    assert CHECK.name == "rsl"
    assert CHECK.documents == ("robots_txt",)
    assert RslAssetCheck().name == "rsl_asset"


# rslstandard.org/guide/robots-txt, "Example robots.txt file": a file-level License line.
GUIDE_ROBOTS = "License: https://example.com/license.xml\n\nUser-agent: Googlebot\nAllow: /\n"


def test_guide_robots_example_links_the_licence() -> None:
    assert list(CHECK.linked(site(GUIDE_ROBOTS))) == [("rsl", LICENSE)]


def test_guide_ai_preferences_example_end_to_end() -> None:
    # rslstandard.org/guide/ai-preferences: the License line in the User-Agent: * group.
    text = (
        "User-Agent: *\nAllow: /\n\nContent-Usage: train-ai=n\n"
        "License: https://example.com/license.xml\n"
    )
    subject = site(text, {LICENSE: licence(LICENSE, SPEC_EXAMPLES[3][1])})
    assert list(CHECK.linked(subject)) == [("rsl", LICENSE)]
    found = list(CHECK.check(subject, "/article"))
    combined = combine(found, [TRAIN])
    assert combined.reserved
    assert combined.reasons == ("rsl.payment_required",)
    assert combined.licenses == (LICENSE,)


def test_no_license_line_no_findings() -> None:
    subject = site("User-agent: *\nDisallow: /private\n")
    assert list(CHECK.linked(subject)) == []
    assert list(CHECK.check(subject, "/")) == []


def test_no_robots_or_unreachable_robots_no_findings() -> None:
    assert list(CHECK.check(site(None), "/")) == []
    failed = Site(
        ORIGIN, TOKEN, frozenset({TRAIN}), {"robots_txt": robots(None, FetchOutcome.SERVER_ERROR)}
    )
    assert list(CHECK.linked(failed)) == []
    assert list(CHECK.check(failed, "/")) == []


def test_licence_on_another_host_that_timed_out_refuses() -> None:
    url = "https://licensing.example.net/rsl/example.xml"
    subject = site(f"License: {url}\n", {url: licence(url, None, FetchOutcome.TIMEOUT, None)})
    assert list(CHECK.linked(subject)) == [("rsl", url)]
    found = list(CHECK.check(subject, "/page"))
    assert [f.reason for f in found] == ["rsl.unreadable"]
    assert found[0].reserves == ALL_PURPOSES
    assert found[0].license == url
    assert "timed out" in (found[0].detail or "")
    assert combine(found, [SEARCH]).reserved


@pytest.mark.parametrize(
    ("body", "outcome", "status"),
    [
        (None, FetchOutcome.CLIENT_ERROR, 404),
        (None, FetchOutcome.SERVER_ERROR, 503),
        (b"<html>soft 404</html>", FetchOutcome.OK, 200),
        (BILLION_LAUGHS, FetchOutcome.OK, 200),
        (rsl(GOOD, '<rsl xmlns="urn:other">'), FetchOutcome.OK, 200),
    ],
)
def test_unreadable_licence_refuses(
    body: bytes | None, outcome: FetchOutcome, status: int | None
) -> None:
    subject = site(GUIDE_ROBOTS, {LICENSE: licence(LICENSE, body, outcome, status)})
    found = list(CHECK.check(subject, "/"))
    assert [f.reason for f in found] == ["rsl.unreadable"]
    assert found[0].refusal


def test_licence_not_fetched_refuses() -> None:
    found = list(CHECK.check(site(GUIDE_ROBOTS), "/"))
    assert [f.reason for f in found] == ["rsl.unreadable"]


def test_linked_document_of_another_type_refuses() -> None:
    wrong = Document("rsl", LICENSE, FetchOutcome.OK, 200, parsed="not an RslDocument")
    found = list(CHECK.check(site(GUIDE_ROBOTS, {LICENSE: wrong}), "/"))
    assert [f.reason for f in found] == ["rsl.unreadable"]


LICENSE_LINES: list[tuple[str, list[str]]] = [
    # relative values resolve against the origin
    ("License: /license.xml\n", [LICENSE]),
    ("License: rsl/terms.xml\n", ["https://example.com/rsl/terms.xml"]),
    ("License: //cdn.example.org/l.xml\n", ["https://cdn.example.org/l.xml"]),
    # only http(s)
    ("License: ftp://example.com/l.xml\nLicense: mailto:a@example.com\n", []),
    ("License: javascript:alert(1)\n", []),
    # repeated lines: each once, in file order; the fragment is not part of the URL
    (
        "License: /a.xml\nLicense: /b.xml\nLicense: /a.xml#x\n",
        ["https://example.com/a.xml", "https://example.com/b.xml"],
    ),
    # a group that applies to us overrides the file-level line
    (
        "License: /file.xml\nUser-agent: examplebot\nLicense: /ours.xml\n",
        ["https://example.com/ours.xml"],
    ),
    # another crawler's group does not override the file-level line
    (
        "License: /file.xml\nUser-agent: otherbot\nLicense: /theirs.xml\n",
        ["https://example.com/file.xml"],
    ),
    # with no line for us and none at file level, License is global (RSL): read any group's
    (
        "User-agent: examplebot\nDisallow: /x\n\nUser-agent: *\nAllow: /\nLicense: /l.xml\n",
        ["https://example.com/l.xml"],
    ),
]


@pytest.mark.parametrize(("text", "urls"), LICENSE_LINES)
def test_license_lines(text: str, urls: list[str]) -> None:
    assert list(CHECK.linked(site(text))) == [("rsl", u) for u in urls]


def test_too_many_license_lines_are_refused() -> None:
    text = "".join(f"License: /l{i}.xml\n" for i in range(MAX_LINKS + 3))
    body = rsl('<content url="/"><license><permits type="usage">all</permits></license></content>')
    linked = {
        f"{ORIGIN}/l{i}.xml": licence(f"{ORIGIN}/l{i}.xml", body) for i in range(MAX_LINKS + 3)
    }
    subject = site(text, linked)
    assert len(list(CHECK.linked(subject))) == MAX_LINKS
    found = list(CHECK.check(subject, "/"))
    assert "rsl.unreadable" in [f.reason for f in found]
    assert combine(found, [SEARCH]).reserved


def test_several_licences_most_restrictive_wins() -> None:
    free = rsl('<content url="/"><license><permits type="usage">all</permits></license></content>')
    text = "License: /free.xml\nLicense: /strict.xml\n"
    subject = site(
        text,
        {
            f"{ORIGIN}/free.xml": licence(f"{ORIGIN}/free.xml", free),
            f"{ORIGIN}/strict.xml": licence(f"{ORIGIN}/strict.xml", rsl(GOOD)),
        },
    )
    combined = combine(CHECK.check(subject, "/"), [TRAIN, SEARCH])
    assert combined.reserved
    assert combined.reasons == ("rsl.prohibited",)
    assert combined.by_purpose[SEARCH].state == "allowed"
    assert combined.licenses == (f"{ORIGIN}/free.xml", f"{ORIGIN}/strict.xml")


def test_findings_are_deterministic_and_deduplicated() -> None:
    body = rsl(
        GOOD + GOOD + '<content url="/x"><license><permits type="usage">search</permits>'
        "</license></content>"
    )
    text = "License: /license.xml\nLicense: https://example.com/license.xml\n"
    subject = site(text, {LICENSE: licence(LICENSE, body)})
    first = list(CHECK.check(subject, "/x"))
    assert first == list(CHECK.check(subject, "/x"))
    assert len(first) == len(set(first))
    # /x: content "/" prohibits ai-train; content "/x" licenses search only.
    assert [f.reason for f in first] == ["rsl.prohibited", "rsl.not_permitted", "rsl.permitted"]


# --- the asset check: Link: rel="license" ---------------------------------------------------


def asset(
    headers: Sequence[tuple[str, str]] = (),
    html: str | None = None,
    linked: dict[str, Document] | None = None,
    url: str = "https://example.com/articles/1",
) -> Asset:
    return Asset(
        url,
        url,
        200,
        list(headers),
        "text/html",
        html,
        TOKEN,
        frozenset({TRAIN}),
        linked=linked or {},
    )


ASSET = RslAssetCheck()
TYPED = f'<{LICENSE}>; rel="license"; type="application/rsl+xml"'


LINK_HEADERS: list[tuple[str, list[tuple[str, tuple[tuple[str, str], ...]]]]] = [
    # RFC 8288 §3 and its examples (§3.5)
    (
        '<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"',
        [
            (
                "http://example.com/TheBook/chapter2",
                (("rel", "previous"), ("title", "previous chapter")),
            )
        ],
    ),
    ('</>; rel="http://example.net/foo"', [("/", (("rel", "http://example.net/foo"),))]),
    (
        '</terms>; rel="copyright"; anchor="#foo"',
        [("/terms", (("rel", "copyright"), ("anchor", "#foo")))],
    ),
    (
        "</TheBook/chapter2>; rel=\"previous\"; title*=UTF-8'de'letztes%20Kapitel, "
        "</TheBook/chapter4>; rel=\"next\"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel",
        [
            ("/TheBook/chapter2", (("rel", "previous"), ("title", "letztes Kapitel"))),
            ("/TheBook/chapter4", (("rel", "next"), ("title", "n\u00e4chstes Kapitel"))),
        ],
    ),
    (
        '<http://example.org/>; rel="start http://example.net/relation/other"',
        [("http://example.org/", (("rel", "start http://example.net/relation/other"),))],
    ),
    # quoted commas and semicolons; repeated parameters (the first counts, §3.3)
    (
        '</a>; title="x, y; z"; rel=license; rel=next, </b>; REL="License"',
        [("/a", (("title", "x, y; z"), ("rel", "license"))), ("/b", (("rel", "License"),))],
    ),
    # junk between links is skipped; an unterminated target ends the value
    ("garbage, </c>; rel=license, <unterminated", [("/c", (("rel", "license"),))]),
    ('</d>; rel="a \\"quoted\\" b"', [("/d", (("rel", 'a "quoted" b'),))]),
]


@pytest.mark.parametrize(("value", "expected"), LINK_HEADERS)
def test_parse_link_header(
    value: str, expected: list[tuple[str, tuple[tuple[str, str], ...]]]
) -> None:
    assert [(link.target, link.params) for link in parse_link_header(value)] == expected


def test_link_header_is_bounded() -> None:
    assert len(parse_link_header("</x>; rel=license, " * 10_000)) <= 64


def test_typed_link_is_read() -> None:
    subject = asset([("Link", TYPED)], linked={LICENSE: licence(LICENSE, rsl(GOOD))})
    assert list(ASSET.linked(subject)) == [("rsl", LICENSE)]
    found = list(ASSET.check(subject))
    assert reading(found)[TRAIN] == PRO
    assert found[0].license == LICENSE


def test_typed_link_that_cannot_be_read_discards() -> None:
    subject = asset(
        [("link", TYPED)], linked={LICENSE: licence(LICENSE, None, FetchOutcome.CLIENT_ERROR, 404)}
    )
    found = list(ASSET.check(subject))
    assert [f.reason for f in found] == ["rsl.unreadable"]
    assert found[0].refusal


def test_untyped_link_to_creative_commons_is_only_noted() -> None:
    cc = "https://creativecommons.org/licenses/by/4.0/"
    html = f'<html><head><link rel="license" href="{cc}"></head></html>'
    page = licence(cc, b"<!DOCTYPE html><html><head><title>CC BY 4.0</title></head></html>")
    subject = asset([("Link", f'<{cc}>; rel="license"')], html=html, linked={cc: page})
    assert list(ASSET.linked(subject)) == [("rsl", cc)]
    found = list(ASSET.check(subject))
    assert [f.reason for f in found] == ["rsl.link_ignored"]
    assert not combine(found, [TRAIN]).reserved


def test_untyped_link_that_timed_out_is_only_noted() -> None:
    url = "https://example.com/terms"
    subject = asset(
        [("Link", f"<{url}>; rel=license")],
        linked={url: licence(url, None, FetchOutcome.TIMEOUT, None)},
    )
    assert [f.reason for f in ASSET.check(subject)] == ["rsl.link_ignored"]


def test_untyped_link_that_parses_as_rsl_is_read() -> None:
    html = '<html><head><link rel="License Alternate" href="/license.xml"></head></html>'
    subject = asset(html=html, linked={LICENSE: licence(LICENSE, rsl(GOOD))})
    assert list(ASSET.linked(subject)) == [("rsl", LICENSE)]
    assert reading(list(ASSET.check(subject)))[TRAIN] == PRO


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Link", f'<{LICENSE}>; rel="license"; type="text/html"')], []),  # typed as not RSL
        ([("Link", f'<{LICENSE}>; rel="alternate"; type="application/rsl+xml"')], []),  # no rel
        (
            [("Link", f'<{LICENSE}>; rel="nofollow license"; type="Application/RSL+XML; q=1"')],
            [(LICENSE, True)],
        ),
        ([("Link", "</license.xml>; rel=license; type=application/rsl+xml")], [(LICENSE, True)]),
        ([("Link", "<mailto:x@example.com>; rel=license")], []),
        (
            [("Link", f"</a.xml>; rel=license, {TYPED}")],
            [(LICENSE, True), ("https://example.com/a.xml", False)],
        ),  # typed ones first
        (
            [("Link", "</a.xml>; rel=license"), ("LINK", "</a.xml#f>; rel=license")],
            [("https://example.com/a.xml", False)],
        ),
    ],
)
def test_license_links(headers: list[tuple[str, str]], expected: list[tuple[str, bool]]) -> None:
    assert [(link.url, link.typed) for link in license_links(asset(headers))] == expected


def test_links_resolve_against_the_final_url() -> None:
    subject = Asset(
        "https://example.com/a",
        "https://www.example.com/dir/page",
        200,
        [("Link", "<lic.xml>; rel=license; type=application/rsl+xml")],
        None,
        None,
        TOKEN,
        frozenset({TRAIN}),
    )
    assert list(ASSET.linked(subject)) == [("rsl", "https://www.example.com/dir/lic.xml")]


def test_asset_content_matching_uses_the_final_url() -> None:
    body = rsl(
        '<content url="https://example.com/articles/*"><license>'
        '<prohibits type="usage">ai-input</prohibits></license></content>'
    )
    subject = asset([("Link", TYPED)], linked={LICENSE: licence(LICENSE, body)})
    assert reading(list(ASSET.check(subject)))[INPUT] == PRO
    other = asset(
        [("Link", TYPED)], linked={LICENSE: licence(LICENSE, body)}, url="https://example.com/about"
    )
    assert [f.reason for f in ASSET.check(other)] == ["rsl.not_covered"]


def test_no_links_no_findings() -> None:
    subject = asset([("Link", "</style.css>; rel=stylesheet")], html="<p>hi</p>")
    assert list(ASSET.linked(subject)) == []
    assert list(ASSET.check(subject)) == []


def test_asset_links_are_bounded() -> None:
    headers = [
        (
            "Link",
            ", ".join(f"</l{i}.xml>; rel=license; type=application/rsl+xml" for i in range(20)),
        )
    ]
    subject = asset(headers)
    assert len(list(ASSET.linked(subject))) == MAX_LINKS
    assert combine(ASSET.check(subject), [SEARCH]).reserved


# --- the signals table ----------------------------------------------------------------------


def test_signals_describe_every_reason() -> None:
    described = {code for info in SIGNALS for code in info.reasons}
    assert described == {r.value for r in RslReason}
    for info in SIGNALS:
        assert "rslstandard.org" in info.source
        assert info.purposes
        assert info.reading
        assert "ai-index" in info.purposes


def test_a_value_list_too_long_is_refused_not_cut() -> None:
    values = " ".join(f"x{i}" for i in range(600)) + " ai-train"
    body = rsl(
        f'<content url="/"><license><prohibits type="usage">{values}</prohibits>'
        "</license></content>"
    )
    document = ok(body)
    assert not document.readable
    assert "value list" in (document.problem or "")


def test_untyped_links_beyond_the_bound_are_only_noted() -> None:
    headers = [("Link", ", ".join(f"</l{i}.html>; rel=license" for i in range(20)))]
    found = list(ASSET.check(asset(headers)))
    assert {f.reason for f in found} == {"rsl.link_ignored"}
    assert not combine(found, [TRAIN]).reserved
