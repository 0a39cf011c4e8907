"""The bundled demo web: virtual hosts, each showing one situation a compliant crawl must handle.

A site set is a ``dict[str, Site]`` keyed by lowercase host name. ``demo_sites()`` is the
hand-written demo, ``generated_sites()`` a synthetic web for benchmarks, ``slow_sites()`` one
large host that answers slowly, so a crawl against it lasts long enough to be interrupted, and
``delay_sites()`` hosts whose robots.txt asks for crawl delays from none to a day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from html import escape

ORDINARY_HOST = "www.harbourgazette.co.uk"
PARTIAL_HOST = "docs.lanternbooks.org"
UNREACHABLE_HOST = "shop.ferrisoutdoor.com"
NO_ROBOTS_HOST = "www.meadowrecipes.net"
PIRACY_HOST = "streamvault-free.to"
PIRACY_SUBDOMAIN_HOST = "media.streamvault-free.to"
PUBLISHER_HOST = "www.northwindtimes.com"
SLOW_HOST = "www.slowriver-archive.org"
PATIENT_HOST = "www.tidewater-almanac.org"  # Crawl-delay: 2
GLACIAL_HOST = "www.glacier-letters.org"  # Crawl-delay: 3600
DAYLONG_HOST = "www.daylong-gazette.org"  # Crawl-delay: 86400
BRISK_HOST = "www.brisk-bulletin.org"  # no crawl delay
DEMO_TOKEN = "ExampleBot"
DEMO_SEEDS: tuple[str, ...] = (f"http://{ORDINARY_HOST}/",)

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
ALLOW_ALL = "User-agent: *\nAllow: /\n"

ORDINARY_ROBOTS = (
    f"User-agent: *\nCrawl-delay: 0.5\nAllow: /\nSitemap: http://{ORDINARY_HOST}/sitemap.xml\n"
)
PARTIAL_ROBOTS = (
    "User-agent: *\nAllow: /\n\n"
    f"User-agent: {DEMO_TOKEN}\nDisallow: /private/\nDisallow: /drafts/\n"
)
PUBLISHER_ROBOTS = "User-agent: *\nDisallow:\n"
# Where PARTIAL_HOST's /reports/latest redirects to: a disallowed page nothing links to, so
# the crawler meets it only through the redirect.
PARTIAL_REDIRECT_TARGET = f"http://{PARTIAL_HOST}/private/board-minutes.html"


@dataclass(frozen=True, slots=True)
class Route:
    """What one path of a site answers. ``headers`` are sent in addition to the standard ones."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True, slots=True)
class Site:
    """One virtual host: its name and its routes keyed by path (without the query)."""

    host: str
    routes: Mapping[str, Route] = field(default_factory=dict)


def html_page(title: str, text: str, links: Iterable[str] = ()) -> str:
    """A small but realistic HTML page: head with charset and title, a paragraph, a link list."""
    items = "".join(f'<li><a href="{escape(href)}">{escape(href)}</a></li>' for href in links)
    nav = f"<ul>{items}</ul>" if items else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
        f"<p>{escape(text)}</p>\n{nav}\n</body>\n</html>\n"
    )


def _page(
    title: str,
    text: str,
    links: Iterable[str] = (),
    *,
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = (),
    delay: float = 0.0,
) -> Route:
    body = html_page(title, text, links)
    return Route(status=status, body=body, headers=headers, delay=delay)


def _text(body: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Route:
    return Route(status=status, body=body, content_type=TEXT, headers=headers)


def _site(host: str, routes: Mapping[str, Route]) -> Site:
    return Site(host, dict(routes))


def _ordinary() -> Site:
    articles = {
        "/news/harbour-expansion.html": (
            "Harbour expansion approved",
            "The council approved the new deep-water berth after a long consultation.",
        ),
        "/news/tide-tables.html": (
            "Tide tables for the week",
            "High water is at 06:12 and 18:40 on Monday; spring tides peak on Thursday.",
        ),
        "/news/lifeboat-rescue.html": (
            "Lifeboat crew rescues two sailors",
            "The volunteer crew launched at dawn and brought both sailors home safely.",
        ),
        "/about.html": (
            "About the Harbour Gazette",
            "A small local paper covering the harbour, its boats and its people since 1921.",
        ),
    }
    from crawler.demo.signals import SIGNAL_HOSTS

    elsewhere = [
        f"http://{host}/"
        for host in (
            PARTIAL_HOST,
            UNREACHABLE_HOST,
            NO_ROBOTS_HOST,
            PIRACY_HOST,
            PIRACY_SUBDOMAIN_HOST,
            PUBLISHER_HOST,
            *SIGNAL_HOSTS,
        )
    ]
    urls = "".join(
        f"  <url><loc>http://{ORDINARY_HOST}{path}</loc></url>\n" for path in ("/", *articles)
    )
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}</urlset>\n"
    )
    routes: dict[str, Route] = {
        "/robots.txt": _text(ORDINARY_ROBOTS),
        "/sitemap.xml": Route(body=sitemap, content_type="application/xml"),
        "/": _page(
            "Harbour Gazette",
            "Local news from the harbour, and a few neighbours worth reading.",
            [*articles, *elsewhere],
        ),
    }
    for path, (title, text) in articles.items():
        routes[path] = _page(title, text, ["/"])
    return _site(ORDINARY_HOST, routes)


