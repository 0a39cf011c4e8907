"""Crawl throughput: plain Scrapy (ROBOTSTXT_OBEY=True) against the same spider with our add-on.

Two local webs, both served by the demo web server, which is also the HTTP proxy of both crawls:

- ``--web synthetic`` (the default, as ``make bench`` has always run): HOSTS x PAGES generated
  pages, a one-line robots.txt that allows everything; the crawl starts at each host's ``/`` and
  follows links.
- ``--web corpus``: one host per real robots.txt file of the corpus (benchmarks/corpus_web.py),
  1,000 hosts of 15 pages by default, some allowed and some disallowed by the file; every page
  URL is a seed and no link is followed (``--max-depth 0``), as a training crawl over a
  frontier of many hosts runs.
  Hosts whose file asks for a crawl delay are left out of the seeds (plain Scrapy ignores crawl
  delays, so their pages/s would not compare like with like) unless ``--include-delay-hosts``.

Both sides run ``crawler.spiders.links.LinkSpider`` in a fresh child process per run, interleaved,
RUNS times each, with the same concurrency. Ours runs the add-on as it configures itself by
default (service embedded, SQLite file, every decision and observation logged).

CPU is the child's ``RUSAGE_CHILDREN`` delta taken by this process around the run, so it counts
the crawl process and every process it started and reaped (a service started as a child of the
crawl is counted once it has exited). The demo web server's CPU is read from /proc for each run.

    python benchmarks/crawl.py [--web synthetic|corpus] [--hosts N] [--pages N|LOW-HIGH] [--runs 3]
        [--concurrency C] [--first F] [--order host|interleaved] [--include-delay-hosts]
        [--profile FILE.prof | --py-spy FILE.txt] [--profile-side ours|scrapy]

The last two lines are ``cpu_ratio=<plain CPU ms/page / ours>`` and
``ratio_vs_scrapy_robots=<ours / plain, by median pages/s>``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

MODES = ("scrapy", "ours")
# The web server at or above this share of one core during a crawl may be what limits it.
SERVER_BUSY = 0.8
PY_SPY_RATE = 200  # samples a second: 5 ms, fine against crawls of a minute or more


# --- the child: one crawl ------------------------------------------------------------------


def _crawl_settings(
    mode: str, concurrency: int, workdir: Path, extra: Sequence[str] = ()
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "DOWNLOAD_DELAY": 0,
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "USER_AGENT": "ExampleBot/0.1 (benchmark)",
    }
    if mode == "scrapy":
        settings["ROBOTSTXT_OBEY"] = True
    else:
        settings.update(
            {
                "ADDONS": {"crawler.addon.ComplianceAddon": 0},
                "COMPLIANCE_CRAWLER_TOKEN": "ExampleBot",
                "COMPLIANCE_JOB": f"bench-{time.time_ns()}",
                "COMPLIANCE_EMBEDDED_DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            }
        )
        for assignment in extra:  # --set NAME=VALUE: our side only, values read as JSON
            name, _, value = assignment.partition("=")
            try:
                settings[name] = json.loads(value)
            except ValueError:
                settings[name] = value
    return settings


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _thread_profiles(run: Callable[[], None], out: Path) -> None:
    """Run ``run`` under cProfile in every thread (the embedded service has its own thread and
    worker threads), timing CPU per thread, and write the merged profile to ``out``."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def start_in_thread(frame: Any, event: str, arg: Any) -> None:
        # threading.setprofile's hook runs first thing in each new thread, whatever its run()
        # is (anyio's worker threads override it): swap it for a profiler of that thread.
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start_in_thread)
    main = cProfile.Profile(time.thread_time)
    main.enable()
    try:
        run()
    finally:
        main.disable()
        threading.setprofile(None)

    class _Snapshot:
        """A thread's profile as it is now; a pool thread may still be running."""

        def __init__(self, profile: cProfile.Profile) -> None:
            profile.snapshot_stats()
            self.stats = profile.stats

        def create_stats(self) -> None:
            pass

    stats = pstats.Stats(main)
    for profile in profiles:
        stats.add(_Snapshot(profile))  # type: ignore[arg-type]
    stats.dump_stats(out)


