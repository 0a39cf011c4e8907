"""The bundled demo web: virtual hosts, each showing one situation a compliant crawl must handle."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

ORDINARY_HOST = "www.harbourgazette.co.uk"
PARTIAL_HOST = "docs.lanternbooks.org"
UNREACHABLE_HOST = "shop.ferrisoutdoor.com"
NO_ROBOTS_HOST = "www.meadowrecipes.net"
PIRACY_HOST = "streamvault-free.to"
PIRACY_SUBDOMAIN_HOST = "media.streamvault-free.to"
PUBLISHER_HOST = "www.northwindtimes.com"
DEMO_TOKEN = "ExampleBot"
DEMO_SEEDS: tuple[str, ...] = (f"http://{ORDINARY_HOST}/",)

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Route:
    status: int = 200
    body: bytes | str = b""
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Site:
    host: str
    routes: Mapping[str, Route] = field(default_factory=dict)


def page(title: str, text: str, links: tuple[str, ...] = ()) -> Route:
    items = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><p>{text}</p><ul>{items}</ul></body></html>"
    )
    return Route(body=body)


def robots(text: str) -> Route:
    return Route(body=text, content_type="text/plain; charset=utf-8")


def demo_sites() -> dict[str, Site]:
    sites: list[Site] = []
    articles = (
        "/news/harbour-expansion.html",
        "/news/tide-tables.html",
        "/news/lifeboat-rescue.html",
        "/about.html",
    )
    elsewhere = tuple(
        f"http://{host}/"
        for host in (
            PARTIAL_HOST,
            UNREACHABLE_HOST,
            NO_ROBOTS_HOST,
            PIRACY_HOST,
            PIRACY_SUBDOMAIN_HOST,
            PUBLISHER_HOST,
        )
    )
    sitemap = "".join(f"<url><loc>http://{ORDINARY_HOST}{p}</loc></url>" for p in ("/", *articles))
    sites.append(
        Site(
            ORDINARY_HOST,
            {
                "/robots.txt": robots(
                    f"User-agent: *\nCrawl-delay: 0.5\nAllow: /\nSitemap: http://{ORDINARY_HOST}/sitemap.xml\n"
                ),
                "/": page("Harbour Gazette", "Local news from the harbour.", articles + elsewhere),
                **{
                    p: page(p.rsplit("/", 1)[1], "An ordinary article anyone may crawl.", ("/",))
                    for p in articles
                },
                "/sitemap.xml": Route(
                    body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{sitemap}</urlset>',
                    content_type="application/xml",
                ),
            },
        )
    )
    sites.append(
        Site(
            PARTIAL_HOST,
            {
                "/robots.txt": robots(
                    "User-agent: *\nAllow: /\n\n"
                    "User-agent: ExampleBot\nDisallow: /private/\nDisallow: /drafts/\n"
                ),
                "/": page(
                    "Lantern Books documentation",
                    "Guides, reports and drafts.",
                    (
                        "/guide/getting-started.html",
                        "/guide/faq.html",
                        "/private/annual-report-2026.html",
                        "/drafts/new-edition.html",
                        "/reports/latest",
                    ),
                ),
                "/guide/getting-started.html": page(
                    "Getting started", "Allowed to every crawler.", ("/",)
                ),
                "/guide/faq.html": page("FAQ", "Allowed to every crawler.", ("/",)),
                "/private/annual-report-2026.html": page(
                    "Annual report", "ExampleBot must never fetch this."
                ),
                "/drafts/new-edition.html": page(
                    "New edition (draft)", "ExampleBot must never fetch this."
                ),
                "/private/board-minutes.html": page(
                    "Board minutes", "Reached only by redirect; never fetched."
                ),
                "/reports/latest": Route(
                    status=302,
                    body="Found",
                    content_type="text/plain",
                    headers=(("Location", f"http://{PARTIAL_HOST}/private/board-minutes.html"),),
                ),
            },
        )
    )
    sites.append(
        Site(
            UNREACHABLE_HOST,
            {
                "/robots.txt": Route(
                    status=503,
                    body="Service Unavailable",
                    content_type="text/plain",
                    headers=(("Retry-After", "120"),),
                ),
                "/": page(
                    "Ferris Outdoor",
                    "A shop whose robots.txt is down.",
                    ("/tents.html", "/boots.html"),
                ),
                "/tents.html": page("Tents", "Never to be fetched while robots.txt answers 5xx."),
                "/boots.html": page("Boots", "Never to be fetched while robots.txt answers 5xx."),
            },
        )
    )
    sites.append(
        Site(
            NO_ROBOTS_HOST,
            {
                "/": page(
                    "Meadow Recipes",
                    "No robots.txt here: everything is allowed.",
                    ("/recipes/sourdough.html", "/recipes/apple-pie.html"),
                ),
                "/recipes/sourdough.html": page("Sourdough", "Flour, water, salt, time.", ("/",)),
                "/recipes/apple-pie.html": page("Apple pie", "Apples, butter, flour.", ("/",)),
            },
        )
    )
    for host in (PIRACY_HOST, PIRACY_SUBDOMAIN_HOST):
        sites.append(
            Site(
                host,
                {
                    "/robots.txt": robots("User-agent: *\nAllow: /\n"),
                    "/": page(
                        "StreamVault",
                        "On the demo piracy list: never contacted.",
                        ("/movies/latest.html",),
                    ),
                    "/movies/latest.html": page("Latest", "Never contacted."),
                },
            )
        )
    sites.append(
        Site(
            PUBLISHER_HOST,
            {
                "/robots.txt": robots("User-agent: *\nDisallow:\n"),
                "/": page(
                    "Northwind Times",
                    "A publisher that reserves some of its content.",
                    (
                        "/articles/open-letter.html",
                        "/articles/reserved-feature.html",
                        "/articles/noai-column.html",
                        "/premium/investigation.html",
                        "/account/dashboard.html",
                    ),
                ),
                "/articles/open-letter.html": page(
                    "Open letter", "No reservation: may be kept.", ("/",)
                ),
                "/articles/reserved-feature.html": Route(
                    body=page("Reserved feature", "TDM rights reserved by header.").body,
                    headers=(
                        ("tdm-reservation", "1"),
                        ("tdm-policy", f"http://{PUBLISHER_HOST}/tdm-policy.json"),
                    ),
                ),
                "/articles/noai-column.html": Route(
                    body=page("Column", "Reserved by X-Robots-Tag.").body,
                    headers=(("X-Robots-Tag", "noai, noimageai"),),
                ),
                "/premium/investigation.html": Route(
                    status=402,
                    body=page("Subscribe to read", "This investigation is for subscribers.").body,
                ),
                "/account/dashboard.html": Route(
                    status=401,
                    body=page("Sign in", "Subscribers only.").body,
                    headers=(("WWW-Authenticate", 'Basic realm="Northwind subscribers"'),),
                ),
                "/tdm-policy.json": Route(
                    body=json.dumps(
                        {
                            "@context": ["http://www.w3.org/ns/odrl.jsonld"],
                            "@type": "Offer",
                            "profile": "http://www.w3.org/ns/tdmrep",
                            "uid": f"http://{PUBLISHER_HOST}/tdm-policy.json",
                        }
                    ),
                    content_type="application/json",
                ),
            },
        )
    )
    return {site.host: site for site in sites}


def generated_sites(
    hosts: int,
    pages: int,
    links_per_page: int = 5,
    delay: float = 0.0,
    robots_txt: str = "User-agent: *\nAllow: /\n",
    host_pattern: str = "site{:02d}.benchweb.org",
) -> dict[str, Site]:
    """``hosts`` sites of ``pages`` pages; page n links to the next ``links_per_page`` pages."""
    sites: dict[str, Site] = {}
    for h in range(hosts):
        host = host_pattern.format(h)
        paths = ["/", *(f"/p/{n}.html" for n in range(1, pages))]
        routes: dict[str, Route] = {"/robots.txt": robots(robots_txt)}
        for n, path in enumerate(paths):
            links = (*(paths[(n + k) % pages] for k in range(1, links_per_page + 1)), "/")
            base = page(f"{host} page {n}", f"Page {n} of {pages}.", links)
            routes[path] = Route(body=base.body, delay=delay)
        sites[host] = Site(host, routes)
    return sites


def slow_sites() -> dict[str, Site]:
    return generated_sites(1, 300, delay=0.05, host_pattern="www.slowriver-archive.org")
