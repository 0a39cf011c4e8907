"""Service memory over a long crawl: does the opt-out service's RSS stay flat?

The goal measured ("bounded memory"): over a crawl of 100,000 distinct origins the service's
resident memory levels off, because what it keeps per origin (the robots.txt caches) is bounded
in bytes, and everything else it records (the decision log, every robots.txt fetch and body)
goes to its database on disk.

How, all on loopback:

- The real service runs as a separate process, started exactly as a crawl's embedded
  ``process`` mode starts it (:class:`crawler.embedded.ServiceProcess`: ``python -m
  optout_service.cli serve`` on a Unix socket, settings as ``OPTOUT_*`` variables), with a
  SQLite file in a temporary directory.
- This process serves a made-up web, *memweb*, that answers for any host name: a small
  HTTP/1.1 server on 127.0.0.1 that the service uses as its HTTP forward proxy
  (``http_proxy``, inherited by the service's environment). The service sends it absolute-form
  requests (``GET http://o12345.memweb.test/robots.txt HTTP/1.1``); the proxy never forwards
  anything, it answers itself, and resolves no names, so ``*.memweb.test`` needs no DNS.
  Per host, chosen deterministically from a hash of the name: 5 % answer 404, 3 % answer
  503, the rest 200 with a file of the real robots.txt corpus (benchmarks/corpus_web.py,
  ``load_corpus``), so parsed sizes vary as they do on the web. About a third of the 200
  hosts serve their corpus file byte for byte (many origins sharing a file: it is parsed and
  cached once), the others the file with a comment naming the host appended (bytes of their
  own, same rules: each is parsed and cached on its own, as most real origins' files are).
- The service's SSRF guard stays on. Only the proxy endpoint (operator configuration) may be
  on a private address; every URL host is still checked (``memweb.test`` names are neither IP
  literals nor local-only names) and resolved by the proxy (docs/security.md, "Proxies").
  ``fetch.allow_private_networks`` is not used. The proxy keeps connections alive, but the
  service's HTTP client (httpcore) keeps a forwarding connection per *target* origin, so each
  new origin opens a new connection to the proxy ("requests on connections" in the output).
- ORIGINS origins ``http://o<n>.memweb.test/`` go through ``POST /v1/decisions`` (the crawl's
  own client, :class:`crawler.optout_client.HttpOptOutClient`), 1 to 3 URLs per origin, in
  batches of 64 URLs, CONCURRENCY batches in flight. Every origin is new, so each one costs a
  robots.txt fetch, a parse or a parsed-cache hit, an origin-cache entry and logged rows.
- Every EVERY origins the service's ``VmRSS``, ``RssAnon`` and ``VmHWM`` are read from
  ``/proc/<pid>/status``, from outside the service.

Command lines::

    python benchmarks/service_memory.py                       # 100,000 origins, default budgets
    python benchmarks/service_memory.py --origins 20000 --parsed-cache-mib 8 --origin-cache-mib 8
    python benchmarks/service_memory.py [--origins N] [--every K] [--concurrency C] [--batch B]
        [--parsed-cache-mib M] [--origin-cache-mib M] [--max-cached-origins N]

The second is the quick mode (about 40 s on two cores): with small budgets the robots.txt
caches are full after a few thousand origins. Inputs are deterministic (same hosts, same
bodies, same URLs every run), so runs differ only by timing and the allocator.

Reading the result: the robots.txt caches are bounded in bytes (``robots.parsed_cache_bytes``,
``robots.origin_cache_bytes``, and at most ``robots.max_cached_origins`` origins), so RSS should
rise while they fill and then stay level; the SQLite log grows on disk (its size is printed),
not in memory. The summary gives RSS at 10 %, 50 % and 100 % of the run and the growth from the
10 % point to the end (and from the 50 % point), in MiB and in MiB per 10,000 origins; a
bounded service shows a growth per 10,000 origins near zero once the run is well past the
point where everything it keeps is full. RSS does not fall back when entries are evicted: the
allocator keeps freed memory for reuse, so a plateau, not a drop. VmHWM is the peak.

Not everything the service keeps is bounded in bytes, and that shows here too:

- the table of recent decisions (``repository.RecentDecisions``, read by observations) keeps
  the last 100,000 decisions whatever their size, about 370 bytes each (~35 MiB when full); at
  2 URLs per origin it is full at about 50,000 origins, so a 20,000-origin run never sees the
  plateau whatever the cache budgets, and only the second half of a 100,000-origin run does;
- the piracy matcher's host cache (``piracy_lists.matching._normalised``, ``lru_cache`` of
  16,384 hosts, a few MiB) is full at about 16,000 origins;
- glibc's heap: bodies and parse buffers larger than its (dynamic) mmap threshold end up in
  the heap and leave free holes there that RSS keeps; ``MALLOC_MMAP_THRESHOLD_=131072`` in the
  environment (inherited by the service) fixes the threshold and shows how much that is.

The last line is ``rss_growth_mib_per_10k_origins=<x>`` (from the 10 % point to the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from benchmarks.corpus_web import ORDINARY_PATHS, load_corpus  # noqa: E402
from crawler.embedded import ServiceProcess  # noqa: E402
from crawler.optout_client import HttpOptOutClient  # noqa: E402
from optout_service.config import RobotsSettings  # noqa: E402

TOKEN = "ExampleBot"
HOST_SUFFIX = "memweb.test"
MIB = 1024 * 1024
# Shares of hosts, in percent: robots.txt answers 404, answers 503, is a corpus file shared
# byte for byte with other hosts; the rest serve a corpus file with bytes of their own.
NOT_FOUND_PERCENT = 5
UNAVAILABLE_PERCENT = 3
SHARED_PERCENT = 30
DEFAULT_ORIGINS = 100_000
DEFAULT_BATCH = 64
DEFAULT_CONCURRENCY = 4
MAX_URLS_PER_ORIGIN = 3
SAMPLE_EVERY = 5_000
SUMMARY_PERCENTS = (10, 50, 100)
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
_STATUS_FIELDS = frozenset({"VmRSS", "RssAnon", "VmHWM"})
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY")


# --- the web: one deterministic answer per host ----------------------------------------------


def host_name(n: int) -> str:
    return f"o{n}.{HOST_SUFFIX}"


def _draw(host: str) -> int:
    """A stable 64-bit number for a host (blake2b, not ``hash``, which is salted per process)."""
    digest = hashlib.blake2b(host.lower().encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """What a host's ``/robots.txt`` answers: a status and, for 200, which corpus file."""

    status: int
    corpus_index: int | None = None
    unique: bool = False  # the file with the host named in a comment: bytes of its own