class _GcTimer:
    """Time spent in the garbage collector, in whichever thread it ran (it holds the GIL, so
    collections never overlap). A full collection walks every tracked object of the process,
    so its cost grows with everything the process keeps, an embedded service included."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0  # collections of the oldest generation
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info["generation"] == 2


def _one_crawl(args: argparse.Namespace) -> None:
    """Run in a child process: one crawl, then print a JSON line with its figures."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response

    from crawler.spiders.links import LinkSpider

    os.environ["http_proxy"] = args.proxy
    os.environ.pop("no_proxy", None)
    os.environ.pop("NO_PROXY", None)
    workdir: Path = args.workdir
    seeds = Path(args.seeds_file).read_text(encoding="utf-8").split()
    process = CrawlerProcess(
        _crawl_settings(args.child, args.concurrency, workdir, args.set or ())
    )
    crawler = process.create_crawler(LinkSpider)
    fetched: list[str] = []
    arrived: list[float] = []

    def received(response: Response, **kwargs: Any) -> None:
        # Two list appends: nothing that weighs on either side.
        fetched.append(response.url)
        arrived.append(time.perf_counter())

    crawler.signals.connect(received, signal=signals.response_received)
    collections = _GcTimer()
    gc.callbacks.append(collections)
    startup_cpu = _cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()

    def crawl() -> None:
        process.crawl(crawler, start_urls=seeds, max_depth=args.max_depth)
        process.start()

    if args.cprofile:
        _thread_profiles(crawl, Path(args.cprofile))
    else:
        crawl()
    elapsed = time.perf_counter() - started
    stats = crawler.stats.get_stats() if crawler.stats else {}
    pages = [url for url in fetched if not url.endswith("/robots.txt")]
    # Pages received in each second of the crawl: the origin phase (every host's documents at
    # once, at the start) shows as a slow first few seconds.
    timeline: list[int] = []
    for url, at in zip(fetched, arrived, strict=True):
        if url.endswith("/robots.txt"):
            continue
        second = int(at - started)
        timeline.extend([0] * (second + 1 - len(timeline)))
        timeline[second] += 1
    (workdir / "fetched.txt").write_text("\n".join(pages) + "\n", encoding="utf-8")
    kept = ("compliance/", "robotstxt/", "log_count/ERROR", "downloader/response_status_count/")
    print(
        json.dumps(
            {
                "mode": args.child,
                "pages": len(pages),
                "timeline": timeline,
                "robots_fetches": len(fetched) - len(pages),
                "seconds": elapsed,
                "startup_cpu": startup_cpu,
                # Scrapy's loop runs on this thread: the one a GIL-bound crawl is limited by.
                "main_thread_cpu": time.thread_time(),
                "gc_seconds": collections.seconds,
                "gc_full": collections.full,
                "own_cpu": _cpu_seconds(resource.RUSAGE_SELF)
                + _cpu_seconds(resource.RUSAGE_CHILDREN),
                "stats": {k: v for k, v in stats.items() if k.startswith(kept)},
            }
        )
    )


# --- the parent: webs, runs, figures -------------------------------------------------------


@dataclass
class Expectation:
    """What a compliant crawl of the seeds fetches, page by page (corpus web only)."""

    seeds: list[str]
    allowed: dict[str, bool] = field(default_factory=dict)  # our engine, per URL
    by_protego: dict[str, bool | None] = field(default_factory=dict)  # Scrapy's parser
    expected_pages: int = 0


@dataclass
class Run:
    mode: str
    pages: int
    seconds: float
    cpu: float  # RUSAGE_CHILDREN delta: the crawl process and what it started
    startup_cpu: float  # interpreter and imports, before the crawl started
    main_thread_cpu: float  # the crawl process's main thread: Scrapy's loop
    gc_seconds: float  # in the crawl process's garbage collector
    gc_full: int
    server_cpu: float
    timeline: list[int]  # pages received in each second of the crawl
    over_fetched: int  # pages fetched that our engine disallows
    over_fetched_protego: int  # ... of which Protego disallows too (fail-open, not reading)
    stats: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / max(self.pages, 1)

    @property
    def main_thread_ms(self) -> float:
        return 1000 * self.main_thread_cpu / max(self.pages, 1)

    @property
    def main_thread_busy(self) -> float:
        """Share of the crawl's wall time the main thread spent on the CPU (start-up left out):
        below plain Scrapy's, the loop waits (on the service, or on the GIL)."""
        busy = self.main_thread_cpu - self.startup_cpu
        return busy / self.seconds if self.seconds else 0.0

    @property
    def gc_ms(self) -> float:
        return 1000 * self.gc_seconds / max(self.pages, 1)


