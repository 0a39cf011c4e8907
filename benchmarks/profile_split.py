"""Where the CPU of a crawl goes: a profile grouped into the parts of the product.

Reads a profile written by ``benchmarks/crawl.py --py-spy FILE`` (py-spy's raw collapsed stacks,
every thread and child process sampled) or ``--profile FILE`` (cProfile, CPU time per thread), and
prints a Markdown table: each part's share of the CPU and its milliseconds per page fetched.

    python benchmarks/profile_split.py FILE [--pages N] [--cpu-ms-per-page X] [--top 12]

A sample (py-spy) or a function's own time (cProfile) belongs to the innermost frame of its stack
that falls in a part, so the standard library and unlisted packages count for whoever called them
(``re`` under URL normalisation is URL normalisation). Some parts own everything beneath them
("sticky": a robots.txt fetch's httpx calls are the fetch, not the crawler's HTTP client; the
decision log's JSON is the log write). cProfile records callers, not stacks: its own time is
handed up the call graph in proportion to the time each caller spent in the callee, which is an
estimate where one function serves several parts.

FILE.json (written next to it by crawl.py) gives the pages fetched and the median CPU ms/page of
the measured (unprofiled) runs: the table scales each share to that figure, since profiling slows
the crawl (cProfile much more than py-spy, and more for code that makes many small calls).
"""

from __future__ import annotations

import argparse
import json
import marshal
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

_K = TypeVar("_K")


@dataclass(frozen=True, slots=True)
class Part:
    label: str
    patterns: tuple[str, ...]  # substrings of a frame's file path (or a builtin's name)
    sticky: bool = False  # owns everything called beneath it


# In order: the first part whose pattern is in a frame's path names that frame.
PARTS: tuple[Part, ...] = (
    Part("interpreter start-up, imports", ("<frozen importlib", "importlib/"), sticky=True),
    Part("service start-up: migrations (Alembic)", ("/alembic/", "/migrations/"), sticky=True),
    Part(
        "robots.txt fetch (service's fetcher, httpx to the web)",
        ("/optout_service/fetcher.py", "/optout_service/netguard.py"),
        sticky=True,
    ),
    Part(
        "robots.txt parse + evaluate (our engine)",
        ("/optout_service/policy/robotstxt.py", "/optout_service/policy/robots.py"),
        sticky=True,
    ),
    Part(
        "policy document store (cache, per-origin single flight)",
        ("/optout_service/policy_store.py",),
    ),
    Part(
        "decision log write (SQLAlchemy, SQLite)",
        (
            "/sqlalchemy/",
            "/sqlite3/",
            "sqlite3.",
            "/optout_service/repository.py",
            "/optout_service/db.py",
            "/optout_service/models.py",
        ),
        sticky=True,
    ),
    Part("URL normalisation (service)", ("/optout_service/urls.py",), sticky=True),
    Part("piracy list match", ("/piracy_lists/", "/tldextract/"), sticky=True),
    Part(
        "observation checks (service)",
        ("/optout_service/observations.py", "/optout_service/checks/"),
        sticky=True,
    ),
    Part("progress extension", ("/crawler/progress.py",), sticky=True),
    Part("Scrapy's robots.txt (Protego)", ("/protego/", "/scrapy/robotstxt.py"), sticky=True),
    Part("Scrapy's RobotsTxtMiddleware", ("/scrapy/downloadermiddlewares/robotstxt.py",)),
    Part("pydantic validation, serialisation", ("/pydantic/", "/pydantic_core/", "pydantic_core")),
    Part("JSON encode/decode", ("/json/", "_json.", "orjson")),
    Part(
        "HTTP to the service: httpx client, ASGI transport, anyio",
        ("/httpx/", "/httpcore/", "/anyio/", "/sniffio/", "/h11/", "/crawler/optout_client.py"),
    ),
    Part("served-mode server (uvicorn)", ("/uvicorn/", "/uvloop/", "/httptools/")),
    Part("FastAPI, Starlette (routing, dependencies)", ("/fastapi/", "/starlette/")),
    Part("service: decisions, observations, handlers", ("/optout_service/",)),
    Part("our middleware + batching", ("/crawler/middlewares/", "/crawler/batching.py")),
    Part("embedded service (start, stop, its thread)", ("/crawler/embedded.py",)),
    Part("other crawler code (add-on, spider)", ("/crawler/",)),
    Part("Scrapy (engine, scheduler, downloader, spider)", ("/scrapy/", "/parsel/", "/lxml/")),
    Part("Twisted (reactor, HTTP client)", ("/twisted/",)),
    Part("asyncio event loops", ("/asyncio/",)),
)
OTHER = Part("other (no project or framework frame above)", ())
_PART_OF_PATH: dict[str, Part | None] = {}


