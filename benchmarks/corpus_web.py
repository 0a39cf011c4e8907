"""A local web built from the real robots.txt corpus: many hosts, few pages each.

Each corpus file (benchmarks/data/robots-corpus.tar.xz, sorted by name) becomes one made-up host,
``c<index>.corpusweb.org`` where ``index`` is the file's position in the sorted corpus, so a host
name always stands for the same file whatever slice of the corpus is served. The host serves:

- ``/robots.txt``: the file's exact bytes (``text/plain``, status 200), however odd they are;
- a few HTML pages (10 to 20 by default): about a third built from the file's own rules (the
  Allow/Disallow patterns of the groups naming ExampleBot or ``*``, ``*`` replaced by a literal and
  ``$`` dropped), the rest ordinary site paths. Each page links to the next few pages of its host,
  so a crawl from ``/`` with a depth limit finds them too.

What each page *should* get (allowed or not) is worked out with our engine
(:mod:`optout_service.policy.robots`, the service's own reading of a fetched file) and, for
comparison, with Protego decoded the way Scrapy's ``RobotsTxtMiddleware`` decodes it. Both are for
reporting only: the crawls being measured ask nobody but their own middleware.

A host whose file asks ExampleBot (or ``*``) for a crawl delay (``Crawl-delay`` or
``Request-rate``) is a *delay host*: served like every other, but left out of the throughput seed
list, since plain Scrapy ignores crawl delays and our add-on honours them, so their pages/s say
nothing about cost.

Run as ``python -m benchmarks.corpus_web --serve --hosts N`` it serves that web with the demo web
server (:class:`crawler.demo.web.DemoWeb`, which is also the HTTP proxy of the crawls).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from protego import Protego
from w3lib.url import safe_url_string

from crawler.demo.process import DemoWebProcess
from crawler.demo.sites import Route, Site, html_page
from crawler.demo.web import DemoWeb
from optout_service.config import FetchSettings
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules, decode_robots
from optout_service.policy.robotstxt import product_token

ARCHIVE = Path(__file__).resolve().parent / "data" / "robots-corpus.tar.xz"
TOKEN = "ExampleBot"
# What both crawls send (the benchmark sets it for plain Scrapy; Protego is asked with it as
# Scrapy's middleware asks, the whole string).
USER_AGENT = f"{TOKEN}/0.1 (benchmark)"
HOST_PATTERN = "c{:04d}.corpusweb.org"
DEFAULT_PAGES = (10, 20)
# The service reads at most this much of a robots.txt (fetch.max_bytes); expectations read the same.
ROBOTS_READ_BYTES = FetchSettings().max_bytes
# Rule-derived pages per host: at most this share, so most of a host is ordinary content, as in a
# real crawl frontier, yet every file with rules contributes paths it has an opinion on.
RULE_SHARE = 3
MAX_PATH_CHARS = 200
LINKS_PER_PAGE = 5
# Rules looked at per rule-derived page wanted: files with thousands of Disallow lines and a late
# Allow would otherwise cost seconds each, for one more path of the same kind.
SCANNED_RULES_PER_PAGE = 20

# Ordinary paths of a content site, some of which real files disallow (search, cart, login).
ORDINARY_PATHS: tuple[str, ...] = (
    "/",
    "/about/",
    "/news/",
    "/news/2026/03/harbour-report.html",
    "/blog/why-we-write.html",
    "/articles/4411-river-survey",
    "/products/blue-kettle",
    "/category/books/",
    "/tag/weather/",
    "/help/faq.html",
    "/events/spring-fair.html",
    "/search?q=tide+tables",
    "/page/2/",
    "/en/team.html",
    "/docs/getting-started.html",
    "/cart",
    "/login",
    "/user/jane/",
    "/archive/2019/index.html",
    "/press/releases.html",
    "/jobs/",
    "/privacy-policy/",
    "/images/harbour.jpg",
    "/forum/thread-8812.html",
)

_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Kept as written in a path; everything else is percent-encoded (UTF-8), as a browser would.
_PATH_SAFE = "/:@!$&'()*+,;=-._~?%"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a host, with the answers robots.txt should give for it (reporting only)."""

    path: str  # path and query, percent-encoded as Scrapy sends it
    allowed: bool  # our engine's reading for TOKEN
    allowed_by_protego: bool | None  # Scrapy's reading (None: Protego failed on the file)
    from_rule: bool  # built from one of the file's Allow/Disallow patterns