def _server_cpu(pid: int) -> float:
    """CPU seconds the web server process has used so far (user + system)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the line)
    return ticks / os.sysconf("SC_CLK_TCK")


def _child_command(mode: str, proxy: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--proxy",
        proxy,
        "--concurrency",
        str(args.concurrency),
        "--workdir",
        str(workdir),
        "--seeds-file",
        str(workdir.parent / "seeds.txt"),
    ]
    if args.max_depth is not None:
        command += ["--max-depth", str(args.max_depth)]
    for assignment in args.set or ():
        command += ["--set", assignment]
    return command


def _run_child(
    command: Sequence[str], mode: str, server_pid: int, workdir: Path, expected: Expectation
) -> Run:
    cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
    server_before = _server_cpu(server_pid)
    # This tree's code in the crawl and in any process it starts (a service child), even when the
    # virtualenv's editable install points at another checkout (a worktree at an older commit).
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
    server = _server_cpu(server_pid) - server_before
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{mode} crawl failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    over = over_protego = 0
    if expected.allowed:
        for url in (workdir / "fetched.txt").read_text(encoding="utf-8").split():
            if not expected.allowed.get(url, True):
                over += 1
                over_protego += expected.by_protego.get(url) is False
    return Run(
        mode=mode,
        pages=int(result["pages"]),
        seconds=float(result["seconds"]),
        cpu=cpu,
        startup_cpu=float(result["startup_cpu"]),
        main_thread_cpu=float(result["main_thread_cpu"]),
        gc_seconds=float(result["gc_seconds"]),
        gc_full=int(result["gc_full"]),
        server_cpu=server,
        timeline=[int(n) for n in result.get("timeline", [])],
        over_fetched=over,
        over_fetched_protego=over_protego,
        stats=dict(result["stats"]),
    )


def _print_refusals(run: Run) -> None:
    """Our side's refusals by reason code (one request may count under several): the pages
    robots.txt rules allow but that another signal of the same files reserves show here."""
    counts = {
        key.removeprefix("compliance/"): int(value)
        for key, value in run.stats.items()
        if key.startswith(("compliance/deny/", "compliance/discard/", "compliance/skipped/"))
        and isinstance(value, int)
    }
    if counts:
        listed = ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))
        print(f"  our refusals by reason (last run): {listed}")


def _print_run(number: int, run: Run, expected: Expectation) -> None:
    server_share = run.server_cpu / run.seconds if run.seconds else 0.0
    line = (
        f"run {number} {run.mode:>6}: {run.pages:6d} pages (expected {expected.expected_pages}) "
        f"in {run.seconds:6.2f} s = {run.rate:7.1f} pages/s, CPU {run.cpu_ms:5.2f} ms/page "
        f"(main thread {run.main_thread_ms:.2f}, busy {100 * run.main_thread_busy:.0f}% of the "
        f"crawl; GC {run.gc_ms:.2f} in {run.gc_full} full "
        f"collections; startup {run.startup_cpu:.1f} s of {run.cpu:.1f} s), "
        f"web server {100 * server_share:3.0f}% of a core"
    )
    calls = sum(
        int(run.stats.get(f"compliance/service_calls/{kind}", 0))
        for kind in ("decisions", "observations")
    )
    if calls:
        line += f", {calls / max(run.pages, 1):.2f} service calls/page"
    if expected.allowed:
        line += f"; fetched {run.over_fetched} disallowed pages"
        if run.over_fetched:
            line += f" ({run.over_fetched_protego} disallowed by Protego too)"
    print(line, flush=True)
    if run.timeline:
        print(f"  pages in each second: {' '.join(map(str, run.timeline))}", flush=True)


def _synthetic(args: argparse.Namespace) -> tuple[Any, Expectation, str]:
    from crawler.demo.process import DemoWebProcess

    web = DemoWebProcess(
        sites="bench", extra_args=["--hosts", str(args.hosts), "--pages", str(args.pages)]
    )
    seeds = [f"http://site{i:02d}.benchweb.org/" for i in range(args.hosts)]
    expected = Expectation(seeds, expected_pages=args.hosts * int(args.pages))
    about = (
        f"synthetic web: {args.hosts} hosts x {args.pages} pages, robots.txt allows all; "
        "seeds: each host's /, links followed"
    )
    return web, expected, about


def _corpus(args: argparse.Namespace) -> tuple[Any, Expectation, str]:
    from benchmarks.corpus_web import CorpusWebProcess, build_web, load_corpus, parse_pages

    files = load_corpus()
    web = build_web(files, args.hosts, args.first, parse_pages(args.pages))
    if not web.hosts:
        raise SystemExit(f"no corpus file from {args.first} on ({len(files)} files)")
    seeds = web.seeds(args.include_delay_hosts, args.order)
    crawled = web.hosts if args.include_delay_hosts else web.throughput_hosts
    expected = Expectation(seeds)
    for host in crawled:
        for page in host.pages:
            expected.allowed[host.url(page)] = page.allowed
            expected.by_protego[host.url(page)] = page.allowed_by_protego
    expected.expected_pages = sum(expected.allowed.values())
    by_protego = sum(bool(v) for v in expected.by_protego.values())
    pages_total = len(seeds)
    delays = web.delay_hosts
    first, last = web.hosts[0], web.hosts[-1]
    about = "\n".join(
        [
            f"corpus web: files {first.index}-{last.index} of {len(files)} in sorted order "
            f"({first.source} .. {last.source}) as {first.host} .. {last.host}; "
            f"pages per host {args.pages}",
            f"  {len(web.throughput_hosts)} hosts without a crawl delay"
            + (
                f", and {len(delays)} delay hosts (included)"
                if args.include_delay_hosts
                else f"; {len(delays)} hosts asking for a crawl delay are served but not "
                "crawled (--include-delay-hosts crawls them)"
            ),
            f"  seeds: {pages_total} page URLs ({args.order} order), max depth 0; "
            f"our engine allows {expected.expected_pages}, Protego (Scrapy's parser) "
            f"{by_protego}",
        ]
    )
    return CorpusWebProcess(args.hosts, args.first, args.pages), expected, about


def _profile(
    args: argparse.Namespace, proxy: str, tmp: Path, server_pid: int, expected: Expectation
) -> None:
    """One more crawl of ``--profile-side`` under cProfile or py-spy; not part of the figures."""
    out: Path = (args.profile or args.py_spy).resolve()
    workdir = tmp / "profile"
    workdir.mkdir()
    command = _child_command(args.profile_side, proxy, args, workdir)
    if args.profile:
        command += ["--cprofile", str(out)]
    else:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            raise SystemExit("py-spy not found: pip install py-spy (it is not a dependency)")
        # Sampling: all threads and child processes; native-code time shows as the Python
        # frame that called it. --nonblocking: in blocking mode (the process paused for each
        # sample) py-spy counted threads waiting on a lock as busy on this machine.
        command = [spy, "record", "--nonblocking", "--format", "raw", "--full-filenames"]
        if args.py_spy_gil:
            command += ["--gil"]  # only the thread holding the GIL: what a GIL-bound crawl waits on
        command += [
            "--subprocesses",
            "--rate",
            str(PY_SPY_RATE),
            "--output",
            str(out),
            "--",
            *_child_command(args.profile_side, proxy, args, workdir),
        ]
    run = _run_child(command, args.profile_side, server_pid, workdir, expected)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    sidecar = {
        "mode": args.profile_side,
        "profiler": "cProfile" if args.profile else "py-spy",
        "rate": PY_SPY_RATE,
        "gil_only": bool(args.py_spy_gil),
        "pages": run.pages,
        "seconds": run.seconds,
        "cpu_ms_per_page_measured": args.measured_cpu_ms,
        "commit": commit,
        "command": " ".join(sys.argv),
    }
    Path(f"{out}.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    print(
        f"profile of {args.profile_side}: {run.pages} pages in {run.seconds:.1f} s -> {out} "
        f"(python benchmarks/profile_split.py {out})"
    )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--web", choices=["synthetic", "corpus"], default="synthetic")
    parser.add_argument(
        "--hosts", type=int, help="synthetic: 50; corpus: corpus files to serve, 1000"
    )
    parser.add_argument("--pages", help="synthetic: 100; corpus: N or LOW-HIGH, 15")
    parser.add_argument("--first", type=int, default=0, help="corpus: first file (sorted order)")
    parser.add_argument("--order", choices=["host", "interleaved"], default="host")
    parser.add_argument("--include-delay-hosts", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, help="synthetic: 16; corpus: 64")
    parser.add_argument("--profile", type=Path, help="cProfile one more run of ours to FILE")
    parser.add_argument("--py-spy", type=Path, help="py-spy one more run of ours to FILE")
    parser.add_argument(
        "--py-spy-gil", action="store_true", help="py-spy: sample only the GIL's holder"
    )
    parser.add_argument("--profile-side", choices=MODES, default="ours")
    parser.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="a Scrapy setting of our side (value read as JSON if it parses), e.g. "
        "COMPLIANCE_BATCH_DELAY=0.002; repeatable",
    )
    # In the child only.
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--proxy", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seeds-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-depth", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    corpus = args.web == "corpus"
    args.hosts = args.hosts if args.hosts is not None else (1000 if corpus else 50)
    args.pages = args.pages or ("15" if corpus else "100")
    args.concurrency = args.concurrency or (64 if corpus else 16)
    if not args.child:
        args.max_depth = 0 if corpus else None
    if args.profile and args.py_spy:
        parser.error("--profile and --py-spy: one profiler at a time")
    if not corpus and not args.pages.isdigit():
        parser.error("--pages of the synthetic web is one number")
    args.measured_cpu_ms = None
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(argv)
    if args.child:
        _one_crawl(args)
        return
    web, expected, about = _corpus(args) if args.web == "corpus" else _synthetic(args)
    runs: dict[str, list[Run]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp_name, web:
        tmp = Path(tmp_name)
        (tmp / "seeds.txt").write_text("\n".join(expected.seeds) + "\n", encoding="utf-8")
        print(about)
        print(
            f"web server pid {web.process.pid} at {web.proxy_url}; {args.runs} runs each, "
            f"interleaved, concurrency {args.concurrency}",
            flush=True,
        )
        for number in range(1, args.runs + 1):
            for mode in MODES:
                workdir = tmp / f"{mode}-{number}"
                workdir.mkdir()
                command = _child_command(mode, web.proxy_url, args, workdir)
                run = _run_child(command, mode, web.process.pid, workdir, expected)
                runs[mode].append(run)
                _print_run(number, run, expected)
        if runs[args.profile_side]:
            args.measured_cpu_ms = statistics.median(r.cpu_ms for r in runs[args.profile_side])
        if args.profile or args.py_spy:
            _profile(args, web.proxy_url, tmp, web.process.pid, expected)
    if args.runs:
        _summary(runs, expected)


def _summary(runs: dict[str, list[Run]], expected: Expectation) -> None:
    rate = {mode: statistics.median(r.rate for r in rs) for mode, rs in runs.items()}
    cpu = {mode: statistics.median(r.cpu_ms for r in rs) for mode, rs in runs.items()}
    server = {
        mode: statistics.median(r.server_cpu / r.seconds for r in rs if r.seconds)
        for mode, rs in runs.items()
    }
    main = {mode: statistics.median(r.main_thread_ms for r in rs) for mode, rs in runs.items()}
    gc_ms = {mode: statistics.median(r.gc_ms for r in rs) for mode, rs in runs.items()}
    busy = {mode: statistics.median(r.main_thread_busy for r in rs) for mode, rs in runs.items()}
    for mode, label in (("scrapy", "scrapy+robots"), ("ours", "ours (add-on)")):
        print(
            f"median {label}: {rate[mode]:7.1f} pages/s, CPU {cpu[mode]:5.2f} ms/page "
            f"(main thread {main[mode]:.2f}, busy {100 * busy[mode]:.0f}%, GC {gc_ms[mode]:.2f}), "
            f"web server {100 * server[mode]:3.0f}% of a core"
        )
    busiest = max(server.values())
    if busiest >= SERVER_BUSY:
        print(
            f"note: the web server used {100 * busiest:.0f}% of a core during a crawl: it may be "
            "what limits that side, which compresses the ratio"
        )
    if expected.allowed:
        print(
            f"compliance: our engine allows {expected.expected_pages} of {len(expected.seeds)} "
            "seeded pages; pages fetched that it disallows, by run: "
            + ", ".join(f"{mode} {[r.over_fetched for r in rs]}" for mode, rs in runs.items())
        )
        if any(r.over_fetched_protego for r in runs["scrapy"]):
            print(
                "  plain Scrapy fetched pages that its own parser (Protego) disallows: its "
                "RobotsTxtMiddleware lets through requests that wait for a robots.txt still "
                "being fetched (fails open under concurrency, DESIGN.md)"
            )
        _print_refusals(runs["ours"][-1])
    print(f"cpu_ratio={cpu['scrapy'] / cpu['ours']:.3f}")
    print(f"ratio_vs_scrapy_robots={rate['ours'] / rate['scrapy']:.3f}")


if __name__ == "__main__":
    main()