def part_of(path: str) -> Part | None:
    """The part a frame's file (or a builtin's name) belongs to; None: its caller decides."""
    found = _PART_OF_PATH.get(path, OTHER)
    if found is not OTHER:
        return found
    found = next((part for part in PARTS if any(p in path for p in part.patterns)), None)
    if len(_PART_OF_PATH) < 100_000:
        _PART_OF_PATH[path] = found
    return found


def attribute(stack: Iterable[str]) -> Part:
    """The part owning a sample whose frames' paths are given root first."""
    innermost: Part | None = None
    for path in reversed(list(stack)):
        part = part_of(path)
        if part is None:
            continue
        if part.sticky:
            return part
        innermost = innermost or part
    return innermost or OTHER


# --- py-spy raw (collapsed) stacks --------------------------------------------------------

_FRAME = re.compile(r"^(?P<name>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")
_PROCESS = re.compile(r'^process \d+:"(?P<command>.*)"$')


@dataclass
class Profile:
    by_part: dict[str, float]  # seconds of CPU
    by_thread: dict[str, float]  # process and thread kind (py-spy only)
    by_thread_part: dict[tuple[str, str], float]  # (thread kind, part label) (py-spy only)
    by_function: dict[tuple[str, str], float]  # (function, part label): own time
    total: float  # seconds of CPU sampled or measured
    unit: str


def _largest(values: Mapping[_K, float], top: int | None = None) -> list[tuple[_K, float]]:
    return sorted(values.items(), key=lambda item: -item[1])[:top]


def _process_label(command: str, depth: int) -> str:
    """The process a stack ran in: py-spy names each process on the way down from the one it
    started (the crawl); the command line is sometimes empty (a process gone before py-spy read
    it), so a process started by the crawl is taken to be the service."""
    if "optout_service" in command or "uvicorn" in command or (depth > 0 and not command):
        return "service process"
    return "crawl process" if depth == 0 else f"child process: {command[:60]}"


def _thread_label(process: str, frames: list[str], paths: list[str]) -> str:
    """Which thread a stack ran on, from its root frames (py-spy's raw output names none)."""
    if process != "crawl process":
        pool = frames and frames[0].startswith("Thread._bootstrap")
        return f"{process}: {'worker threads' if pool else 'main thread (its event loop)'}"
    if any("/crawler/embedded.py" in path for path in paths):
        return "crawl process: embedded service's thread"
    if frames and frames[0].startswith("Thread._bootstrap"):
        return "crawl process: worker threads (database writes, parsing, DNS)"
    return "crawl process: main thread (Scrapy's loop)"


def read_pyspy(lines: Iterable[str], rate: float) -> Profile:
    by_part: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    by_thread_part: Counter[tuple[str, str]] = Counter()
    by_function: Counter[tuple[str, str]] = Counter()
    total = 0
    for line in lines:
        stack_text, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        paths: list[str] = []
        frames: list[str] = []
        process = "crawl process"
        depth = 0
        leaf = ""
        for frame in stack_text.split(";"):
            process_match = _PROCESS.match(frame)
            if process_match:
                process = _process_label(process_match["command"], depth)
                depth += 1
                continue
            match = _FRAME.match(frame)
            if match is None:
                continue  # a thread marker or an unknown frame
            frames.append(frame)
            paths.append(match["path"])
            leaf = f"{match['name']} ({_short(match['path'])})"
        part = attribute(paths)
        by_part[part.label] += count
        thread = _thread_label(process, frames, paths)
        by_thread[thread] += count
        by_thread_part[(thread, part.label)] += count
        by_function[(leaf, part.label)] += count
        total += count
    seconds = 1.0 / rate
    return Profile(
        {k: v * seconds for k, v in by_part.items()},
        {k: v * seconds for k, v in by_thread.items()},
        {k: v * seconds for k, v in by_thread_part.items()},
        {k: v * seconds for k, v in by_function.items()},
        total * seconds,
        f"{total} samples at {rate:g} Hz",
    )