def robots_answer(host: str, corpus_size: int) -> RobotsAnswer:
    """The answer of ``host``'s robots.txt, the same every time for the same name."""
    if corpus_size <= 0:
        raise ValueError("the corpus is empty")
    draw = _draw(host)
    bucket = draw % 100
    if bucket < NOT_FOUND_PERCENT:
        return RobotsAnswer(404)
    if bucket < NOT_FOUND_PERCENT + UNAVAILABLE_PERCENT:
        return RobotsAnswer(503)
    shared = bucket < NOT_FOUND_PERCENT + UNAVAILABLE_PERCENT + SHARED_PERCENT
    return RobotsAnswer(200, (draw // 100) % corpus_size, unique=not shared)


def robots_body(host: str, answer: RobotsAnswer, files: Sequence[bytes]) -> bytes:
    """The bytes served for ``answer``: the corpus file, a comment naming the host appended
    for a unique one (a comment changes no rule); a short text for an error status."""
    if answer.corpus_index is None:
        return f"{answer.status} {_REASONS.get(answer.status, '')}\n".encode()
    body = files[answer.corpus_index]
    if not answer.unique:
        return body
    separator = b"\n" if body and not body.endswith(b"\n") else b""
    return body + separator + f"# robots.txt of {host}\n".encode()


def origin_urls(n: int, most: int = MAX_URLS_PER_ORIGIN) -> list[str]:
    """1 to ``most`` page URLs of origin ``n`` (ordinary site paths), chosen by its name."""
    host = host_name(n)
    draw = _draw(host) >> 16
    count = 1 + draw % max(1, most)
    start = (draw // max(1, most)) % len(ORDINARY_PATHS)
    return [
        f"http://{host}{ORDINARY_PATHS[(start + 7 * k) % len(ORDINARY_PATHS)]}"
        for k in range(count)
    ]


def batches(
    origins: int, size: int = DEFAULT_BATCH, most: int = MAX_URLS_PER_ORIGIN
) -> Iterator[tuple[int, list[str]]]:
    """``(origins in it, URLs)`` batches of at most ``size`` URLs over origins 0..origins-1; an
    origin's URLs are never split between batches."""
    if size < most:
        raise ValueError(f"a batch of {size} URLs cannot hold an origin's {most} URLs")
    urls: list[str] = []
    count = 0
    for n in range(origins):
        mine = origin_urls(n, most)
        if len(urls) + len(mine) > size:
            yield count, urls
            urls, count = [], 0
        urls += mine
        count += 1
    if urls:
        yield count, urls


@dataclass(frozen=True, slots=True)
class ProxyAnswer:
    status: int
    body: bytes
    keep_alive: bool
    head_only: bool = False  # HEAD: headers, no body

    def encode(self) -> bytes:
        connection = "keep-alive" if self.keep_alive else "close"
        head = (
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            f"Connection: {connection}\r\n\r\n"
        ).encode("ascii")
        return head if self.head_only else head + self.body


def proxy_answer(head: bytes, files: Sequence[bytes]) -> ProxyAnswer:
    """The answer to one request head (request line and headers, up to the blank line).

    Absolute-form targets (what a client sends its forward proxy) name the host; origin-form
    ones take it from ``Host``. Only ``/robots.txt`` has content; CONNECT and anything but
    GET/HEAD are refused, and nothing is ever forwarded.
    """
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return ProxyAnswer(405, b"malformed request\n", keep_alive=False)
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    if method not in ("GET", "HEAD"):
        return ProxyAnswer(405, b"GET or HEAD only; nothing is forwarded\n", keep_alive=False)
    if target.startswith(("http://", "https://")):
        parts_of = urlsplit(target)
        host, path = parts_of.hostname or "", parts_of.path or "/"
    else:
        host = headers.get("host", "").rsplit(":", 1)[0].lower()
        path = urlsplit(target).path or "/"
    head_only = method == "HEAD"
    if path != "/robots.txt" or not host:
        return ProxyAnswer(404, b"404 Not Found\n", keep_alive, head_only)
    answer = robots_answer(host, len(files))
    return ProxyAnswer(answer.status, robots_body(host, answer, files), keep_alive, head_only)


class MemWeb:
    """The proxy that is the whole web: an asyncio HTTP/1.1 server with keep-alive."""

    def __init__(self, files: Sequence[bytes]) -> None:
        self._files = files
        self._server: asyncio.Server | None = None
        self.connections = 0
        self.statuses: Counter[int] = Counter()
        self.url = ""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._handle, host, port, backlog=1024)
        bound = self._server.sockets[0].getsockname()
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5.0)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                answer = proxy_answer(head, self._files)
                length = _content_length(head)
                if length is None:
                    answer = ProxyAnswer(405, b"request bodies are not read\n", keep_alive=False)
                elif length:
                    await reader.readexactly(length)  # a GET with a body: read, ignored
                self.statuses[answer.status] += 1
                writer.write(answer.encode())
                await writer.drain()
                if not answer.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _content_length(head: bytes) -> int | None:
    """The request body's length (0 without one); None for a body this server does not read."""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return None
    return length if length >= 0 else None


# --- measuring the service -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Memory:
    rss_kib: int  # VmRSS: resident now
    anon_kib: int  # RssAnon: the resident heap (no file-backed pages such as libraries)
    hwm_kib: int  # VmHWM: the peak of VmRSS


def parse_status(text: str) -> Memory:
    """VmRSS, RssAnon and VmHWM (kB) from the text of ``/proc/<pid>/status``."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name not in _STATUS_FIELDS:
            continue
        fields = value.split()
        if len(fields) != 2 or not fields[0].isdigit() or fields[1].lower() != "kb":
            raise ValueError(f"unexpected {name} line {line!r}")
        values[name] = int(fields[0])
    missing = [name for name in ("VmRSS", "VmHWM") if name not in values]
    if missing:
        raise ValueError(f"no {', '.join(missing)} in the status text")
    return Memory(values["VmRSS"], values.get("RssAnon", values["VmRSS"]), values["VmHWM"])


def read_memory(pid: int) -> Memory:
    return parse_status(Path(f"/proc/{pid}/status").read_text())


def parse_cpu_seconds(stat: str, ticks: int) -> float:
    """User + system CPU seconds from the text of ``/proc/<pid>/stat``."""
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15


def read_cpu_seconds(pid: int) -> float:
    return parse_cpu_seconds(Path(f"/proc/{pid}/stat").read_text(), os.sysconf("SC_CLK_TCK"))


@dataclass(frozen=True, slots=True)
class Sample:
    origins: int
    decisions: int
    elapsed: float
    memory: Memory

    @property
    def rss_mib(self) -> float:
        return self.memory.rss_kib / 1024


def sample_at(samples: Sequence[Sample], percent: float, total: int) -> Sample:
    """The first sample taken at or after ``percent`` % of ``total`` origins (else the last)."""
    if not samples:
        raise ValueError("no samples")
    wanted = total * percent / 100
    for sample in samples:
        if sample.origins >= wanted:
            return sample
    return samples[-1]


@dataclass(frozen=True, slots=True)
class Summary:
    at: dict[int, Sample]  # by percent of the run
    growth_mib: float  # RSS at the end minus RSS at the first point (10 %)
    growth_per_10k: float  # the same per 10,000 origins between those two points
    late_growth_mib: float  # RSS at the end minus RSS at the middle point (50 %)
    late_growth_per_10k: float


def _growth(first: Sample, last: Sample) -> tuple[float, float]:
    """RSS growth from ``first`` to ``last`` in MiB, and in MiB per 10,000 origins."""
    growth = last.rss_mib - first.rss_mib
    span = last.origins - first.origins
    return growth, growth * 10_000 / span if span > 0 else 0.0


def summarise(
    samples: Sequence[Sample], total: int, percents: Sequence[int] = SUMMARY_PERCENTS
) -> Summary:
    at = {percent: sample_at(samples, percent, total) for percent in percents}
    last = samples[-1]
    growth, per_10k = _growth(at[percents[0]], last)
    late, late_per_10k = _growth(at[percents[len(percents) // 2]], last)
    return Summary(at, growth, per_10k, late, late_per_10k)


def budgets(
    parsed_mib: float | None, origin_mib: float | None, max_origins: int | None
) -> dict[str, int]:
    """The robots cache budgets the service gets: the flags', else the settings' defaults.

    All three are always passed, so an inherited ``OPTOUT_ROBOTS__*`` variable cannot make the
    service run with budgets other than those printed.
    """
    defaults = RobotsSettings()
    return {
        "parsed_cache_bytes": (
            defaults.parsed_cache_bytes if parsed_mib is None else round(parsed_mib * MIB)
        ),
        "origin_cache_bytes": (
            defaults.origin_cache_bytes if origin_mib is None else round(origin_mib * MIB)
        ),
        "max_cached_origins": defaults.max_cached_origins if max_origins is None else max_origins,
    }


def progress_line(sample: Sample, previous: Sample | None) -> str:
    rate = sample.decisions / sample.elapsed if sample.elapsed > 0 else 0.0
    if previous is not None and sample.elapsed > previous.elapsed:
        recent = (sample.decisions - previous.decisions) / (sample.elapsed - previous.elapsed)
    else:
        recent = rate
    return (
        f"{sample.origins:>9,} {sample.elapsed:>8.1f} {rate:>10,.0f} {recent:>10,.0f}"
        f" {sample.rss_mib:>9.1f} {sample.memory.anon_kib / 1024:>9.1f}"
        f" {sample.memory.hwm_kib / 1024:>9.1f}"
    )


PROGRESS_HEADER = (
    f"{'origins':>9} {'elapsed_s':>8} {'dec/s':>10} {'dec/s_now':>10}"
    f" {'rss_mib':>9} {'anon_mib':>9} {'hwm_mib':>9}"
)


def summary_lines(summary: Summary, budget: Mapping[str, int], total: int) -> list[str]:
    lines = [
        "cache budgets: "
        f"parsed_cache_bytes={budget['parsed_cache_bytes']} "
        f"({budget['parsed_cache_bytes'] / MIB:g} MiB), "
        f"origin_cache_bytes={budget['origin_cache_bytes']} "
        f"({budget['origin_cache_bytes'] / MIB:g} MiB), "
        f"max_cached_origins={budget['max_cached_origins']}",
    ]
    for percent, sample in summary.at.items():
        lines.append(
            f"rss at {percent:>3}% ({sample.origins:,} origins): {sample.rss_mib:.1f} MiB"
            f" (anon {sample.memory.anon_kib / 1024:.1f} MiB, peak so far"
            f" {sample.memory.hwm_kib / 1024:.1f} MiB)"
        )
    percents = sorted(summary.at)
    first, middle = summary.at[percents[0]], summary.at[percents[len(percents) // 2]]
    for start, growth, per_10k in (
        (first, summary.growth_mib, summary.growth_per_10k),
        (middle, summary.late_growth_mib, summary.late_growth_per_10k),
    ):
        lines.append(
            f"growth from {start.origins:,} to {total:,} origins: {growth:+.1f} MiB,"
            f" {per_10k:+.2f} MiB per 10,000 origins"
        )
    return lines


# --- the run ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Progress:
    origins: int = 0
    decisions: int = 0


@contextlib.contextmanager
def _proxy_environment(proxy_url: str) -> Iterator[None]:
    """``http_proxy`` for the service (its child inherits this environment), restored after."""
    saved = {name: os.environ.get(name) for name in _PROXY_VARIABLES}
    os.environ["http_proxy"] = os.environ["HTTP_PROXY"] = proxy_url
    for name in ("no_proxy", "NO_PROXY"):  # every memweb host goes through the proxy
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _database_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob("memory.sqlite3*"))


async def _drive(
    client: HttpOptOutClient,
    args: argparse.Namespace,
    pid: int,
    samples: list[Sample],
    reasons: Counter[str],
) -> None:
    job = f"memory-{time.time_ns()}"
    work = batches(args.origins, args.batch, args.max_urls_per_origin)
    progress = _Progress()
    started = time.monotonic()
    next_sample = args.every

    async def worker() -> None:
        nonlocal next_sample
        for count, urls in work:  # shared iterator: each batch goes to one worker
            decisions = await client.decide(TOKEN, job, urls)
            for decision in decisions:
                reasons[f"{decision.decision}:{decision.reasons[0]}"] += 1
            progress.origins += count
            progress.decisions += len(decisions)
            if progress.origins >= next_sample or progress.origins == args.origins:
                sample = Sample(
                    progress.origins,
                    progress.decisions,
                    time.monotonic() - started,
                    read_memory(pid),
                )
                print(progress_line(sample, samples[-1] if samples else None), flush=True)
                samples.append(sample)
                while next_sample <= progress.origins:
                    next_sample += args.every

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))


async def run(args: argparse.Namespace) -> int:
    files = [body for _, body in load_corpus()]
    budget = budgets(args.parsed_cache_mib, args.origin_cache_mib, args.max_cached_origins)
    web = MemWeb(files)
    proxy_url = await web.start()
    samples: list[Sample] = []
    reasons: Counter[str] = Counter()
    try:
        with (
            _proxy_environment(proxy_url),
            tempfile.TemporaryDirectory(prefix="service-memory-") as tmp,
        ):
            directory = Path(tmp)
            service = ServiceProcess(
                f"sqlite:///{directory / 'memory.sqlite3'}", TOKEN, {"robots": budget}
            )
            client = await service.start(timeout=120.0)
            try:
                pid = service.pid
                assert pid is not None
                start_memory = read_memory(pid)
                print(
                    f"service pid {pid}, memweb proxy {proxy_url} (guard on), {args.origins:,}"
                    f" origins, {args.batch} URLs a batch, {args.concurrency} batches in flight;"
                    f" RSS at start {start_memory.rss_kib / 1024:.1f} MiB",
                    flush=True,
                )
                print(PROGRESS_HEADER, flush=True)
                started = time.monotonic()
                await _drive(client, args, pid, samples, reasons)
                elapsed = time.monotonic() - started
                cpu = read_cpu_seconds(pid)
                database = _database_bytes(directory)
            finally:
                await service.stop()
    finally:
        await web.stop()
    if not samples:
        print("no origins were decided")
        return 1
    last = samples[-1]
    summary = summarise(samples, args.origins)
    print()
    print(
        f"{last.decisions:,} decisions for {last.origins:,} origins in {elapsed:.1f} s:"
        f" {last.decisions / elapsed:,.0f} decisions/s, {last.origins / elapsed:,.0f} origins/s;"
        f" service CPU {cpu:.1f} s"
    )
    print(
        f"memweb: {web.requests:,} requests on {web.connections:,} connections, by status "
        + ", ".join(f"{status}: {count:,}" for status, count in sorted(web.statuses.items()))
    )
    print("decisions: " + ", ".join(f"{k} {v:,}" for k, v in reasons.most_common(6)))
    print(f"SQLite log on disk: {database / MIB:.1f} MiB")
    for line in summary_lines(summary, budget, last.origins):
        print(line)
    if web.requests < args.origins * 0.9:
        print("warning: fewer robots.txt fetches reached memweb than there were origins")
    print(f"rss_growth_mib_per_10k_origins={summary.growth_per_10k:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/service_memory.py",
        description="Service RSS over a crawl of many distinct origins (service as a process).",
    )
    parser.add_argument("--origins", type=int, default=DEFAULT_ORIGINS)
    parser.add_argument(
        "--every",
        type=int,
        help=f"origins between samples (default: 5 %% of the run, <= {SAMPLE_EVERY})",
    )
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="URLs per call")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--max-urls-per-origin", type=int, default=MAX_URLS_PER_ORIGIN)
    parser.add_argument("--parsed-cache-mib", type=float, help="robots.parsed_cache_bytes, MiB")
    parser.add_argument("--origin-cache-mib", type=float, help="robots.origin_cache_bytes, MiB")
    parser.add_argument("--max-cached-origins", type=int, help="robots.max_cached_origins")
    args = parser.parse_args(argv)
    if args.origins < 1 or args.concurrency < 1 or args.max_urls_per_origin < 1:
        parser.error("--origins, --concurrency and --max-urls-per-origin must be >= 1")
    if args.batch < args.max_urls_per_origin:
        parser.error("--batch must hold at least --max-urls-per-origin URLs")
    if args.every is None:
        args.every = max(1, min(SAMPLE_EVERY, args.origins // 20))
    elif args.every < 1:
        parser.error("--every must be >= 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
