"""robots.txt engine throughput and memory: ours against Protego over 4,231 real files.

Every file of the corpus (benchmarks/data/robots-corpus.tar.xz) is parsed, then about 20 URLs are
decided for each of several product tokens, by our engine and by Protego, in the same process,
interleaved, RUNS times each. Printed: files/s (parse), decisions/s (decide on parsed files), the
parse+decide time, retained memory per parsed file, and how often the two engines disagree.

    python benchmarks/robots_engine.py [--runs 5]

The last line is ``speedup_vs_protego=<Protego's parse+decide time / ours, medians>``.
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
from optout_service.policy.robotstxt import RobotsTxt

ARCHIVE = Path(__file__).resolve().parent / "data" / "robots-corpus.tar.xz"
TOKENS = ("ExampleBot", "Googlebot", "GPTBot", "CCBot")
COMMON_PATHS = (
    "/",
    "/index.html",
    "/search?q=robots",
    "/admin/",
    "/wp-admin/admin-ajax.php",
    "/login",
    "/images/logo.png",
    "/news/2026/11/article.html",
    "/cart",
    "/api/v1/items?page=2",
    "/tag/python/",
    "/user/profile",
    "/print/123",
    "/media/video.mp4",
)


def load_corpus() -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        for member in archive:
            if member.isfile() and member.name.startswith("robots/"):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files.append((member.name.split("/", 1)[1], extracted.read()))
    return sorted(files)


def sample_paths(text: str) -> list[str]:
    """About 20 paths per file: common ones plus concrete paths built from the file's rules."""
    paths = list(COMMON_PATHS)
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("allow", "disallow"):
            value = value.split("#", 1)[0].strip().replace("*", "x").rstrip("$")
            if value.startswith("/") and value not in paths:
                paths.append(value)
        if len(paths) >= 20:
            break
    return paths


def run_ours(texts: list[str], paths: list[list[str]]) -> tuple[float, float, list[bool]]:
    started = time.perf_counter()
    parsed = [RobotsTxt.parse(text, tokens=TOKENS) for text in texts]
    parse_time = time.perf_counter() - started
    started = time.perf_counter()
    answers = [
        robots.allowed(path, token)
        for robots, file_paths in zip(parsed, paths, strict=True)
        for token in TOKENS
        for path in file_paths
    ]
    return parse_time, time.perf_counter() - started, answers


def run_protego(texts: list[str], urls: list[list[str]]) -> tuple[float, float, list[bool]]:
    started = time.perf_counter()
    parsed = [Protego.parse(text) for text in texts]
    parse_time = time.perf_counter() - started
    started = time.perf_counter()
    answers = [
        bool(robots.can_fetch(url, token))
        for robots, file_urls in zip(parsed, urls, strict=True)
        for token in TOKENS
        for url in file_urls
    ]
    return parse_time, time.perf_counter() - started, answers


def retained_bytes(build: Callable[[], list[Any]]) -> int:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    corpus = load_corpus()
    raw_bytes = sum(len(body) for _, body in corpus)
    # Decoding is part of the service's path for us; Protego takes str, so both get the same text.
    texts = [decode_robots(body) for _, body in corpus]
    paths = [sample_paths(text) for text in texts]
    urls = [[f"http://example.com{p}" for p in file_paths] for file_paths in paths]
    decisions = sum(len(p) for p in paths) * len(TOKENS)
    print(
        f"corpus: {len(corpus)} files, {raw_bytes / 1e6:.1f} MB; {decisions} decisions a run "
        f"({len(TOKENS)} tokens x ~{decisions // len(TOKENS) // len(corpus)} URLs a file)"
    )

    results: dict[str, list[tuple[float, float]]] = {"protego": [], "ours": []}
    answers: dict[str, list[bool]] = {}
    for run in range(args.runs):
        for name in ("protego", "ours"):
            gc.collect()
            if name == "ours":
                parse_time, decide_time, answers[name] = run_ours(texts, paths)
            else:
                parse_time, decide_time, answers[name] = run_protego(texts, urls)
            results[name].append((parse_time, decide_time))
            print(
                f"run {run + 1} {name:>7}: parse {len(texts) / parse_time:8.0f} files/s, "
                f"decide {decisions / decide_time:9.0f} decisions/s, "
                f"parse+decide {parse_time + decide_time:6.2f} s"
            )

    memory = {
        "protego": retained_bytes(lambda: [Protego.parse(t) for t in texts]),
        "ours": retained_bytes(lambda: [RobotsTxt.parse(t, tokens=TOKENS) for t in texts]),
    }
    differ = sum(a != b for a, b in zip(answers["ours"], answers["protego"], strict=True))
    medians = {
        name: (
            statistics.median(p for p, _ in runs),
            statistics.median(d for _, d in runs),
            statistics.median(p + d for p, d in runs),
        )
        for name, runs in results.items()
    }
    for name, (parse_time, decide_time, total) in medians.items():
        print(
            f"median {name:>7}: {len(texts) / parse_time:8.0f} files/s, "
            f"{decisions / decide_time:9.0f} decisions/s, parse+decide {total:.2f} s, "
            f"retained {memory[name] / len(texts) / 1024:.1f} KiB a file "
            f"({memory[name] / raw_bytes:.2f}x the input)"
        )
    print(
        f"answers that differ from Protego's: {differ} of {decisions} "
        "(tests/unit/optout_service/test_robotstxt.py holds the readings we chose)"
    )
    print(f"speedup_vs_protego={medians['protego'][2] / medians['ours'][2]:.2f}")


if __name__ == "__main__":
    main()
