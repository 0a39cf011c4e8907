"""The access check: status codes, pay per crawl, login/subscribe walls, paywall markup."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import pytest

from optout_service.checks.access import (
    MAX_JSON_DEPTH,
    AccessCheck,
    AccessReason,
    is_false,
    is_login_wall,
    login_evidence,
    paywall_markup,
)
from optout_service.checks.base import Asset, Finding
from optout_service.checks.combine import combine
from optout_service.purposes import ALL_PURPOSES, Purpose
from optout_service.reasons import Reason


def make_asset(
    url: str = "https://news.example/politics/budget-vote",
    *,
    final_url: str | None = None,
    status: int = 200,
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = "text/html; charset=utf-8",
    html: str | None = None,
    redirects: Sequence[str] = (),
) -> Asset:
    return Asset(
        url=url,
        final_url=final_url or url,
        status=status,
        headers=list(headers),
        content_type=content_type,
        html=html,
        token="ExampleBot",
        purposes=frozenset({Purpose.TRAIN_AI}),
        redirects=list(redirects),
    )


def run(asset: Asset) -> tuple[Finding, ...]:
    return tuple(AccessCheck().check(asset))


def reasons(asset: Asset) -> tuple[str, ...]:
    return tuple(f.reason for f in run(asset))


def test_check_shape_and_stable_codes() -> None:
    check = AccessCheck()
    assert check.name == "access"
    assert tuple(check.linked(make_asset())) == ()
    # The codes that existed before this check keep their values.
    assert AccessReason.AUTH_REQUIRED.value == Reason.ACCESS_AUTH_REQUIRED.value
    assert AccessReason.PAYMENT_REQUIRED.value == Reason.ACCESS_PAYMENT_REQUIRED.value
    assert AccessReason.FORBIDDEN.value == Reason.ACCESS_FORBIDDEN.value
    assert run(make_asset()) == ()


# --- status codes ------------------------------------------------------------------------------

# Ported from the observation rules' table (tests/unit/optout_service/test_policy.py), plus the
# statuses this check adds (RFC 9110 15.5.8 for 407, RFC 7725 section 3 for 451).
STATUS_CASES: list[tuple[int, tuple[str, ...]]] = [
    (200, ()),
    (204, ()),
    (301, ()),
    (400, ()),
    (401, (Reason.ACCESS_AUTH_REQUIRED,)),
    (402, (Reason.ACCESS_PAYMENT_REQUIRED,)),
    (403, (Reason.ACCESS_FORBIDDEN,)),
    (404, ()),
    (407, (AccessReason.PROXY_AUTH_REQUIRED,)),
    (410, ()),
    (429, ()),
    (451, (AccessReason.LEGAL_REASONS,)),
    (500, ()),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_CASES)
def test_status_codes(status: int, expected: tuple[str, ...]) -> None:
    found = run(make_asset(status=status))
    assert tuple(f.reason for f in found) == expected
    assert all(f.refusal and f.reserves == ALL_PURPOSES for f in found)


def test_401_records_the_challenge_scheme_only() -> None:
    asset = make_asset(
        status=401, headers=[("WWW-Authenticate", 'Basic realm="staff", charset="UTF-8"')]
    )
    (finding,) = run(asset)
    assert finding.detail == "HTTP 401; WWW-Authenticate: Basic"


def test_451_records_blocked_by_link() -> None:
    # RFC 7725 section 3: a 451 response should carry Link: <...>; rel="blocked-by".
    link = '<https://authority.example/>; rel="blocked-by"'
    (finding,) = run(make_asset(status=451, headers=[("Link", link)]))
    assert finding.reason == AccessReason.LEGAL_REASONS
    assert link in (finding.detail or "")


# Cloudflare pay per crawl, "Crawl pages" and "Verify your AI crawler": an unpaid request gets
# HTTP 402 with crawler-price; the "Error codes" page lists crawler-error values with their
# statuses. https://developers.cloudflare.com/ai-crawl-control/features/pay-per-crawl/
PAY_PER_CRAWL_CASES: list[tuple[int, list[tuple[str, str]], str, str]] = [
    (
        402,
        [
            ("date", "Fri, 06 Jun 2025 08:42:38 GMT"),
            ("content-type", "text/plain; charset=utf-8"),
            ("crawler-price", "USD 0.01"),
            ("server", "cloudflare"),
        ],
        Reason.ACCESS_PAYMENT_REQUIRED,
        "crawler-price: USD 0.01",
    ),
    (
        402,
        [("crawler-error", "MissingCrawlerPrice"), ("Crawler-Price", "USD 0.05")],
        Reason.ACCESS_PAYMENT_REQUIRED,
        "crawler-error: MissingCrawlerPrice",
    ),
    (403, [("crawler-error", "CrawlerForbidden")], Reason.ACCESS_FORBIDDEN, "CrawlerForbidden"),
    (403, [("crawler-error", "PaymentFailed")], Reason.ACCESS_FORBIDDEN, "PaymentFailed"),
    # A price quote on a status that is not 402: still a request for payment (our reading).
    (200, [("crawler-price", "USD 0.02")], Reason.ACCESS_PAYMENT_REQUIRED, "on HTTP 200"),
]


@pytest.mark.parametrize(("status", "headers", "reason", "in_detail"), PAY_PER_CRAWL_CASES)
def test_pay_per_crawl(
    status: int, headers: list[tuple[str, str]], reason: str, in_detail: str
) -> None:
    found = run(make_asset(status=status, headers=headers, content_type="text/plain"))
    assert [f.reason for f in found] == [reason]
    assert in_detail in (found[0].detail or "")
    assert found[0].refusal


def test_price_on_403_adds_payment_required() -> None:
    found = run(make_asset(status=403, headers=[("crawler-price", "USD 1.00")]))
    assert [f.reason for f in found] == [Reason.ACCESS_FORBIDDEN, Reason.ACCESS_PAYMENT_REQUIRED]


def test_header_values_in_detail_are_bounded_and_printable() -> None:
    found = run(make_asset(status=402, headers=[("crawler-price", "USD\x00 1" + "9" * 500)]))
    detail = found[0].detail or ""
    assert "\x00" not in detail
    assert len(detail) < 300


# --- login and subscribe walls -------------------------------------------------------------

WORDPRESS_LOGIN = """<!DOCTYPE html>
<html lang="en-US">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>Log In &lsaquo; Example Blog &#8212; WordPress</title>
<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
<link rel='stylesheet' href='https://blog.example/wp-admin/load-styles.php?c=0&amp;ver=6.5' />
</head>
<body class="login no-js login-action-login wp-core-ui">
<div id="login">
<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
<form name="loginform" id="loginform" action="https://blog.example/wp-login.php" method="post">
<p><label for="user_login">Username or Email Address</label>
<input type="text" name="log" id="user_login" class="input" value="" size="20" /></p>
<div class="user-pass-wrap"><label for="user_pass">Password</label>
<input type="password" name="pwd" id="user_pass" class="input password-input" value="" /></div>
<p class="submit"><input type="submit" name="wp-submit" id="wp-submit" value="Log In" />
<input type="hidden" name="redirect_to" value="https://blog.example/members/essay/" /></p>
</form>
</div>
</body>
</html>"""

NEWS_SUBSCRIBE_HEAD = """<head>
<meta charset="utf-8">
<title>Subscribe to The Daily Example | The Daily Example</title>
<meta name="description" content="Unlimited access to award-winning journalism.">
<link rel="canonical" href="https://news.example/subscribe">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"WebPage",
"name":"Subscribe"}</script>
</head>"""

SSO_AUTHORIZE_HEAD = """<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Corp Example Single Sign-On</title>
<link rel="stylesheet" href="/static/sso.css">
</head>"""

AUTH0_UNIVERSAL_LOGIN = """<!DOCTYPE html><html lang="en"><head>
<meta charset="utf-8"><meta name="robots" content="noindex, nofollow">
<title>Log in | Example App</title>
<link rel="stylesheet" href="https://cdn.auth0.com/ulp/react-components/1.102.1/css/main.cdn.min.css">
</head><body><main class="_widget login-id">
<section class="c7c2d7b8f"><h1 class="c5e8ed9e1">Welcome</h1>
<form method="POST" class="c1939bbc3 _form-login-password" data-form-primary="true">
<input type="hidden" name="state" value="hKFo2SBSaE5rT1ZpMWJ3">
<input class="input" inputmode="email" name="username" id="username" type="text" value="">
<input class="input" name="password" id="password" type="password" autocomplete="current-password">
<button type="submit" name="action" value="default">Continue</button>
</form></section></main></body></html>"""

SHOP_ACCOUNT_LOGIN = """<html><head><title>Account login &ndash; Example Shop</title></head>
<body><form action="/account/login" method="post">
<input name="csrfmiddlewaretoken" type="hidden" value="x">
<input name="email" type="email"><input name="password" type="password">
<button>Sign in</button></form></body></html>"""

ROUTER_BLOG_POST = """<!DOCTYPE html><html><head>
<title>How to log in to your router | Router Blog</title>
<meta property="og:type" content="article">
</head><body><article><h1>How to log in to your router</h1>
<p>Open 192.168.0.1 in a browser and type the admin password printed on the label.</p>
<p>The login screen looks like this:</p>
<form><input type="text" placeholder="admin"><input type="password" placeholder="••••"></form>
</article></body></html>"""

LOCALE_HOME_WITH_LOGIN_WIDGET = """<html><head><title>Example News &ndash; Home</title></head>
<body><header><form class="mini-login"><input name="u"><input type="password" name="p">
</form></header><main>Top stories</main></body></html>"""

LOGIN_CASES: list[tuple[str, str, str, Sequence[str], str | None, bool]] = [
    (
        "WordPress wp-login.php",
        "https://blog.example/members/essay/",
        "https://blog.example/wp-login.php?redirect_to=https%3A%2F%2Fblog.example%2Fmembers"
        "%2Fessay%2F&reauth=1",
        ["https://blog.example/members/essay/"],
        WORDPRESS_LOGIN,
        True,
    ),
    (
        "news site /subscribe?return=",
        "https://news.example/politics/2024/06/budget-vote",
        "https://news.example/subscribe?return=%2Fpolitics%2F2024%2F06%2Fbudget-vote",
        ["https://news.example/politics/2024/06/budget-vote"],
        NEWS_SUBSCRIBE_HEAD,
        True,
    ),
    (
        "SSO /oauth/authorize",
        "https://wiki.corp.example/spaces/ENG/overview",
        "https://sso.corp.example/oauth/authorize?client_id=wiki&response_type=code"
        "&redirect_uri=https%3A%2F%2Fwiki.corp.example%2Fcallback&state=af0ifjsldkj",
        ["https://wiki.corp.example/spaces/ENG/overview"],
        SSO_AUTHORIZE_HEAD,
        True,
    ),
    (
        "Auth0 universal login",
        "https://app.example.com/dashboard/reports",
        "https://example.us.auth0.com/u/login?state=hKFo2SBSaE5rT1ZpMWJ3",
        [
            "https://app.example.com/dashboard/reports",
            "https://example.us.auth0.com/authorize?client_id=abc&response_type=code",
        ],
        AUTH0_UNIVERSAL_LOGIN,
        True,
    ),
    (
        "/account/login?next=",
        "https://shop.example/orders/123",
        "https://shop.example/account/login?next=/orders/123",
        ["https://shop.example/orders/123"],
        SHOP_ACCOUNT_LOGIN,
        True,
    ),
    (
        "login word and return parameter, no endpoint (two signals)",
        "https://mag.example/features/long-read",
        "https://mag.example/account/?next=/features/long-read",
        ["https://mag.example/features/long-read"],
        "<head><title>Your Example Magazine</title></head>",
        True,
    ),
    (
        "login endpoint reached without redirect, with a password form",
        "https://shop.example/account/login",
        "https://shop.example/account/login",
        [],
        SHOP_ACCOUNT_LOGIN,
        True,
    ),
    (
        "http to https of a login endpoint: the same page, with a password form",
        "http://shop.example/account/login",
        "https://www.shop.example/account/login/",
        ["http://shop.example/account/login"],
        SHOP_ACCOUNT_LOGIN,
        True,
    ),
    # False positives the heuristics must not make:
    (
        "blog post about logging in, not reached by redirect",
        "https://routers.example/blog/login-tips",
        "https://routers.example/blog/login-tips",
        [],
        ROUTER_BLOG_POST,
        False,
    ),
    (
        "http to https of the same path",
        "http://example.org/articles/sso-explained",
        "https://www.example.org/articles/sso-explained/",
        ["http://example.org/articles/sso-explained"],
        "<head><title>SSO explained | Example</title></head>",
        False,
    ),
    (
        "redirect to the /en/ locale root (with a login widget in the page)",
        "https://example.com/",
        "https://example.com/en/",
        ["https://example.com/"],
        LOCALE_HOME_WITH_LOGIN_WIDGET,
        False,
    ),
    (
        "slug change that keeps the word",
        "https://gov.example/2019/register-to-vote",
        "https://gov.example/guides/register-to-vote-2024",
        ["https://gov.example/2019/register-to-vote"],
        "<head><title>Register to vote: a guide</title></head>",
        False,
    ),
    (
        "subscribe page reached directly",
        "https://news.example/subscribe",
        "https://news.example/subscribe",
        [],
        NEWS_SUBSCRIBE_HEAD,
        False,
    ),
    (
        "login endpoint without any page signal (head only, plain title)",
        "https://example.net/login",
        "https://example.net/login",
        [],
        "<head><title>Example</title></head>",
        False,
    ),
    (
        "a redirect with one weak signal only",
        "https://example.net/a",
        "https://example.net/session-notes/a",
        ["https://example.net/a"],
        "<head><title>Notes</title></head>",
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "url", "final_url", "redirects", "html", "refused"),
    LOGIN_CASES,
    ids=[c[0] for c in LOGIN_CASES],
)
def test_login_walls(
    case: str,
    url: str,
    final_url: str,
    redirects: Sequence[str],
    html: str | None,
    refused: bool,
) -> None:
    asset = make_asset(url, final_url=final_url, redirects=redirects, html=html)
    found = [f for f in run(asset) if f.reason == AccessReason.LOGIN_REDIRECT]
    assert bool(found) is refused, login_evidence(asset)
    if found:
        assert found[0].refusal
        assert (found[0].detail or "").startswith(final_url[:60])


def test_login_evidence_details() -> None:
    url = "https://news.example/politics/2024/06/budget-vote"
    asset = make_asset(
        url,
        final_url="https://news.example/subscribe?return=%2Fpolitics%2F2024%2F06%2Fbudget-vote",
        redirects=[url],
        html=NEWS_SUBSCRIBE_HEAD,
    )
    evidence = login_evidence(asset)
    assert evidence is not None
    assert evidence.redirected
    assert evidence.gate_endpoint == "subscribe"
    assert evidence.login_endpoint is None
    assert evidence.return_param == "return"
    assert evidence.title == "subscribe to the daily example"
    assert "subscribe" in evidence.words
    assert is_login_wall(evidence)


@pytest.mark.parametrize(
    ("title", "is_sign_in"),
    [
        ("Log In &lsaquo; Example Blog &mdash; WordPress", True),
        ("Sign in - Google Accounts", True),
        ("Sign in to GitHub &middot; GitHub", True),
        ("Log in to The Daily Example", True),
        ("Account login &ndash; Example Shop", True),
        ("Login", True),
        ("Subscription required", True),
        ("How to log in to your router | Router Blog", False),
        ("Login tips for routers", False),
        ("Sign-in sheets for volunteers", False),
        ("Example News &ndash; Home", False),
    ],
)
def test_sign_in_titles(title: str, is_sign_in: bool) -> None:
    asset = make_asset(html=f"<head><title>{title}</title></head>")
    evidence = login_evidence(asset)
    assert evidence is not None
    assert (evidence.title is not None) is is_sign_in


def test_unreadable_urls_never_raise() -> None:
    asset = make_asset("http://[::1/", final_url="http://[bad", redirects=["http://[::1/"])
    assert login_evidence(asset) is None
    assert run(asset) == ()


# --- paywall markup --------------------------------------------------------------------------

# Google Search Central, "Structured data for subscription and paywalled content
# (CreativeWork)", the NewsArticle example: the article and a hasPart WebPageElement are both
# marked isAccessibleForFree false.
# https://developers.google.com/search/docs/appearance/structured-data/paywalled-content
GOOGLE_EXAMPLE = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Article headline",
    "image": "https://example.org/thumbnail1.jpg",
    "datePublished": "2025-02-05T08:00:00+08:00",
    "dateModified": "2025-02-05T09:20:00+08:00",
    "author": {"@type": "Person", "name": "John Doe", "url": "https://example.com/profile/j"},
    "description": "A most wonderful article",
    "isAccessibleForFree": False,
    "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".paywall"},
}


def jsonld_page(*blocks: object | str) -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{b if isinstance(b, str) else json.dumps(b)}</script>'
        for b in blocks
    )
    return f"<html><head><title>Article headline</title>{scripts}</head><body></body></html>"


PAYWALL_CASES: list[tuple[str, str, bool]] = [
    ("Google's NewsArticle example", jsonld_page(GOOGLE_EXAMPLE), True),
    (
        "string 'False'",
        jsonld_page({"@type": "Article", "isAccessibleForFree": "False"}),
        True,
    ),
    ("string 'false'", jsonld_page({"@type": "Article", "isAccessibleForFree": "false"}), True),
    (
        "schema.org/False IRI",
        jsonld_page({"@type": "Article", "isAccessibleForFree": "https://schema.org/False"}),
        True,
    ),
    (
        "@value object",
        jsonld_page({"@type": "Article", "isAccessibleForFree": {"@value": "false"}}),
        True,
    ),
    (
        "full IRI property",
        jsonld_page({"@type": "Article", "http://schema.org/isAccessibleForFree": False}),
        True,
    ),
    (
        "an array of nodes",
        jsonld_page(
            [{"@type": "WebSite", "name": "x"}, {"@type": "Article", "isAccessibleForFree": False}]
        ),
        True,
    ),
    (
        "@graph member",
        jsonld_page(
            {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "Organization", "name": "The Daily Example"},
                    {"@type": "NewsArticle", "isAccessibleForFree": "False"},
                ],
            }
        ),
        True,
    ),
    (
        "only a hasPart list element is paywalled",
        jsonld_page(
            {
                "@type": "NewsArticle",
                "isAccessibleForFree": True,
                "hasPart": [
                    {"@type": "WebPageElement", "isAccessibleForFree": True, "cssSelector": ".a"},
                    {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".b"},
                ],
            }
        ),
        True,
    ),
    (
        "CDATA-wrapped block",
        jsonld_page('//<![CDATA[\n{"isAccessibleForFree": false}\n//]]>'),
        True,
    ),
    (
        "malformed block is skipped, the valid one still read",
        jsonld_page('{"isAccessibleForFree": false,,}', {"isAccessibleForFree": "false"}),
        True,
    ),
    (
        "microdata meta",
        '<html><body><article itemscope itemtype="https://schema.org/NewsArticle">'
        '<meta itemprop="isAccessibleForFree" content="False"><h1 itemprop="headline">H</h1>'
        "</article></body></html>",
        True,
    ),
    (
        "microdata link to schema.org/False",
        '<div itemscope itemtype="https://schema.org/Article">'
        '<link itemprop="isAccessibleForFree" href="https://schema.org/False"></div>',
        True,
    ),
    # Not paywalled:
    ("true", jsonld_page({"@type": "Article", "isAccessibleForFree": True}), False),
    ("'True'", jsonld_page({"@type": "Article", "isAccessibleForFree": "True"}), False),
    ("property absent", jsonld_page({"@type": "Article", "headline": "free"}), False),
    (
        "the word in a text value is no statement",
        jsonld_page({"@type": "Article", "description": "isAccessibleForFree: false"}),
        False,
    ),
    ("malformed block only", jsonld_page('{"isAccessibleForFree": false'), False),
    ("wrong JSON type", jsonld_page('"isAccessibleForFree"'), False),
    (
        "microdata true",
        '<div itemscope><meta itemprop="isAccessibleForFree" content="true"></div>',
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "html", "refused"), PAYWALL_CASES, ids=[c[0] for c in PAYWALL_CASES]
)
def test_paywall_markup(case: str, html: str, refused: bool) -> None:
    found = [f for f in run(make_asset(html=html)) if f.reason == AccessReason.PAYWALL_MARKUP]
    assert bool(found) is refused
    assert all(f.refusal for f in found)


def test_paywall_findings_are_one_per_page_with_every_place_counted() -> None:
    html = jsonld_page(GOOGLE_EXAMPLE).replace(
        "<title>", '<meta itemprop="isAccessibleForFree" content="False"><title>'
    )
    places = paywall_markup(make_asset(html=html))
    assert len(places) == 3  # the article, its hasPart, the microdata
    assert places[0].startswith("JSON-LD block 1 $ (NewsArticle)")
    assert "$.hasPart (WebPageElement)" in places[1]
    found = [f for f in run(make_asset(html=html)) if f.reason == AccessReason.PAYWALL_MARKUP]
    assert len(found) == 1
    assert (found[0].detail or "").endswith("(and 2 more)")


def test_nesting_beyond_the_depth_limit_is_not_read() -> None:
    node: dict[str, object] = {"isAccessibleForFree": False}
    for _ in range(MAX_JSON_DEPTH + 5):
        node = {"hasPart": node}
    assert paywall_markup(make_asset(html=jsonld_page(node))) == []
    shallow: dict[str, object] = {"isAccessibleForFree": False}
    for _ in range(MAX_JSON_DEPTH - 2):
        shallow = {"hasPart": shallow}
    assert len(paywall_markup(make_asset(html=jsonld_page(shallow)))) == 1


def test_hostile_json_never_raises_and_is_bounded() -> None:
    deep = '{"isAccessibleForFree": false, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    wide = json.dumps({"isAccessibleForFree": True, "items": [{"a": [1]}] * 30_000})
    start = time.perf_counter()
    assert paywall_markup(make_asset(html=jsonld_page(deep))) == []
    assert paywall_markup(make_asset(html=jsonld_page(wide))) == []
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (False, True),
        ("false", True),
        ("FALSE", True),
        (" False ", True),
        ("http://schema.org/False", True),
        ("schema:False", True),
        ({"@value": False}, True),
        ([False], True),
        (True, False),
        ("true", False),
        (0, False),
        (None, False),
        ("no", False),
        ({"@value": {"@value": {"@value": {"@value": False}}}}, False),  # nesting bound
    ],
)
def test_is_false(value: object, expected: bool) -> None:
    assert is_false(value) is expected


# --- the check as a whole --------------------------------------------------------------------


def test_every_reason_at_once_in_order_and_deduplicated() -> None:
    url = "https://news.example/politics/budget-vote"
    asset = make_asset(
        url,
        final_url="https://news.example/subscribe?return=%2Fpolitics%2Fbudget-vote",
        redirects=[url],
        status=402,
        headers=[("crawler-price", "USD 0.01"), ("crawler-price", "USD 0.01")],
        html=jsonld_page(GOOGLE_EXAMPLE),
    )
    assert reasons(asset) == (
        Reason.ACCESS_PAYMENT_REQUIRED,
        AccessReason.LOGIN_REDIRECT,
        AccessReason.PAYWALL_MARKUP,
    )
    assert run(asset) == run(asset)  # deterministic


def test_a_refusal_reserves_every_purpose_when_combined() -> None:
    combined = combine(run(make_asset(status=401)), [Purpose.SEARCH])
    assert combined.reserved
    assert combined.reasons == (Reason.ACCESS_AUTH_REQUIRED,)
    assert all(r.state == "reserved" for r in combined.by_purpose.values())


def test_non_html_asset() -> None:
    asset = make_asset(content_type="application/pdf", html=None)
    assert run(asset) == ()
