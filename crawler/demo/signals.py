"""Demo hosts, one per opt-out signal: each reserves its content one way, and a compliant crawl
refuses it under that signal's reason code (the table is ``SIGNAL_HOSTS``).

Site-level signals are read before the fetch (nothing of the host but its policy documents is
requested); asset-level ones after it (the page is fetched, then discarded, never kept).
"""

from __future__ import annotations

import json

from crawler.demo.sites import HTML, TEXT, Route, Site, html_page

TDMREP_HOST = "www.quillandpress.example"
CONTENT_USAGE_HOST = "www.aipref-gazette.example"
CONTENT_SIGNAL_HOST = "www.signalpost.example"
AI_TXT_HOST = "www.canvas-collective.example"
RSL_HOST = "www.licensed-letters.example"
AI_CRAWLERS_HOST = "www.no-ai-bots.example"
PAYWALL_HOST = "www.ledger-weekly.example"
LOGIN_HOST = "www.members-journal.example"
USAGE_HEADER_HOST = "www.header-herald.example"

# host -> (the reason code a crawl is refused with, before or after the fetch, what the host does)
SIGNAL_HOSTS: dict[str, tuple[str, str, str]] = {
    TDMREP_HOST: ("tdmrep.reserved", "before", "/.well-known/tdmrep.json reserves /*"),
    CONTENT_USAGE_HOST: ("aipref.train_ai_no", "before", "robots.txt Content-Usage: train-ai=n"),
    CONTENT_SIGNAL_HOST: (
        "content_signal.ai_train_no",
        "before",
        "robots.txt Content-Signal: search=yes, ai-train=no",
    ),
    AI_TXT_HOST: ("ai_txt.disallowed", "before", "/ai.txt Disallow: /"),
    RSL_HOST: ("rsl.prohibited", "before", "robots.txt License: an RSL licence, no ai-train"),
    AI_CRAWLERS_HOST: (
        "robots.ai_crawlers_reserved",
        "before",
        "robots.txt shuts out GPTBot, CCBot, ClaudeBot and Google-Extended",
    ),
    PAYWALL_HOST: ("access.paywall_markup", "after", 'JSON-LD "isAccessibleForFree": false'),
    LOGIN_HOST: ("access.login_redirect", "after", "the article redirects to a sign-in page"),
    USAGE_HEADER_HOST: ("aipref.train_ai_no", "after", "response header Content-Usage: train-ai=n"),
}

ALLOW_ALL = "User-agent: *\nAllow: /\n"


def _text(body: str) -> Route:
    return Route(body=body, content_type=TEXT)


def _article(title: str, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Route:
    return Route(body=html_page(title, text, ["/"]), headers=headers)


def _home(title: str, text: str) -> Route:
    return Route(body=html_page(title, text, ["/articles/one.html", "/articles/two.html"]))


def _site(host: str, routes: dict[str, Route], title: str) -> Site:
    pages = {
        "/": _home(title, SIGNAL_HOSTS[host][2]),
        "/articles/one.html": _article(f"{title}: the first article", "Reserved content."),
        "/articles/two.html": _article(f"{title}: the second article", "Reserved content."),
    }
    return Site(host, {**pages, **routes})


def _tdmrep() -> Site:
    policy = f"http://{TDMREP_HOST}/tdm-policy.json"
    rules = [{"location": "/*", "tdm-reservation": 1, "tdm-policy": policy}]
    return _site(
        TDMREP_HOST,
        {
            "/robots.txt": _text(ALLOW_ALL),
            "/.well-known/tdmrep.json": Route(
                body=json.dumps(rules, indent=2) + "\n", content_type="application/json"
            ),
        },
        "Quill and Press",
    )


def _rsl() -> Site:
    licence = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rsl xmlns="https://rslstandard.org/rsl">\n'
        f'  <content url="http://{RSL_HOST}/">\n'
        "    <license>\n"
        '      <permits type="usage">search</permits>\n'
        '      <prohibits type="usage">ai-train</prohibits>\n'
        "    </license>\n"
        "  </content>\n"
        "</rsl>\n"
    )
    return _site(
        RSL_HOST,
        {
            "/robots.txt": _text(f"License: http://{RSL_HOST}/license.xml\n\n{ALLOW_ALL}"),
            "/license.xml": Route(body=licence, content_type="application/rsl+xml"),
        },
        "Licensed Letters",
    )


def _paywall() -> Site:
    markup = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Quarterly results, explained",
        "isAccessibleForFree": False,
        "hasPart": {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": ".paywall",
        },
    }
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Quarterly results, explained</title>\n"
        f'<script type="application/ld+json">{json.dumps(markup)}</script>\n'
        "</head>\n<body>\n<h1>Quarterly results, explained</h1>\n"
        '<p>The first paragraph is free.</p><div class="paywall">Subscribers read on.</div>\n'
        "</body>\n</html>\n"
    )
    return _site(
        PAYWALL_HOST,
        {
            "/robots.txt": _text(ALLOW_ALL),
            "/articles/one.html": Route(body=page),
            "/articles/two.html": Route(body=page),
        },
        "The Ledger Weekly",
    )


def _login() -> Site:
    sign_in = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Sign in to Members Journal</title>\n</head>\n<body>\n"
        '<h1>Sign in</h1>\n<form method="post" action="/account/login">\n'
        '<label>Email <input type="email" name="email"></label>\n'
        '<label>Password <input type="password" name="password"></label>\n'
        "<button>Sign in</button>\n</form>\n</body>\n</html>\n"
    )

    def to_login(path: str) -> Route:
        return Route(
            status=302,
            body="",
            headers=(("Location", f"/account/login?next={path}"),),
        )

    return _site(
        LOGIN_HOST,
        {
            "/robots.txt": _text(ALLOW_ALL),
            "/articles/one.html": to_login("/articles/one.html"),
            "/articles/two.html": to_login("/articles/two.html"),
            "/account/login": Route(body=sign_in, content_type=HTML),
        },
        "Members Journal",
    )


def _usage_header() -> Site:
    header = (("Content-Usage", "train-ai=n"),)
    return _site(
        USAGE_HEADER_HOST,
        {
            "/robots.txt": _text(ALLOW_ALL),
            "/articles/one.html": _article("Header Herald: one", "Reserved.", headers=header),
            "/articles/two.html": _article("Header Herald: two", "Reserved.", headers=header),
        },
        "The Header Herald",
    )


def signal_sites() -> dict[str, Site]:
    """One host per signal (``SIGNAL_HOSTS``)."""
    sites = [
        _tdmrep(),
        _site(
            CONTENT_USAGE_HOST,
            {"/robots.txt": _text(f"{ALLOW_ALL}Content-Usage: train-ai=n\n")},
            "The AIPREF Gazette",
        ),
        _site(
            CONTENT_SIGNAL_HOST,
            {
                "/robots.txt": _text(
                    "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"
                )
            },
            "Signal Post",
        ),
        _site(
            AI_TXT_HOST,
            {"/robots.txt": _text(ALLOW_ALL), "/ai.txt": _text("User-Agent: *\nDisallow: /\n")},
            "Canvas Collective",
        ),
        _rsl(),
        _site(
            AI_CRAWLERS_HOST,
            {
                "/robots.txt": _text(
                    "User-agent: GPTBot\nUser-agent: CCBot\nUser-agent: ClaudeBot\n"
                    "User-agent: Google-Extended\nDisallow: /\n\n" + ALLOW_ALL
                )
            },
            "No AI Bots",
        ),
        _paywall(),
        _login(),
        _usage_header(),
    ]
    return {site.host: site for site in sites}
