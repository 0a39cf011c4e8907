"""robots.txt budgets: time and memory on adversarial files, ours against Protego in one run.

Each file below is generated at the size the service parses at most (512 KiB, the fetch cap and
the self-check cap) and built to hit one place where a parser can go super-linear: many short
rules beside long ones, many wildcards, deep ``*`` runs, one huge line, many groups, many
user-agent lines, many sitemaps, percent-escapes, huge crawl-delay values, more rules than a
group may hold, and segments that make substring search slow. For each file and each engine:

* parse: median time to parse the text (what the service does off the event loop);
* match: median time to decide PATHS (one of them 8 KiB long) for one agent;
* peak: the highest traced memory while parsing (tracemalloc), as bytes per byte of input;
* kept: memory still held by the parsed file after one lookup (its index built);
* for ours, est: the size estimate the caches account (``RobotsTxt.estimated_bytes``) / kept.

The last column is Protego's parse+match time over ours. With ``--corpus`` the same memory
figures are computed for every file of the bundled corpus (median, p99 and max), which is the
table in docs/robots.md.

    python benchmarks/robots_budget.py [--runs 3] [--corpus]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protego import Protego

from optout_service.policy.robots import decode_robots
from optout_service.policy.robotstxt import MAX_LINE_CHARS, RobotsTxt

ARCHIVE = Path(__file__).resolve().parent / "data" / "robots-corpus.tar.xz"
SIZE = 512 * 1024
TOKEN = "ExampleBot"
LONG = "/" + "a" * 8190  # an 8 KiB path, the longest URL the service takes
PATHS = (
    "/",
    "/index.html",
    "/search?q=robots",
    "/a/b/c/d.php",
    "/%E3%83%84/x",
    LONG,
    LONG + "b",
    "/" + ("a" * 97 + "b") * 80,
)
_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _name(number: int, width: int = 3) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, len(_ALNUM))
        chars.append(_ALNUM[digit])
    return "".join(chars)


def fill(head: str, line: Callable[[int], str], size: int = SIZE) -> str:
    """``head`` followed by ``line(0)``, ``line(1)``, ... up to ``size`` bytes."""
    parts = [head]
    total = len(head)
    number = 0
    while True:
        text = line(number)
        if total + len(text.encode()) > size:
            return "".join(parts)
        parts.append(text)
        total += len(text.encode())
        number += 1


def adversarial_files() -> dict[str, str]:
    agents = "User-agent: *\n"
    letters = "abcdefghijklmnopqrstuvwxyz"
    return {
        # The shape that made the old index quadratic: short rules filed into every bucket.
        "short and long rules": fill(
            agents,
            lambda i: f"Allow: /{letters[i % 26]}\n" if i % 2 else f"Disallow: /{_name(i)}/p\n",
        ),
        "many short rules": fill(agents, lambda i: f"Disallow: /{_name(i, 2)}\n"),
        "many wildcards": fill(agents, lambda i: f"Disallow: /*{_name(i)}*.php$\n"),
        "deep * runs": fill(
            agents, lambda i: "Disallow: /" + "a*" * (MAX_LINE_CHARS // 2) + f"{i}\n"
        ),
        "deep * runs, allow": fill(
            agents + "Disallow: /\n",
            lambda i: "Allow: /" + "a*" * (MAX_LINE_CHARS // 2) + f"{i}\n",
        ),
        "slow substring search": fill(
            agents, lambda i: "Disallow: /*" + "a" * 90 + _name(i) + "ba*b\n"
        ),
        "one 500 KiB line": agents + "Disallow: /" + "x" * (SIZE - 40) + "\n",
        "many groups": fill("", lambda i: f"User-agent: bot{_name(i)}\nDisallow: /{i}\n"),
        "many user-agent lines": fill("", lambda i: f"User-agent: bot{_name(i)}\n", SIZE - 20)
        + "Disallow: /private\n",
        "many sitemaps": fill("", lambda i: f"Sitemap: https://example.com/s{i}.xml\n"),
        "percent-escapes": fill(agents, lambda i: f"Disallow: /%e3%83%84ツ%7E%2f{_name(i)}\n"),
        "huge crawl-delay values": fill(
            agents, lambda i: "Crawl-delay: " + "9" * 2000 + f"\nRequest-rate: 1/{'9' * 400}\n"
        ),
        "more rules than a group holds": fill(
            agents, lambda i: f"allow:/{letters[i % 26]}\n" if i % 7 else "disallow:/\n"
        ),
    }


def timed(action: Callable[[], object], runs: int) -> float:
    """The median wall time of ``action`` over ``runs`` runs, in seconds."""
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def memory(build: Callable[[], Any], use: Callable[[Any], object]) -> tuple[int, int, Any]:
    """Peak traced bytes while building, and bytes still held after one use of the result."""
    gc.collect()
    tracemalloc.start()
    built = build()
    peak = tracemalloc.get_traced_memory()[1]
    use(built)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return peak, kept, built


def ours_parse(text: str) -> RobotsTxt:
    return RobotsTxt.parse(text)


def ours_match(robots: RobotsTxt) -> list[bool]:
    return [robots.allowed(path, TOKEN) for path in PATHS]


def protego_match(robots: Any) -> list[bool]:
    return [bool(robots.can_fetch("http://example.com" + path, TOKEN)) for path in PATHS]


def run_adversarial(runs: int) -> None:
    header = (
        f"{'file':30} {'KiB':>5} | {'ours parse':>10} {'match':>8} {'peak':>6} {'kept':>6} "
        f"{'est':>5} | {'protego parse':>13} {'match':>8} {'peak':>6} {'kept':>6} | ratio"
    )
    print(header)
    print("-" * len(header))
    for name, text in adversarial_files().items():
        size = len(text.encode())
        ours = ours_parse(text)
        theirs = Protego.parse(text)
        ours_parse_time = timed(lambda text=text: ours_parse(text), runs)  # type: ignore[misc]
        ours_match_time = timed(lambda ours=ours: ours_match(ours), runs)  # type: ignore[misc]
        theirs_parse_time = timed(lambda text=text: Protego.parse(text), runs)  # type: ignore[misc]
        theirs_match_time = timed(
            lambda theirs=theirs: protego_match(theirs),  # type: ignore[misc]
            runs,
        )
        peak, kept, parsed = memory(lambda text=text: ours_parse(text), ours_match)  # type: ignore[misc]
        estimate = parsed.estimated_bytes()
        del parsed
        their_peak, their_kept, _ = memory(
            lambda text=text: Protego.parse(text),  # type: ignore[misc]
            protego_match,
        )
        ratio = (theirs_parse_time + theirs_match_time) / (ours_parse_time + ours_match_time)
        print(
            f"{name:30} {size / 1024:5.0f} | {ours_parse_time * 1e3:8.1f}ms "
            f"{ours_match_time * 1e3:6.2f}ms {peak / size:5.1f}x {kept / size:5.1f}x "
            f"{estimate / max(kept, 1):5.2f} | {theirs_parse_time * 1e3:11.1f}ms "
            f"{theirs_match_time * 1e3:6.2f}ms {their_peak / size:5.1f}x "
            f"{their_kept / size:5.1f}x | {ratio:5.2f}"
        )


def load_corpus() -> list[bytes]:
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        return [
            extracted.read()
            for member in archive
            if member.isfile() and member.name.startswith("robots/")
            if (extracted := archive.extractfile(member)) is not None
        ]


def run_corpus() -> None:
    rows: list[tuple[int, int, int, int, int]] = []  # input bytes, peak, kept, estimate, rules
    for body in load_corpus():
        text = decode_robots(body)
        peak, kept, parsed = memory(lambda text=text: ours_parse(text), ours_match)  # type: ignore[misc]
        rules = sum(len(group.rules) for group in parsed.groups)
        rows.append((len(body), peak, kept, parsed.estimated_bytes(), rules))
        del parsed

    def summary(values: list[float], unit: str) -> str:
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"median {statistics.median(ordered):10.1f}{unit} p99 {p99:10.1f}{unit} "
            f"max {ordered[-1]:10.1f}{unit}"
        )

    print(f"corpus: {len(rows)} files")
    print("input          ", summary([r[0] / 1024 for r in rows], " KiB"))
    print("kept           ", summary([r[2] / 1024 for r in rows], " KiB"))
    print("kept per byte  ", summary([r[2] / r[0] for r in rows if r[0] >= 1024], "x  "))
    print("peak per byte  ", summary([r[1] / r[0] for r in rows if r[0] >= 1024], "x  "))
    print("estimate / kept", summary([r[3] / max(r[2], 1) for r in rows], "x  "))
    print("  >= 100 rules ", summary([r[3] / r[2] for r in rows if r[4] >= 100], "x  "))
    print(f"estimate below kept: {sum(r[3] < r[2] for r in rows)} files")
    print("(per-byte rows: files of at least 1 KiB; below that the fixed cost dominates)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", action="store_true", help="also the corpus memory table")
    args = parser.parse_args()
    run_adversarial(args.runs)
    if args.corpus:
        print()
        run_corpus()


if __name__ == "__main__":
    main()
