"""The demo web crawled for real by Scrapy with the service embedded: every situation of the demo.

What the crawler did is read from three independent places: the demo web server's own access
log (what reached the sites), the service's decision log export, and the crawl's Scrapy stats.
"""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from crawler.demo.process import AccessRecord, DemoWebProcess, read_access_log
from crawler.demo.sites import (
    DEMO_SEEDS,
    NO_ROBOTS_HOST,
    ORDINARY_HOST,
    PARTIAL_HOST,
    PIRACY_HOST,
    PIRACY_SUBDOMAIN_HOST,
    PUBLISHER_HOST,
    UNREACHABLE_HOST,
)
from crawler.reasons import CrawlerReason
from optout_service.checks.catalogue import reason_codes
from piracy_lists import demo_list_path
from tests.integration.conftest import POLICY_PATHS, CrawlRun, page_requests, run_crawl

pytestmark = pytest.mark.integration

# Every code the service can answer with (the table of docs/signals.md) and the crawler's own.
KNOWN_REASONS = reason_codes() | {str(code) for code in CrawlerReason}
ORDINARY_PAGES = [
    "/",
    "/news/harbour-expansion.html",
    "/news/tide-tables.html",
    "/news/lifeboat-rescue.html",
    "/about.html",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlRun, list[AccessRecord]]:
    workdir = tmp_path_factory.mktemp("demo")
    access_log = workdir / "access.jsonl"
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        run = run_crawl(
            DEMO_SEEDS,
            workdir / "out",
            web.proxy_url,
            "--job",
            "it-demo",
            "--db",
            str(workdir / "optout.sqlite3"),
            "--piracy-list",
            str(demo_list_path()),
        )
    return run, read_access_log(access_log)


def url(host: str, path: str) -> str:
    return f"http://{host}{path}"


def test_ordinary_site_all_pages_fetched_kept_and_crawl_delay_respected(
    demo: tuple[CrawlRun, list[AccessRecord]],
) -> None:
    run, access = demo
    fetched = page_requests(access, ORDINARY_HOST)
    assert sorted(r.path for r in fetched if r.path != "/sitemap.xml") == sorted(ORDINARY_PAGES)
    for path in ORDINARY_PAGES:
        assert run.decision_for(url(ORDINARY_HOST, path))["decision"] == "allow"
        assert run.observation_for(url(ORDINARY_HOST, path))["outcome"] == "keep"
        assert url(ORDINARY_HOST, path) in run.kept_urls()
    assert {d["crawl_delay"] for d in run.decisions(ORDINARY_HOST)} == {0.5}
    gaps = [b.t - a.t for a, b in pairwise(sorted(fetched, key=lambda r: r.t))]
    assert min(gaps) >= 0.45, gaps  # Crawl-delay: 0.5, with the clock granularity of the log


def test_disallowed_paths_are_never_requested(demo: tuple[CrawlRun, list[AccessRecord]]) -> None:
    run, access = demo
    paths = {r.path for r in page_requests(access, PARTIAL_HOST)}
    assert not any(p.startswith(("/private/", "/drafts/")) for p in paths), paths
    assert {"/", "/guide/getting-started.html", "/guide/faq.html"} <= paths
    for path in ("/private/annual-report-2026.html", "/drafts/new-edition.html"):
        decision = run.decision_for(url(PARTIAL_HOST, path))
        assert (decision["decision"], decision["reasons"]) == ("deny", ["robots.disallowed"])


def test_redirect_target_is_decided_and_refused(demo: tuple[CrawlRun, list[AccessRecord]]) -> None:
    run, access = demo
    assert [
        r.status for r in page_requests(access, PARTIAL_HOST) if r.path == "/reports/latest"
    ] == [302]
    assert run.decision_for(url(PARTIAL_HOST, "/reports/latest"))["decision"] == "allow"
    # The redirect target is a new request: decided on its own, and refused.
    target = run.decision_for(url(PARTIAL_HOST, "/private/board-minutes.html"))
    assert (target["decision"], target["reasons"]) == ("deny", ["robots.disallowed"])
    assert not [r for r in access if r.path == "/private/board-minutes.html"]


def test_robots_5xx_means_complete_disallow(demo: tuple[CrawlRun, list[AccessRecord]]) -> None:
    run, access = demo
    assert page_requests(access, UNREACHABLE_HOST) == []
    # Only the service's policy documents were asked for (concurrently; robots.txt first in
    # the answer), and nothing else.
    asked = [r.path for r in access if r.host == UNREACHABLE_HOST]
    assert "/robots.txt" in asked
    assert set(asked) <= POLICY_PATHS
    decisions = run.decisions(UNREACHABLE_HOST)
    assert decisions
    assert all(
        d["decision"] == "deny" and d["reasons"] == ["robots.unreachable", "robots.server_error"]
        for d in decisions
    )


def test_robots_404_means_all_allowed(demo: tuple[CrawlRun, list[AccessRecord]]) -> None:
    run, access = demo
    paths = {r.path for r in page_requests(access, NO_ROBOTS_HOST)}
    assert paths == {"/", "/recipes/sourdough.html", "/recipes/apple-pie.html"}
    assert all(d["reasons"] == ["robots.unavailable"] for d in run.decisions(NO_ROBOTS_HOST))
    assert url(NO_ROBOTS_HOST, "/recipes/sourdough.html") in run.kept_urls()