@dataclass(frozen=True, slots=True)
class CorpusHost:
    index: int  # position of the file in the sorted corpus
    host: str
    source: str  # the corpus file name: the real site the bytes came from
    robots: bytes
    pages: tuple[Page, ...]
    crawl_delay: float | None  # seconds between requests the file asks of TOKEN, if any

    @property
    def delayed(self) -> bool:
        return self.crawl_delay is not None and self.crawl_delay > 0

    def url(self, page: Page) -> str:
        return f"http://{self.host}{page.path}"

    def site(self) -> Site:
        """The host as a demo-web site: exact robots.txt bytes, pre-rendered pages."""
        routes: dict[str, Route] = {
            "/robots.txt": Route(body=self.robots, content_type="text/plain")
        }
        paths = [page.path for page in self.pages]
        for number, page in enumerate(self.pages):
            # The server routes by path; pages that differ only by query share one route.
            route = urlsplit(page.path).path or "/"
            if route in routes:
                continue
            links = [paths[(number + k) % len(paths)] for k in range(1, LINKS_PER_PAGE + 1)]
            routes[route] = Route(
                body=html_page(
                    f"{self.host}: page {number}",
                    f"Page {number} of {len(paths)} on {self.host}, whose robots.txt is the "
                    f"real file of {self.source}.",
                    dict.fromkeys(link for link in links if link != page.path),
                )
            )
        return Site(self.host, routes)


@dataclass(frozen=True, slots=True)
class CorpusWeb:
    hosts: tuple[CorpusHost, ...]

    @property
    def throughput_hosts(self) -> tuple[CorpusHost, ...]:
        return tuple(h for h in self.hosts if not h.delayed)

    @property
    def delay_hosts(self) -> tuple[CorpusHost, ...]:
        return tuple(h for h in self.hosts if h.delayed)

    def sites(self) -> dict[str, Site]:
        return {host.host: host.site() for host in self.hosts}

    def seeds(self, include_delay_hosts: bool = False, order: str = "host") -> list[str]:
        """Every page URL of the chosen hosts: grouped host by host (``host``, as a seed list
        written site by site) or one page of each host in turn (``interleaved``)."""
        hosts = self.hosts if include_delay_hosts else self.throughput_hosts
        if order == "host":
            return [host.url(page) for host in hosts for page in host.pages]
        if order != "interleaved":
            raise ValueError(f"unknown seed order {order!r}")
        longest = max((len(host.pages) for host in hosts), default=0)
        return [
            host.url(host.pages[n]) for n in range(longest) for host in hosts if n < len(host.pages)
        ]


def load_corpus(archive: Path = ARCHIVE) -> list[tuple[str, bytes]]:
    """(file name, exact bytes) of every corpus file, sorted by name."""
    files: list[tuple[str, bytes]] = []
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar:
            if member.isfile() and member.name.startswith("robots/"):
                extracted = tar.extractfile(member)
                if extracted is not None:
                    files.append((member.name.split("/", 1)[1], extracted.read()))
    return sorted(files)


def parse_pages(spec: str) -> tuple[int, int]:
    """``"15"`` or ``"10-20"``: the number of pages per host, fixed or a range."""
    low, dash, high = spec.partition("-")
    try:
        bounds = (int(low), int(high if dash else low))
    except ValueError:
        raise ValueError(f"pages must be N or LOW-HIGH, not {spec!r}") from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise ValueError(f"pages must be N or LOW-HIGH with 1 <= LOW <= HIGH, not {spec!r}")
    return bounds