def _partial() -> Site:
    report = PARTIAL_REDIRECT_TARGET
    return _site(
        PARTIAL_HOST,
        {
            "/robots.txt": _text(PARTIAL_ROBOTS),
            "/": _page(
                "Lantern Books documentation",
                "Guides for readers, plus reports and drafts that are not for crawlers.",
                [
                    "/guide/getting-started.html",
                    "/guide/faq.html",
                    "/private/annual-report-2026.html",
                    "/drafts/new-edition.html",
                    "/reports/latest",
                ],
            ),
            "/guide/getting-started.html": _page(
                "Getting started", "Open the reader, pick a book and turn the page.", ["/"]
            ),
            "/guide/faq.html": _page(
                "Frequently asked questions", "Yes, the lantern is included.", ["/"]
            ),
            "/private/annual-report-2026.html": _page(
                "Annual report 2026", "Disallowed to ExampleBot by robots.txt.", ["/"]
            ),
            "/drafts/new-edition.html": _page(
                "New edition (draft)", "Disallowed to ExampleBot by robots.txt.", ["/"]
            ),
            "/private/board-minutes.html": _page(
                "Board minutes", "Linked from nowhere; disallowed to ExampleBot.", ["/"]
            ),
            "/reports/latest": Route(
                status=302,
                body=html_page("Found", "The latest report has moved.", [report]),
                headers=(("Location", report),),
            ),
        },
    )


def _unreachable() -> Site:
    never = "Never fetched by a compliant crawler while robots.txt answers 5xx."
    return _site(
        UNREACHABLE_HOST,
        {
            "/robots.txt": _text(
                "Service Unavailable", status=503, headers=(("Retry-After", "120"),)
            ),
            "/": _page("Ferris Outdoor", never, ["/tents.html", "/boots.html"]),
            "/tents.html": _page("Tents", never, ["/"]),
            "/boots.html": _page("Boots", never, ["/"]),
        },
    )


def _no_robots() -> Site:
    return _site(
        NO_ROBOTS_HOST,
        {
            "/": _page(
                "Meadow Recipes",
                "Seasonal home cooking. This site has no robots.txt.",
                ["/recipes/sourdough.html", "/recipes/apple-pie.html"],
            ),
            "/recipes/sourdough.html": _page(
                "Sourdough loaf", "Flour, water, salt and two days of patience.", ["/"]
            ),
            "/recipes/apple-pie.html": _page(
                "Apple pie", "Bramley apples, cold butter and a lattice top.", ["/"]
            ),
        },
    )


def _piracy(host: str) -> Site:
    never = "Listed on the demo piracy list: a compliant crawler never contacts this host."
    return _site(
        host,
        {
            "/robots.txt": _text(ALLOW_ALL),
            "/": _page("StreamVault free movies", never, ["/movies/latest.html"]),
            "/movies/latest.html": _page("Latest releases", never, ["/"]),
        },
    )


def _publisher() -> Site:
    policy = {
        "@context": ["http://www.w3.org/ns/odrl.jsonld", {"tdm": "http://www.w3.org/ns/tdmrep#"}],
        "@type": "Offer",
        "profile": "http://www.w3.org/ns/tdmrep",
        "uid": f"http://{PUBLISHER_HOST}/tdm-policy.json",
        "assigner": {"uid": f"http://{PUBLISHER_HOST}/", "vcard:fn": "Northwind Times"},
        "permission": [
            {
                "target": f"http://{PUBLISHER_HOST}/articles/",
                "action": "tdm:mine",
                "duty": [{"action": "obtainConsent"}],
            }
        ],
    }
    return _site(
        PUBLISHER_HOST,
        {
            "/robots.txt": _text(PUBLISHER_ROBOTS),
            "/": _page(
                "Northwind Times",
                "Independent reporting. Some of it is reserved from text and data mining.",
                [
                    "/articles/open-letter.html",
                    "/articles/reserved-feature.html",
                    "/articles/noai-column.html",
                    "/premium/investigation.html",
                    "/account/dashboard.html",
                ],
            ),
            "/articles/open-letter.html": _page(
                "An open letter to our readers", "Thank you for reading, and for arguing.", ["/"]
            ),
            "/articles/reserved-feature.html": _page(
                "The long feature",
                "Text and data mining rights are reserved for this article.",
                ["/"],
                headers=(
                    ("tdm-reservation", "1"),
                    ("tdm-policy", f"http://{PUBLISHER_HOST}/tdm-policy.json"),
                ),
            ),
            "/articles/noai-column.html": _page(
                "Weekly column",
                "The author asks that this column is not used to train AI.",
                ["/"],
                headers=(("X-Robots-Tag", "noai, noimageai"),),
            ),
            "/premium/investigation.html": _page(
                "Subscribe to read",
                "This investigation is for subscribers. Subscribe to read the full story.",
                ["/"],
                status=402,
            ),
            "/account/dashboard.html": _page(
                "Sign in",
                "Your subscriber dashboard requires a login.",
                ["/"],
                status=401,
                headers=(("WWW-Authenticate", 'Basic realm="Northwind subscribers"'),),
            ),
            "/tdm-policy.json": Route(
                body=json.dumps(policy, indent=2) + "\n", content_type="application/json"
            ),
        },
    )