def test_piracy_host_is_never_contacted_not_even_robots_txt(
    demo: tuple[CrawlRun, list[AccessRecord]],
) -> None:
    run, access = demo
    assert [r for r in access if r.host in (PIRACY_HOST, PIRACY_SUBDOMAIN_HOST)] == []
    decisions = run.decisions(PIRACY_HOST) + run.decisions(PIRACY_SUBDOMAIN_HOST)
    assert len(decisions) == 2
    assert all(d["reasons"] == ["piracy.listed"] for d in decisions)
    assert run.stats["compliance/deny/piracy.listed"] == 2


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/articles/reserved-feature.html", 200, "tdmrep.reserved"),
        ("/articles/noai-column.html", 200, "x_robots_tag.noai"),
        ("/premium/investigation.html", 402, "access.payment_required"),
        ("/account/dashboard.html", 401, "access.auth_required"),
    ],
)
def test_reserved_or_protected_pages_are_fetched_then_discarded(
    demo: tuple[CrawlRun, list[AccessRecord]], path: str, status: int, reason: str
) -> None:
    run, access = demo
    assert [r.status for r in page_requests(access, PUBLISHER_HOST) if r.path == path] == [status]
    observation = run.observation_for(url(PUBLISHER_HOST, path))
    assert (observation["status"], observation["outcome"], observation["reasons"][0]) == (
        status,
        "discard",
        reason,
    )
    assert url(PUBLISHER_HOST, path) not in run.kept_urls()
    assert run.stats[f"compliance/discard/{reason}"] >= 1


def test_publisher_plain_article_is_kept(demo: tuple[CrawlRun, list[AccessRecord]]) -> None:
    run, _ = demo
    assert url(PUBLISHER_HOST, "/articles/open-letter.html") in run.kept_urls()


def test_every_refusal_has_a_documented_reason_and_stats_agree(
    demo: tuple[CrawlRun, list[AccessRecord]],
) -> None:
    run, access = demo
    refusals = [r for r in run.log if r.get("decision") == "deny" or r.get("outcome") == "discard"]
    assert refusals
    for record in run.log:
        assert record["reasons"], record
        assert set(record["reasons"]) <= KNOWN_REASONS, record
    # Totals per decision, and each reason counted once for every record that gives it.
    decisions, observations = run.decisions(), run.observations()
    for outcome, records, key in (
        ("allow", decisions, "decision"),
        ("deny", decisions, "decision"),
        ("keep", observations, "outcome"),
        ("discard", observations, "outcome"),
    ):
        chosen = [r for r in records if r[key] == outcome]
        assert run.stats.get(f"compliance/{outcome}", 0) == len(chosen), outcome
        counted = {
            k.removeprefix(f"compliance/{outcome}/"): v
            for k, v in run.stats.items()
            if k.startswith(f"compliance/{outcome}/")
        }
        expected: dict[str, int] = {}
        for record in chosen:
            for reason in dict.fromkeys(record["reasons"]):
                expected[reason] = expected.get(reason, 0) + 1
        assert counted == expected, outcome
    # Every page request the sites saw was allowed first.
    allowed = {d["url"] for d in run.decisions() if d["decision"] == "allow"}
    for host in {r.host for r in access}:
        for hit in page_requests(access, host):
            assert f"http://{hit.host}{hit.path}" in allowed, hit


def test_output_files(demo: tuple[CrawlRun, list[AccessRecord]]) -> None:
    run, _ = demo
    assert (run.output / "decision-log.jsonl").stat().st_size > 0
    assert (run.output / "stats.json").exists()
    assert ORDINARY_HOST in run.stdout  # the per-host table


def test_the_crawl_output_is_quiet_and_the_table_tells_why(
    demo: tuple[CrawlRun, list[AccessRecord]],
) -> None:
    run, _ = demo
    assert run.returncode == 0
    assert not [line for line in run.stderr.splitlines() if "alembic" in line.lower()]
    assert "error:" not in run.stderr
    # A refusal shows its second reason too: why robots.txt was unreachable.
    row = next(line for line in run.stdout.splitlines() if UNREACHABLE_HOST in line)
    assert "robots.unreachable (robots.server_error) x" in row


def test_the_exported_log_is_the_services_own_export(
    demo: tuple[CrawlRun, list[AccessRecord]],
) -> None:
    """The log read straight from the embedded database has the service's own bytes."""
    run, _ = demo
    database = run.output.parent / "optout.sqlite3"
    exported = subprocess.run(
        [sys.executable, "-m", "optout_service.cli", "export", "--job", "it-demo"],
        env={**os.environ, "OPTOUT_DATABASE__URL": f"sqlite:///{database}"},
        capture_output=True,
        check=True,
    )
    assert exported.stdout == (run.output / "decision-log.jsonl").read_bytes()
    assert len(run.log) == run.stats.get("compliance/log_records", len(run.log))


def test_many_requests_to_one_unknown_host_are_each_decided(tmp_path: Path) -> None:
    """DESIGN.md's pitfall: Scrapy's robots middleware lets waiters through unchecked."""
    access_log = tmp_path / "access.jsonl"
    seeds = [url(PARTIAL_HOST, f"/private/annual-report-2026.html?copy={i}") for i in range(30)]
    seeds += [url(PARTIAL_HOST, f"/guide/faq.html?copy={i}") for i in range(30)]
    with DemoWebProcess(sites="demo", access_log=access_log) as web:
        run = run_crawl(
            seeds,
            tmp_path / "out",
            web.proxy_url,
            "--job",
            "it-burst",
            "--db",
            str(tmp_path / "burst.sqlite3"),
            "--concurrency",
            "32",
            "--max-depth",
            "0",
        )
    access = read_access_log(access_log)
    assert not [r for r in access if r.path.startswith("/private/")]
    assert len([r for r in access if r.path.startswith("/guide/faq.html")]) == 30
    assert len([r for r in access if r.path == "/robots.txt"]) == 1
    assert run.stats["compliance/deny/robots.disallowed"] == 30