def page_count(host: str, pages: tuple[int, int]) -> int:
    """How many pages ``host`` has: a stable draw from the range (crc32, not ``hash``, which is
    salted per process: the server and the benchmark must agree)."""
    low, high = pages
    return low + zlib.crc32(host.encode("ascii")) % (high - low + 1)


def concrete_path(pattern: str) -> str | None:
    """A path a rule pattern matches, as a URL path Scrapy would send; None if there is none.

    ``*`` becomes a literal, a final ``$`` is dropped, a missing leading ``/`` is added.
    """
    value = pattern.strip()
    if value.endswith("$"):
        value = value[:-1]
    value = value.replace("*", "x").replace("$", "")
    if not value or "://" in value:
        return None
    if not value.startswith("/"):
        value = "/" + value
    value = value[:MAX_PATH_CHARS]
    value = quote(_STRAY_PERCENT.sub("%25", value), safe=_PATH_SAFE)
    # Scrapy's own URL cleaning decides what is sent (an empty query disappears, for example).
    canonical = safe_url_string(f"http://h{value}")
    parts = urlsplit(canonical)
    path = parts.path or "/"
    segments = path.split("/")
    if path == "/robots.txt" or "." in segments or ".." in segments:
        return None  # robots.txt is always allowed; dot segments are resolved differently
    return f"{path}?{parts.query}" if parts.query else path


def rule_patterns(text: str, token: str = TOKEN) -> Iterator[tuple[bool, str]]:
    """(is_allow, pattern) of every non-empty rule in a group naming ``token`` or ``*``, in file
    order. Lenient on purpose (any line with a colon); the engine decides what they mean."""
    wanted = {token.lower(), "*"}
    in_agents = False
    applies = False
    for line in text.splitlines():
        key, colon, value = line.split("#", 1)[0].partition(":")
        if not colon:
            continue
        key = key.strip().lower()
        value = value.strip()
        if key in ("user-agent", "useragent", "user agent"):
            if not in_agents:
                applies = False
                in_agents = True
            applies = applies or product_token(value) in wanted
        elif key in ("allow", "disallow"):
            in_agents = False
            if applies and value:
                yield key == "allow", value
        else:
            in_agents = False


def rule_paths(text: str, limit: int, token: str = TOKEN) -> list[str]:
    """Up to ``limit`` distinct concrete paths from the file's rules: two Disallow patterns for
    each Allow one where the file has both, so most of them are refused and some let through."""
    disallow: list[str] = []
    allow: list[str] = []
    seen: set[str] = set()
    for number, (is_allow, pattern) in enumerate(rule_patterns(text, token)):
        if number >= SCANNED_RULES_PER_PAGE * limit or (
            len(disallow) >= limit and len(allow) >= limit
        ):
            break  # enough to choose from, even in a file of 100,000 rules
        path = concrete_path(pattern)
        if path is not None and path not in seen:
            seen.add(path)
            (allow if is_allow else disallow).append(path)
    chosen: list[str] = []
    while len(chosen) < limit and (disallow or allow):
        for bucket in (disallow, disallow, allow):
            if bucket and len(chosen) < limit:
                chosen.append(bucket.pop(0))
    return chosen


def ordinary_paths(index: int, count: int) -> list[str]:
    """``count`` ordinary paths, starting at a different place of the list for each host."""
    start = index % len(ORDINARY_PATHS)
    rotated = [*ORDINARY_PATHS[start:], *ORDINARY_PATHS[:start]]
    extra = (f"/p/{n}.html" for n in range(1, count + 1))
    return [*rotated, *extra][:count] if count > len(rotated) else rotated[:count]


def _protego(body: bytes) -> Protego | None:
    # Scrapy's ProtegoRobotParser decodes this way (scrapy.robotstxt.decode_robotstxt).
    try:
        return Protego.parse(body.decode("utf-8-sig", errors="ignore"))
    except Exception:  # a reading we only report: never let an odd file stop the benchmark
        return None


