"""``make demo``: crawl the bundled demo web with the opt-out service embedded."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from crawler.demo.process import DemoWebProcess, read_access_log
from crawler.demo.signals import SIGNAL_HOSTS
from crawler.demo.sites import (
    DEMO_SEEDS,
    DEMO_TOKEN,
    NO_ROBOTS_HOST,
    ORDINARY_HOST,
    PARTIAL_HOST,
    PIRACY_HOST,
    PUBLISHER_HOST,
    UNREACHABLE_HOST,
)

_WHEN = {"before": "refused before the fetch", "after": "fetched, then discarded"}

SITUATIONS = (
    (ORDINARY_HOST, "ordinary site with Crawl-delay: 0.5: every page fetched and kept"),
    (
        PARTIAL_HOST,
        "robots.txt disallows ExampleBot from /private/ and /drafts/; "
        "a redirect points into /private/",
    ),
    (UNREACHABLE_HOST, "robots.txt answers 503: the whole site is disallowed"),
    (NO_ROBOTS_HOST, "robots.txt answers 404: everything is allowed"),
    (PIRACY_HOST, "on the demo piracy list: never contacted, not even robots.txt"),
    (
        PUBLISHER_HOST,
        "tdm-reservation, X-Robots-Tag: noai, 402 and 401 pages: fetched, then discarded",
    ),
    *(
        (
            host,
            f"{what}: {reason} ({_WHEN[when]})",
        )
        for host, (reason, when, what) in SIGNAL_HOSTS.items()
    ),
)


def main() -> None:
    from crawler.cli import console, print_summary
    from crawler.runner import CrawlConfig, run_crawl
    from piracy_lists import demo_list_path

    output = Path("out/demo")
    shutil.rmtree(output, ignore_errors=True)
    database = Path("var/demo/optout.sqlite3")
    database.parent.mkdir(parents=True, exist_ok=True)
    for leftover in database.parent.glob("optout.sqlite3*"):
        leftover.unlink()
    output.mkdir(parents=True)
    access_log = output / "demo-web-access.jsonl"
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            os.environ[name] = web.proxy_url
        for name in ("no_proxy", "NO_PROXY"):
            os.environ.pop(name, None)
        console.print(f"[bold]Demo web[/] on {web.url} (also the HTTP proxy of the crawl):")
        for host, situation in SITUATIONS:
            console.print(f"  {host:30} {situation}")
        console.print()
        result = run_crawl(
            CrawlConfig(
                seeds=list(DEMO_SEEDS),
                job="demo-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                output_dir=output,
                output_format="jsonl",
                token=DEMO_TOKEN,
                embedded_database_url=f"sqlite:///{database.resolve()}",
                embedded_overrides={
                    "piracy": {"lists": [str(demo_list_path())]},
                },
                log_level="WARNING",
            )
        )
    console.print()
    print_summary(result)
    requests = read_access_log(access_log)
    console.print(f"demo web access log: {access_log} ({len(requests)} requests reached the sites)")


if __name__ == "__main__":
    main()