# --- cProfile -------------------------------------------------------------------------------

Func = tuple[str, int, str]  # file, line, name as pstats keys them
# pstats' raw table: func -> (primitive calls, calls, own time, cumulative time, callers), where
# callers maps each caller to the same four figures for the calls it made.
Table = Mapping[Func, tuple[int, int, float, float, Mapping[Func, tuple[int, int, float, float]]]]


def _func_path(func: Func) -> str:
    file, _, name = func
    return name if file == "~" else file  # builtins: "<method 'execute' of 'sqlite3...'>"


def read_cprofile(table: Table) -> Profile:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    memo: dict[tuple[Func, str | None], dict[str, float]] = {}
    active: set[tuple[Func, str | None]] = set()
    labels = {part.label: part for part in (*PARTS, OTHER)}

    def upward(func: Func, pending: str | None, first: bool) -> dict[str, float]:
        """Where one second of own time at ``func`` ends up, ``pending`` being the innermost
        non-sticky part met below it."""
        part = part_of(_func_path(func))
        if part is not None and part.sticky:
            return {part.label: 1.0}
        if part is not None and pending is None:
            pending = part.label
        key = (func, pending)
        if not first and key in memo:
            return memo[key]
        callers = table[func][4] if func in table else {}
        # The callee's own time splits by caller exactly; above that, by cumulative time.
        weights = {c: (v[2] if first else v[3]) for c, v in callers.items() if c in table}
        total = sum(weights.values())
        if total <= 0 or key in active:
            return {pending or OTHER.label: 1.0}
        active.add(key)
        shares: dict[str, float] = {}
        for caller, weight in weights.items():
            for label, share in upward(caller, pending, False).items():
                shares[label] = shares.get(label, 0.0) + share * weight / total
        active.discard(key)
        if not first:
            memo[key] = shares
        return shares

    by_part: defaultdict[str, float] = defaultdict(float)
    by_function: defaultdict[tuple[str, str], float] = defaultdict(float)
    total = 0.0
    for func, (_, _, own, _, _) in table.items():
        if own <= 0:
            continue
        total += own
        shares = upward(func, None, True)
        for label, share in shares.items():
            by_part[label] += own * share
        main = max(shares, key=lambda label: shares[label])
        by_function[(f"{func[2]} ({_short(func[0])}:{func[1]})", main)] += own
    assert all(label in labels for label in by_part)
    return Profile(dict(by_part), {}, {}, dict(by_function), total, "cProfile, CPU time per thread")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scaled:
    """A profile with the factor turning its seconds into milliseconds of CPU per page."""

    profile: Profile
    ms_per_second: float
    basis: str  # how the factor was found

    def ms(self, label: str) -> float:
        return self.profile.by_part.get(label, 0.0) * self.ms_per_second


def scaled(profile: Profile, pages: int | None, cpu_ms_per_page: float | None) -> Scaled:
    """Scale to the measured CPU ms/page when known (profiling slows a crawl), else to the
    profiled run's own CPU per page."""
    if cpu_ms_per_page is not None and profile.total:
        return Scaled(profile, cpu_ms_per_page / profile.total, "share x measured")
    if pages:
        return Scaled(profile, 1000.0 / pages, "profiled run")
    return Scaled(profile, 0.0, "pages unknown")