def demo_sites() -> dict[str, Site]:
    """The hand-written demo web: one host per situation (see the module constants)."""
    sites = [
        _ordinary(),
        _partial(),
        _unreachable(),
        _no_robots(),
        _piracy(PIRACY_HOST),
        _piracy(PIRACY_SUBDOMAIN_HOST),
        _publisher(),
    ]
    from crawler.demo.signals import signal_sites  # one host per opt-out signal

    return {site.host: site for site in sites} | signal_sites()


def generated_sites(
    hosts: int,
    pages: int,
    links_per_page: int = 5,
    delay: float = 0.0,
    robots: str = ALLOW_ALL,
    host_pattern: str = "site{:02d}.benchweb.org",
) -> dict[str, Site]:
    """``hosts`` synthetic sites of ``pages`` pages each.

    Page 0 is ``/``, page n is ``/p/<n>.html``. Each page links to the next ``links_per_page``
    pages of its host (wrapping around) and to ``/``; ``/robots.txt`` serves ``robots``.
    """
    if hosts < 0 or pages < 1 or links_per_page < 0:
        raise ValueError("hosts must be >= 0, pages >= 1 and links_per_page >= 0")
    paths = ["/", *(f"/p/{n}.html" for n in range(1, pages))]
    links_of = [
        [paths[(n + k) % pages] for k in range(1, min(links_per_page, pages - 1) + 1)]
        for n in range(pages)
    ]
    sites: dict[str, Site] = {}
    for index in range(hosts):
        host = host_pattern.format(index).lower()
        routes: dict[str, Route] = {"/robots.txt": _text(robots)}
        for n, path in enumerate(paths):
            links = links_of[n] if "/" in links_of[n] else [*links_of[n], "/"]
            routes[path] = _page(
                f"{host}: page {n}",
                f"Page {n} of {pages} on {host}, a generated site of the benchmark web.",
                links,
                delay=delay,
            )
        sites[host] = Site(host, routes)
    return sites


def slow_sites() -> dict[str, Site]:
    """One large host whose pages each take 0.05 s to answer."""
    return generated_sites(1, 300, delay=0.05, host_pattern=SLOW_HOST)


def crawl_delay_robots(seconds: float) -> str:
    return f"User-agent: *\nCrawl-delay: {seconds:g}\nAllow: /\n"


def delay_sites() -> dict[str, Site]:
    """Hosts asking for different crawl delays in their robots.txt.

    ``PATIENT_HOST`` asks for 2 s and has 200 pages (a crawl of it lasts long enough to be
    stopped, or to hit a time limit, with requests queued behind the delay); ``GLACIAL_HOST``
    (an hour) and ``DAYLONG_HOST`` (a day) have 10 pages each; ``BRISK_HOST`` asks for nothing
    and has 10 pages.
    """
    sites: dict[str, Site] = {}
    for host, pages, robots in (
        (PATIENT_HOST, 200, crawl_delay_robots(2)),
        (GLACIAL_HOST, 10, crawl_delay_robots(3600)),
        (DAYLONG_HOST, 10, crawl_delay_robots(86400)),
        (BRISK_HOST, 10, ALLOW_ALL),
    ):
        sites.update(generated_sites(1, pages, robots=robots, host_pattern=host))
    return sites


def with_delay(sites: Mapping[str, Site], delay: float) -> dict[str, Site]:
    """A copy of ``sites`` where every route answers after at least ``delay`` seconds."""
    return {
        host: Site(
            site.host,
            {
                path: replace(route, delay=max(route.delay, delay))
                for path, route in site.routes.items()
            },
        )
        for host, site in sites.items()
    }