def build_host(
    index: int,
    source: str,
    body: bytes,
    pages: tuple[int, int] = DEFAULT_PAGES,
    *,
    token: str = TOKEN,
    expectations: bool = True,
) -> CorpusHost:
    """One host of the corpus web. Pure: the same input gives the same host.

    Without ``expectations`` (the server needs none) Protego is not run and ``allowed_by_protego``
    is None; our engine still runs, since it says which hosts are delay hosts.
    """
    host = HOST_PATTERN.format(index)
    count = page_count(host, pages)
    rules = RobotsRules(FetchOutcome.OK, body[:ROBOTS_READ_BYTES])
    from_rules = rule_paths(decode_robots(body), max(1, count // RULE_SHARE), token)
    paths = dict.fromkeys(from_rules)
    for path in ordinary_paths(index, count + len(from_rules)):
        if len(paths) >= count:
            break
        paths.setdefault(path)
    protego = _protego(body) if expectations else None
    built: list[Page] = []
    for path in paths:
        verdict = rules.evaluate(path, token)
        by_protego = None
        if protego is not None:
            with contextlib.suppress(Exception):
                by_protego = bool(protego.can_fetch(f"http://{host}{path}", USER_AGENT))
        built.append(Page(path, verdict.allowed, by_protego, path in from_rules))
    delay = rules.evaluate("/", token).crawl_delay
    return CorpusHost(index, host, source, body, tuple(built), delay)


def build_web(
    files: Sequence[tuple[str, bytes]],
    hosts: int,
    first: int = 0,
    pages: tuple[int, int] = DEFAULT_PAGES,
    *,
    token: str = TOKEN,
    expectations: bool = True,
) -> CorpusWeb:
    """Hosts for files ``first`` to ``first + hosts - 1`` of ``files`` (sorted corpus order)."""
    if hosts < 0 or first < 0:
        raise ValueError("hosts and first must be >= 0")
    chosen = files[first : first + hosts]
    return CorpusWeb(
        tuple(
            build_host(first + n, name, body, pages, token=token, expectations=expectations)
            for n, (name, body) in enumerate(chosen)
        )
    )


class CorpusWebProcess(DemoWebProcess):
    """The corpus web served by ``python -m benchmarks.corpus_web --serve`` in a child process."""

    def __init__(self, hosts: int, first: int, pages: str) -> None:
        # Parsing the chosen files takes a while on a loaded machine: wait longer than the demo.
        super().__init__("corpus", start_timeout=180.0)
        self.command = [
            sys.executable,
            "-m",
            "benchmarks.corpus_web",
            "--serve",
            "--hosts",
            str(hosts),
            "--first",
            str(first),
            "--pages",
            pages,
        ]


async def _serve(web: CorpusWeb, host: str, port: int) -> None:
    server = DemoWeb(web.sites())
    await server.start(host, port)
    print(f"LISTENING {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus_web",
        description="Describe or serve (--serve) the corpus web: one host per robots.txt file.",
    )
    parser.add_argument("--hosts", type=int, default=1000, help="number of corpus files")
    parser.add_argument("--first", type=int, default=0, help="first file, in sorted order")
    parser.add_argument("--pages", default="10-20", help="pages per host: N or LOW-HIGH")
    parser.add_argument("--serve", action="store_true", help="serve it on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        pages = parse_pages(args.pages)
    except ValueError as exc:
        parser.error(str(exc))
    web = build_web(load_corpus(), args.hosts, args.first, pages, expectations=not args.serve)
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(web, args.host, args.port))
        return 0
    for host in web.hosts:
        allowed = sum(page.allowed for page in host.pages)
        delay = f" crawl delay {host.crawl_delay:g} s" if host.delayed else ""
        print(f"{host.host} {host.source}: {allowed}/{len(host.pages)} pages allowed{delay}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
