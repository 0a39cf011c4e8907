"""What each check costs: asset checks per response, site checks per URL, beside robots.txt.

Asset checks run over the responses of the demo web (every HTML route of the hand-written demo
and the signal hosts, plus generated pages and a publisher-style page whose head carries 40 meta
tags and a JSON-LD block), each given as the crawler sends it: the HTML up to ``</head>``.
The HTML head is parsed once per response and shared by every check (``Asset.html_facts``); that
parse is its own line, and each check is then timed on responses whose head is already parsed.

Site checks run over real robots.txt files (the corpus, ``benchmarks/data``), each with the
~20 URLs of ``robots_engine.sample_paths``; tdmrep.json, ai.txt and RSL documents are absent,
as they are for most origins. The baseline on the same URLs is Protego's ``can_fetch`` on a
parsed file (what Scrapy's ``ROBOTSTXT_OBEY`` does per request).

    python -m benchmarks.checks [--runs 5] [--files 1000]

Medians of RUNS. The last lines are ``asset_checks_us_per_response=<sum of every asset check
and the head parse>`` and ``site_checks_us_per_url=<sum of every site check>`` next to
``protego_us_per_url=``.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from protego import Protego

from benchmarks.robots_engine import load_corpus, sample_paths
from crawler.demo.signals import signal_sites
from crawler.demo.sites import HTML, Site, demo_sites, generated_sites, html_page
from optout_service.checks import asset_checks, site_checks
from optout_service.checks.base import Asset, AssetCheck, Document, SiteCheck
from optout_service.checks.base import Site as CheckSite
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules, decode_robots
from optout_service.purposes import Purpose

TOKEN = "ExampleBot"
PURPOSES = frozenset({Purpose.TRAIN_AI})
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
HEAD_MAX_BYTES = 65536  # COMPLIANCE_HEAD_MAX_BYTES


def publisher_page() -> bytes:
    """A news page's head as publishers write them: many meta tags, OpenGraph, JSON-LD."""
    metas = "".join(
        f'<meta property="og:tag{n}" content="value number {n} of the article">\n'
        for n in range(40)
    )
    ld = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":'
        '"NewsArticle","headline":"Harbour expansion","isAccessibleForFree":true,'
        '"author":[{"@type":"Person","name":"A. Writer"}],"publisher":{"@type":"Organization",'
        '"name":"Harbour Gazette","logo":{"@type":"ImageObject","url":"https://x/logo.png"}},'
        '"datePublished":"2026-11-30T08:00:00Z"}</script>'
    )
    page = html_page("Harbour expansion", "A long article. " * 400, [f"/a{n}" for n in range(50)])
    return page.replace("<head>", f"<head>\n{metas}{ld}\n", 1).encode()


def head_of(body: bytes) -> str:
    start = body[:HEAD_MAX_BYTES]
    end = _HEAD_END.search(start)
    return (start[: end.end()] if end else start).decode("utf-8", errors="replace")


def responses() -> list[Asset]:
    sites: dict[str, Site] = {**demo_sites(), **signal_sites(), **generated_sites(10, 30)}
    assets: list[Asset] = []
    for site in sites.values():
        for path, route in site.routes.items():
            if route.content_type != HTML or route.status >= 300:
                continue
            url = f"http://{site.host}{path}"
            body = route.body if isinstance(route.body, bytes) else route.body.encode()
            headers = (("Content-Type", route.content_type), *route.headers)
            assets.append(asset(url, route.status, headers, body))
    big = publisher_page()
    for n in range(20):
        url = f"http://www.harbourgazette.co.uk/news/{n}.html"
        assets.append(asset(url, 200, (("Content-Type", HTML),), big))
    return assets


def asset(url: str, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> Asset:
    return Asset(
        url=url,
        final_url=url,
        status=status,
        headers=tuple(headers),
        content_type=HTML,
        html=head_of(body),
        token=TOKEN,
        purposes=PURPOSES,
    )


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def parse_heads(assets: Sequence[Asset]) -> Callable[[], object]:
    return lambda: [asset.html_facts for asset in assets]


def run_asset_check(check: AssetCheck, assets: Sequence[Asset]) -> Callable[[], object]:
    return lambda: [list(check.check(asset)) for asset in assets]


def run_site_check(
    check: SiteCheck, sites: Sequence[CheckSite], paths: Sequence[Sequence[str]]
) -> Callable[[], object]:
    return lambda: [
        list(check.check(site, path))
        for site, file_paths in zip(sites, paths, strict=True)
        for path in file_paths
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000, help="robots.txt files of the corpus")
    args = parser.parse_args()

    assets = responses()
    checks = asset_checks()
    parse_times: list[float] = []
    per_check: dict[str, list[float]] = {check.name: [] for check in checks}
    for _ in range(args.runs):
        fresh = [replace(a) for a in assets]  # html_facts not parsed yet
        parse_times.append(timed(parse_heads(fresh)))
        for asset_check in checks:
            per_check[asset_check.name].append(timed(run_asset_check(asset_check, fresh)))
    count = len(assets)
    head_bytes = statistics.median(len(a.html or "") for a in assets)
    print(f"asset checks: {count} responses (median head {head_bytes:.0f} chars), {args.runs} runs")
    print(f"{'asset check':<28} {'us/response':>12}")
    head_us = statistics.median(parse_times) / count * 1e6
    print(f"{'HTML head parse (shared)':<28} {head_us:>12.1f}")
    total_asset = head_us
    for name, times in per_check.items():
        us = statistics.median(times) / count * 1e6
        total_asset += us
        print(f"{name:<28} {us:>12.1f}")

    corpus = load_corpus()[: args.files]
    texts = [decode_robots(body) for _, body in corpus]
    paths = [sample_paths(text) for text in texts]
    sites = [
        CheckSite(
            origin="http://example.com",
            token=TOKEN,
            purposes=PURPOSES,
            documents={
                "robots_txt": Document(
                    "robots_txt",
                    "http://example.com/robots.txt",
                    FetchOutcome.OK,
                    200,
                    RobotsRules(FetchOutcome.OK, body, 200),
                )
            },
        )
        for _, body in corpus
    ]
    protego = [Protego.parse(text) for text in texts]
    urls = sum(len(p) for p in paths)
    checks_before = site_checks()
    site_times: dict[str, list[float]] = {check.name: [] for check in checks_before}
    protego_times: list[float] = []
    for _ in range(args.runs):
        for site_check in checks_before:
            site_times[site_check.name].append(timed(run_site_check(site_check, sites, paths)))
        protego_times.append(
            timed(
                lambda: [
                    robots.can_fetch(f"http://example.com{path}", TOKEN)
                    for robots, file_paths in zip(protego, paths, strict=True)
                    for path in file_paths
                ]
            )
        )
    print(f"\nsite checks: {len(sites)} real robots.txt files, {urls} URLs, {args.runs} runs")
    print(f"{'site check':<28} {'us/URL':>12}")
    total_site = 0.0
    for name, times in site_times.items():
        us = statistics.median(times) / urls * 1e6
        total_site += us
        print(f"{name:<28} {us:>12.2f}")
    protego_us = statistics.median(protego_times) / urls * 1e6
    print(f"{'(Protego can_fetch)':<28} {protego_us:>12.2f}")
    print(f"asset_checks_us_per_response={total_asset:.1f}")
    print(f"site_checks_us_per_url={total_site:.2f}")
    print(f"protego_us_per_url={protego_us:.2f}")


if __name__ == "__main__":
    main()
