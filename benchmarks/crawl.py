"""Crawl throughput: plain Scrapy (ROBOTSTXT_OBEY=True) against the same spider with our add-on.

A local web of HOSTS x PAGES pages (small robots.txt files, nothing disallowed) is served by the
demo web server, which is also the HTTP proxy of both crawlers. The two crawls run interleaved,
RUNS times each, each in a fresh process, with the same spider and the same concurrency. Ours runs
the opt-out service embedded (SQLite file, decisions and observations logged as in production).

    python benchmarks/crawl.py [--hosts 50] [--pages 100] [--runs 3] [--concurrency 16]

The last line printed is ``ratio_vs_scrapy_robots=<ours / plain, by median pages/s>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _one_crawl(mode: str, proxy: str, hosts: int, concurrency: int, workdir: Path) -> None:
    """Run in a child process: one crawl, then print a JSON line with its figures."""
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.links import LinkSpider

    os.environ["http_proxy"] = proxy
    os.environ.pop("no_proxy", None)
    os.environ.pop("NO_PROXY", None)
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
    seeds = [f"http://site{i:02d}.benchweb.org/" for i in range(hosts)]
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(LinkSpider)
    started = time.perf_counter()
    cpu_started = time.process_time()
    process.crawl(crawler, start_urls=seeds)
    process.start()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    stats = crawler.stats.get_stats() if crawler.stats else {}
    pages = int(stats.get("response_received_count", 0))
    robots = int(stats.get("robotstxt/response_count", 0))
    compliance = {
        k: v for k, v in stats.items() if k.startswith(("compliance/", "log_count/ERROR"))
    }
    print(
        json.dumps(
            {
                "mode": mode,
                "pages": pages - robots,
                "seconds": elapsed,
                "cpu": cpu,
                "compliance": compliance,
            }
        )
    )


def _run_child(mode: str, proxy: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--proxy",
        proxy,
        "--hosts",
        str(args.hosts),
        "--concurrency",
        str(args.concurrency),
        "--workdir",
        str(workdir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{mode} crawl failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--child", choices=["scrapy", "ours"])
    parser.add_argument("--proxy")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.child:
        _one_crawl(args.child, args.proxy, args.hosts, args.concurrency, args.workdir)
        return

    sys.path.insert(0, str(ROOT))
    from crawler.demo.process import DemoWebProcess

    results: dict[str, list[dict[str, Any]]] = {"scrapy": [], "ours": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        DemoWebProcess(
            sites="bench", extra_args=["--hosts", str(args.hosts), "--pages", str(args.pages)]
        ) as web,
    ):
        expected = args.hosts * args.pages
        print(
            f"local web: {args.hosts} hosts x {args.pages} pages at {web.proxy_url}; "
            f"{args.runs} runs each, interleaved, concurrency {args.concurrency}"
        )
        for run in range(args.runs):
            for mode in ("scrapy", "ours"):
                workdir = Path(tmp) / f"{mode}-{run}"
                workdir.mkdir()
                result = _run_child(mode, web.proxy_url, args, workdir)
                rate = result["pages"] / result["seconds"]
                cpu_ms = 1000 * result["cpu"] / max(result["pages"], 1)
                results[mode].append({**result, "rate": rate})
                print(
                    f"run {run + 1} {mode:>6}: {result['pages']:5d} pages (of {expected}) "
                    f"in {result['seconds']:6.2f} s = {rate:7.1f} pages/s, {cpu_ms:.2f} ms CPU/page"
                )
    medians = {mode: statistics.median(r["rate"] for r in rs) for mode, rs in results.items()}
    print(
        f"median pages/s: scrapy+robots {medians['scrapy']:.1f}, "
        f"ours (embedded) {medians['ours']:.1f}"
    )
    print(f"ratio_vs_scrapy_robots={medians['ours'] / medians['scrapy']:.3f}")


if __name__ == "__main__":
    main()
