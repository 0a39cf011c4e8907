"""X-Robots-Tag and robots meta: noai, noimageai, noml, noindex."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from optout_service.checks.base import Asset, Finding
from optout_service.checks.combine import combine
from optout_service.checks.robots_tags import (
    Directive,
    RobotsTagReason,
    RobotsTagsCheck,
    directives_for,
    parse_directives,
)
from optout_service.purposes import Purpose
from optout_service.reasons import Reason

AI = frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT})
SEARCH = frozenset({Purpose.SEARCH})
EVERY = frozenset(Purpose)
NOTHING: frozenset[Purpose] = frozenset()

R = RobotsTagReason


def make_asset(
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = "text/html",
    html: str | None = None,
    *,
    token: str = "ExampleBot",
    respect_noindex: bool = False,
) -> Asset:
    return Asset(
        url="https://art.example/work/1",
        final_url="https://art.example/work/1",
        status=200,
        headers=list(headers),
        content_type=content_type,
        html=html,
        token=token,
        purposes=frozenset({Purpose.TRAIN_AI}),
        respect_noindex=respect_noindex,
    )


def run(asset: Asset) -> tuple[Finding, ...]:
    return tuple(RobotsTagsCheck().check(asset))


def reading(asset: Asset) -> dict[str, frozenset[Purpose]]:
    """Reason code -> what it reserves (an empty set: a note)."""
    return {f.reason: f.reserves for f in run(asset)}


def train_ai_reserved(asset: Asset) -> bool:
    return any(Purpose.TRAIN_AI in f.reserves for f in run(asset))


def test_check_shape_and_stable_codes() -> None:
    check = RobotsTagsCheck()
    assert check.name == "robots_tags"
    assert tuple(check.linked(make_asset())) == ()
    # The codes that existed before this check keep their values.
    assert R.X_ROBOTS_TAG_NOAI.value == Reason.X_ROBOTS_TAG_NOAI.value
    assert R.X_ROBOTS_TAG_NOIMAGEAI.value == Reason.X_ROBOTS_TAG_NOIMAGEAI.value
    assert R.META_NOAI.value == Reason.META_NOAI.value
    assert R.META_NOIMAGEAI.value == Reason.META_NOIMAGEAI.value


# Ported from the observation rules' table (tests/unit/optout_service/test_policy.py; the TDMRep
# rows belong to the TDMRep check). "noimageai on text/html" was silently unreserved there; it is
# now a note. "noindex" now reserves search (it always meant "not in a search index").
PORTED_CASES: list[tuple[list[tuple[str, str]], str, str | None, dict[str, frozenset[Purpose]]]] = [
    ([], "text/html", None, {}),
    ([("X-Robots-Tag", "NOAI")], "text/html", None, {R.X_ROBOTS_TAG_NOAI: AI}),
    (
        [("X-Robots-Tag", "noimageai")],
        "text/html",
        None,
        {R.X_ROBOTS_TAG_NOIMAGEAI_NOT_IMAGE: NOTHING},
    ),
    ([("X-Robots-Tag", "noimageai")], "image/png", None, {R.X_ROBOTS_TAG_NOIMAGEAI: AI}),
    ([("X-Robots-Tag", "unavailable_after: 2030-01-01")], "text/html", None, {}),
    ([("X-Robots-Tag", "googlebot: noai")], "text/html", None, {}),
    (
        [("X-Robots-Tag", "ExampleBot: noindex, noai")],
        "text/html",
        None,
        {R.X_ROBOTS_TAG_NOAI: AI, R.X_ROBOTS_TAG_NOINDEX: SEARCH},
    ),
    ([], "text/html", '<head><META NAME="Robots" CONTENT="noai"></head>', {R.META_NOAI: AI}),
    ([], "text/html", '<head><meta name="examplebot" content="noai"></head>', {R.META_NOAI: AI}),
    ([], "text/html", '<head><meta name="otherbot" content="noai"></head>', {}),
    ([], "text/html", "<head><meta name=robots content=noai <<<</", {}),
]


@pytest.mark.parametrize(("headers", "content_type", "html", "expected"), PORTED_CASES)
def test_ported_observation_rules(
    headers: list[tuple[str, str]],
    content_type: str,
    html: str | None,
    expected: dict[str, frozenset[Purpose]],
) -> None:
    assert reading(make_asset(headers, content_type, html)) == expected


# Spawning's datadiligence, tests/test_xrobots_header.py (XRobotsTest) and the header values of
# its test server tests/server/app.py, https://github.com/Spawning-Inc/datadiligence. Its rule
# for "spawningbot" is our check with token spawningbot; its rule without a user agent reads only
# unscoped directives, which is our check for any other token. (value, respect_noindex, allowed
# for spawningbot, allowed for another crawler). datadiligence reads noimageai on any response:
# these rows use a response of unknown content type, which we read as an image too.
DATADILIGENCE_CASES: list[tuple[str, bool, bool, bool]] = [
    # test_noheader
    ("", False, True, True),
    # test_noai
    ("noai", False, False, False),
    ("noimageai", False, False, False),
    ("other, noai", False, False, False),
    # test_ai
    ("other", False, True, True),
    ("noindex", False, True, True),
    ("other, noindex", False, True, True),
    # test_useragent_noai
    ("spawningbot: noai", False, False, True),
    ("spawningbot: noimageai", False, False, True),
    ("other, spawningbot: noai", False, False, True),
    ("other, spawningbot:noai", False, False, True),
    ("spawningbot:other, spawningbot: noai", False, False, True),
    ("spawningbot:other, spawningbot:noai", False, False, True),
    # test_useragent_ai
    ("spawningbot: all", False, True, True),
    ("spawningbot: other", False, True, True),
    ("other, spawningbot: all", False, True, True),
    ("spawningbot: other, spawningbot: all, test:noai", False, True, True),
    # test_malformed_headers
    (":,", False, True, True),
    (":, :, ,;: -:: ", False, True, True),
    # the test server: /ai, /noai, /user_agents, /user_agents_noai, /noindex (test_noindex)
    ("all", False, True, True),
    ("demobot: noai, examplebot: noai, spawningbot: all", False, True, True),
    ("demobot: noai, examplebot: noai, spawningbot: noai", False, False, True),
    ("none, noindex", False, True, True),
    ("none, noindex", True, False, False),
]


@pytest.mark.parametrize(
    ("value", "respect_noindex", "allowed_spawningbot", "allowed_other"), DATADILIGENCE_CASES
)
def test_datadiligence_header_cases(
    value: str, respect_noindex: bool, allowed_spawningbot: bool, allowed_other: bool
) -> None:
    for token, allowed in (("spawningbot", allowed_spawningbot), ("otherbot", allowed_other)):
        asset = make_asset(
            [("X-Robots-Tag", value)], None, token=token, respect_noindex=respect_noindex
        )
        assert train_ai_reserved(asset) is not allowed, token


# DeviantArt's announcement of the directives (the page markup and the header of a direct image
# download), https://www.deviantart.com/team/journal/
# UPDATE-All-Deviations-Are-Opted-Out-of-AI-Datasets-934500371
DEVIANTART_CASES: list[
    tuple[list[tuple[str, str]], str, str | None, dict[str, frozenset[Purpose]]]
] = [
    ([], "text/html", '<meta name="robots" content="noai">', {R.META_NOAI: AI}),
    (
        [],
        "text/html",
        '<meta name="robots" content="noimageai">',
        {R.META_NOIMAGEAI_NOT_IMAGE: NOTHING},
    ),
    ([("X-Robots-Tag", "noai")], "image/jpeg", None, {R.X_ROBOTS_TAG_NOAI: AI}),
    ([("X-Robots-Tag", "noimageai")], "image/jpeg", None, {R.X_ROBOTS_TAG_NOIMAGEAI: AI}),
]


@pytest.mark.parametrize(("headers", "content_type", "html", "expected"), DEVIANTART_CASES)
def test_deviantart_examples(
    headers: list[tuple[str, str]],
    content_type: str,
    html: str | None,
    expected: dict[str, frozenset[Purpose]],
) -> None:
    assert reading(make_asset(headers, content_type, html)) == expected


EDGE_CASES: list[
    tuple[str, list[tuple[str, str]], dict[str, object], dict[str, frozenset[Purpose]]]
] = [
    (
        "several headers, any case",
        [("X-Robots-Tag", "noindex"), ("x-robots-tag", "noai"), ("X-ROBOTS-TAG", "nofollow")],
        {},
        {R.X_ROBOTS_TAG_NOINDEX: SEARCH, R.X_ROBOTS_TAG_NOAI: AI},
    ),
    (
        "token with digits",
        [("X-Robots-Tag", "AI2Bot: noai")],
        {"token": "AI2Bot"},
        {R.X_ROBOTS_TAG_NOAI: AI},
    ),
    (
        "token with digits, other case",
        [("X-Robots-Tag", "ai2bot:NoAI")],
        {"token": "AI2Bot"},
        {R.X_ROBOTS_TAG_NOAI: AI},
    ),
    ("a longer token is another crawler", [("X-Robots-Tag", "examplebot2: noai")], {}, {}),
    (
        "date with a comma and colons is not an agent",
        [("X-Robots-Tag", "unavailable_after: Friday, 25-Jun-2010 15:00:00 PST, noai")],
        {},
        {R.X_ROBOTS_TAG_NOAI: AI},
    ),
    ("ISO date with colons", [("X-Robots-Tag", "unavailable_after: 2030-01-01T00:00:00Z")], {}, {}),
    (
        "valued directives then noai",
        [("X-Robots-Tag", "max-snippet: 50, max-image-preview:large, noai")],
        {},
        {R.X_ROBOTS_TAG_NOAI: AI},
    ),
    (
        "scope ends at the next agent",
        [("X-Robots-Tag", "googlebot: noindex, examplebot: noai")],
        {},
        {R.X_ROBOTS_TAG_NOAI: AI},
    ),
    (
        "scope runs to the next agent",
        [("X-Robots-Tag", "examplebot: nofollow, otherbot: noai, noml")],
        {},
        {},
    ),
    (
        "our scoped valued directive",
        [("X-Robots-Tag", "examplebot: unavailable_after: 2030-01-01, noml")],
        {},
        {R.X_ROBOTS_TAG_NOML: AI},
    ),
    ("noml header", [("X-Robots-Tag", "noml")], {}, {R.X_ROBOTS_TAG_NOML: AI}),
    (
        "noimageai, unknown content type",
        [("X-Robots-Tag", "noimageai")],
        {"content_type": None},
        {R.X_ROBOTS_TAG_NOIMAGEAI: AI},
    ),
    (
        "noimageai, image with parameters",
        [("X-Robots-Tag", "noimageai")],
        {"content_type": "IMAGE/WebP; q=1"},
        {R.X_ROBOTS_TAG_NOIMAGEAI: AI},
    ),
    (
        "noimageai on a PDF",
        [("X-Robots-Tag", "noimageai")],
        {"content_type": "application/pdf"},
        {R.X_ROBOTS_TAG_NOIMAGEAI_NOT_IMAGE: NOTHING},
    ),
    (
        "noindex without the setting",
        [("X-Robots-Tag", "noindex")],
        {},
        {R.X_ROBOTS_TAG_NOINDEX: SEARCH},
    ),
    (
        "noindex with the setting",
        [("X-Robots-Tag", "noindex")],
        {"respect_noindex": True},
        {R.X_ROBOTS_TAG_NOINDEX: EVERY},
    ),
    (
        "none with the setting",
        [("X-Robots-Tag", "none")],
        {"respect_noindex": True},
        {R.X_ROBOTS_TAG_NOINDEX: EVERY},
    ),
    (
        "noimageindex on an image",
        [("X-Robots-Tag", "noimageindex")],
        {"content_type": "image/gif", "respect_noindex": True},
        {R.X_ROBOTS_TAG_NOINDEX: EVERY},
    ),
    ("noimageindex on a page", [("X-Robots-Tag", "noimageindex")], {"respect_noindex": True}, {}),
    ("all and index lift nothing", [("X-Robots-Tag", "all, index, follow")], {}, {}),
    ("other X- headers are not read", [("X-Robots", "noai"), ("Robots", "noai")], {}, {}),
]


@pytest.mark.parametrize(
    ("case", "headers", "options", "expected"), EDGE_CASES, ids=[c[0] for c in EDGE_CASES]
)
def test_header_edge_cases(
    case: str,
    headers: list[tuple[str, str]],
    options: dict[str, object],
    expected: dict[str, frozenset[Purpose]],
) -> None:
    token = str(options.get("token", "ExampleBot"))
    content_type = options.get("content_type", "text/html")
    assert content_type is None or isinstance(content_type, str)
    asset = make_asset(
        headers, content_type, token=token, respect_noindex=bool(options.get("respect_noindex"))
    )
    assert reading(asset) == expected


META_CASES: list[tuple[str, str, dict[str, frozenset[Purpose]]]] = [
    (
        "noai and noimageai together",
        '<meta name="robots" content="noai, noimageai">',
        {R.META_NOAI: AI, R.META_NOIMAGEAI_NOT_IMAGE: NOTHING},
    ),
    ("noml", '<meta name="robots" content="noml">', {R.META_NOML: AI}),
    ("our token, any case", '<meta name="EXAMPLEBOT" content="NoAI">', {R.META_NOAI: AI}),
    ("another crawler's meta", '<meta name="googlebot" content="noai, noindex">', {}),
    (
        "http-equiv X-Robots-Tag",
        '<meta http-equiv="X-Robots-Tag" content="noai">',
        {R.META_NOAI: AI},
    ),
    ("scoped content for us", '<meta name="robots" content="examplebot: noml">', {R.META_NOML: AI}),
    ("scoped content for another", '<meta name="robots" content="otherbot: noml">', {}),
    ("noindex", '<meta name="robots" content="noindex, nofollow">', {R.META_NOINDEX: SEARCH}),
    (
        "property=robots counts too (stricter)",
        '<meta property="robots" content="noai">',
        {R.META_NOAI: AI},
    ),
    ("content absent", '<meta name="robots">', {}),
    ("description mentioning noai", '<meta name="description" content="noai">', {}),
]


@pytest.mark.parametrize(("case", "html", "expected"), META_CASES, ids=[c[0] for c in META_CASES])
def test_meta_cases(case: str, html: str, expected: dict[str, frozenset[Purpose]]) -> None:
    assert reading(make_asset(html=f"<html><head>{html}</head></html>")) == expected


def test_meta_noimageai_on_an_image_response_with_html() -> None:
    # The self-check may describe an image with HTML; the stricter reading applies.
    html = '<meta name="robots" content="noimageai">'
    assert reading(make_asset(content_type="image/avif", html=html)) == {R.META_NOIMAGEAI: AI}


@pytest.mark.parametrize(
    ("value", "directives"),
    [
        ("noai", [Directive("noai", None)]),
        (
            "NoIndex, ExampleBot: noai, noml",
            [
                Directive("noindex", None),
                Directive("noai", "examplebot"),
                Directive("noml", "examplebot"),
            ],
        ),
        ("unavailable_after: 2030-01-01", [Directive("unavailable_after", None)]),
        ("AI2Bot:noai", [Directive("noai", "ai2bot")]),
        ("bot.v2: noai", [Directive("noai", "bot.v2")]),
        ("", []),
        (" , ,", []),
    ],
)
def test_parse_directives(value: str, directives: list[Directive]) -> None:
    assert parse_directives(value) == directives


def test_directives_for() -> None:
    value = "noindex, examplebot: noai, otherbot: noml"
    assert directives_for(value, "ExampleBot") == {"noindex", "noai"}
    assert directives_for(value, "OtherBot") == {"noindex", "noml"}
    assert directives_for(value, "ThirdBot") == {"noindex"}


def test_findings_are_deduplicated_with_every_source() -> None:
    asset = make_asset(
        [("X-Robots-Tag", "noai"), ("X-Robots-Tag", "noai"), ("X-Robots-Tag", "examplebot: noai")],
        html='<meta name="robots" content="noai"><meta name="examplebot" content="noai">',
    )
    found = run(asset)
    assert [f.reason for f in found] == [R.X_ROBOTS_TAG_NOAI, R.META_NOAI]
    assert found[0].detail == "X-Robots-Tag: noai; X-Robots-Tag: examplebot: noai"
    assert found[1].detail == '<meta name="robots">: noai; <meta name="examplebot">: noai'
    assert run(asset) == found  # deterministic


def test_many_headers_are_bounded() -> None:
    asset = make_asset([("X-Robots-Tag", "nofollow, " * 500 + "x")] * 5_000)
    start = time.perf_counter()
    assert reading(asset) == {}
    assert time.perf_counter() - start < 2
    long_value = make_asset([("X-Robots-Tag", "noai, " + "a" * 10_000)])
    (finding,) = run(long_value)
    assert len(finding.detail or "") <= 300


def test_combined_with_purposes() -> None:
    noai = run(make_asset([("X-Robots-Tag", "noai")]))
    assert combine(noai, [Purpose.TRAIN_AI]).reserved
    assert combine(noai, [Purpose.AI_INPUT]).reserved
    assert not combine(noai, [Purpose.SEARCH]).reserved
    noindex = run(make_asset([("X-Robots-Tag", "noindex")]))
    assert not combine(noindex, [Purpose.TRAIN_AI]).reserved
    assert combine(noindex, [Purpose.SEARCH]).reasons == (R.X_ROBOTS_TAG_NOINDEX,)
    note_only = run(make_asset([("X-Robots-Tag", "noimageai")]))
    combined = combine(note_only, [Purpose.TRAIN_AI])
    assert not combined.reserved
    assert combined.reasons == (R.X_ROBOTS_TAG_NOIMAGEAI_NOT_IMAGE,)