def table_lines(main: Scaled, baseline: Scaled | None = None) -> list[str]:
    """The Markdown table: parts by their ms/page, and against a baseline's when given."""
    header = f"| part | share | ms CPU/page ({main.basis}) |"
    rule = "| --- | ---: | ---: |"
    if baseline is not None:
        header += " baseline ms/page | difference |"
        rule += " ---: | ---: |"
    lines = [header, rule]
    labels = [label for label, _ in _largest(main.profile.by_part)]
    if baseline is not None:
        labels += [label for label, _ in _largest(baseline.profile.by_part) if label not in labels]
    total = main.profile.total
    for label in labels:
        share = main.profile.by_part.get(label, 0.0) / total if total else 0.0
        line = f"| {label} | {100 * share:.1f}% | {main.ms(label):.2f} |"
        if baseline is not None:
            line += f" {baseline.ms(label):.2f} | {main.ms(label) - baseline.ms(label):+.2f} |"
        lines.append(line)
    line = f"| **total** | 100% | {total * main.ms_per_second:.2f} |"
    if baseline is not None:
        base_total = baseline.profile.total * baseline.ms_per_second
        line += f" {base_total:.2f} | {total * main.ms_per_second - base_total:+.2f} |"
    lines.append(line)
    return lines


def load(path: Path, rate: float) -> Profile:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and not text.startswith(("\x00", "{")) and ";" in text.split("\n", 1)[0]:
        return read_pyspy(text.splitlines(), rate)
    table: Any = marshal.loads(raw)  # what pstats.Stats.dump_stats writes
    return read_cprofile(table)


def _read(path: Path, args: argparse.Namespace, own: bool) -> tuple[Scaled, dict[str, Any]]:
    """A profile and its side file; the command line's figures apply to the main one only."""
    sidecar_path = Path(f"{path}.json")
    sidecar: dict[str, Any] = (
        json.loads(sidecar_path.read_text(encoding="utf-8")) if sidecar_path.exists() else {}
    )
    pages = (args.pages if own else None) or sidecar.get("pages")
    measured = (args.cpu_ms_per_page if own else args.baseline_cpu_ms_per_page) or sidecar.get(
        "cpu_ms_per_page_measured"
    )
    profile = load(path, args.rate or float(sidecar.get("rate", 200)))
    return scaled(profile, pages, measured), sidecar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", type=Path, help="a py-spy raw file or a cProfile .prof")
    parser.add_argument("--pages", type=int, help="pages fetched (default: from FILE.json)")
    parser.add_argument(
        "--cpu-ms-per-page", type=float, help="measured CPU ms/page (default: from FILE.json)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="another profile (plain Scrapy's) to compare with"
    )
    parser.add_argument("--baseline-cpu-ms-per-page", type=float)
    parser.add_argument("--rate", type=float, help="py-spy samples per second (FILE.json: 200)")
    parser.add_argument("--top", type=int, default=12, help="functions with most own time")
    parser.add_argument(
        "--by-thread", type=int, default=0, metavar="N", help="the N largest (thread, part) pairs"
    )
    args = parser.parse_args(argv)
    main_profile, sidecar = _read(args.file, args, own=True)
    baseline = _read(args.baseline, args, own=False)[0] if args.baseline else None
    profile = main_profile.profile
    pages = args.pages or sidecar.get("pages")
    about = [f"{profile.unit}; {profile.total:.1f} s CPU profiled"]
    if pages:
        about.append(f"{pages} pages ({1000 * profile.total / pages:.2f} ms/page while profiled)")
    if sidecar:
        about.append(f"{sidecar.get('mode')} side, commit {sidecar.get('commit')}")
    print("; ".join(about))
    print()
    print("\n".join(table_lines(main_profile, baseline)))
    if profile.by_thread:
        print()
        print("by thread:")
        for name, seconds in _largest(profile.by_thread):
            print(
                f"  {100 * seconds / profile.total:5.1f}%  "
                f"{seconds * main_profile.ms_per_second:5.2f} ms/page  {name}"
            )
    if args.by_thread and profile.by_thread_part:
        print()
        print(f"largest parts by thread (top {args.by_thread}):")
        for (thread, label), seconds in _largest(profile.by_thread_part, args.by_thread):
            print(f"  {seconds * main_profile.ms_per_second:5.2f} ms/page  {thread}: {label}")
    if args.top:
        print()
        print(f"functions with the most own time (top {args.top}):")
        for (function, label), seconds in _largest(profile.by_function, args.top):
            print(f"  {100 * seconds / profile.total:5.1f}%  {function}  [{label}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
