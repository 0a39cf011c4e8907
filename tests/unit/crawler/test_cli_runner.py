"""optout-crawl's argument handling and the Scrapy settings a crawl is run with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crawler import cli
from crawler.report import HostRow
from crawler.runner import CrawlConfig, CrawlResult, scrapy_settings


@pytest.fixture
def crawls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[CrawlConfig]:
    """Replaces the real crawl: records each config and answers a small result."""
    seen: list[CrawlConfig] = []

    def fake_run(config: CrawlConfig) -> CrawlResult:
        seen.append(config)
        row = HostRow("a.test", asked=2, allowed=1, denied=1)
        row.refusals["robots.disallowed"] += 1
        return CrawlResult(
            {"compliance/deny/request.unsupported_scheme": 1},
            tmp_path / "decision-log.jsonl",
            tmp_path / "pages.warc.gz",
            [row],
            log_records=3,
        )

    monkeypatch.setattr(cli, "run_crawl", fake_run)
    monkeypatch.delenv("COMPLIANCE_SERVICE_URL", raising=False)
    monkeypatch.delenv("COMPLIANCE_API_KEY", raising=False)
    return seen


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli.app, list(args), env=env)


def test_no_start_urls_is_a_usage_error(crawls: list[CrawlConfig]) -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "start URLs" in result.output
    assert crawls == []


def test_an_unreadable_seeds_file_is_a_usage_error(
    crawls: list[CrawlConfig], tmp_path: Path
) -> None:
    result = invoke("--seeds", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2
    assert "seeds" in result.output
    assert crawls == []


def test_a_served_service_needs_an_api_key(crawls: list[CrawlConfig]) -> None:
    result = invoke("http://a.test/", "--service-url", "https://optout.internal")
    assert result.exit_code == 2
    assert "API key" in result.output
    ok = invoke(
        "http://a.test/",
        env={"COMPLIANCE_SERVICE_URL": "https://optout.internal", "COMPLIANCE_API_KEY": "k"},
    )
    assert ok.exit_code == 0, ok.output
    assert (crawls[0].service_url, crawls[0].api_key) == ("https://optout.internal", "k")


def test_options_become_the_crawl_config(crawls: list[CrawlConfig], tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# our seeds\nhttp://b.test/\n\n  http://c.test/  \n")
    piracy = tmp_path / "list.toml"
    piracy.write_text("")
    result = invoke(
        "http://a.test/",
        "--seeds",
        str(seeds),
        "--job",
        "j1",
        "--max-pages",
        "5",
        "--max-depth",
        "2",
        "--format",
        "jsonl",
        "--db",
        str(tmp_path / "svc.sqlite3"),
        "--allow-private-networks",
        "--piracy-list",
        str(piracy),
        "--concurrency",
        "4",
    )
    assert result.exit_code == 0, result.output
    (config,) = crawls
    assert config.seeds == ["http://a.test/", "http://b.test/", "http://c.test/"]
    assert (config.job, config.max_pages, config.max_depth) == ("j1", 5, 2)
    assert config.output_format == "jsonl"
    assert config.output_dir == Path("out") / "j1"
    assert config.concurrency == 4
    assert config.embedded_database_url == f"sqlite:///{(tmp_path / 'svc.sqlite3').resolve()}"
    assert config.embedded_overrides == {
        "fetch": {"allow_private_networks": True},
        "piracy": {"lists": [str(piracy.resolve())]},
    }
    # The summary: the per-host table with its totals, the crawler's own refusals, the paths.
    assert "a.test" in result.output
    assert "total" in result.output
    assert "robots.disallowed x1" in result.output
    assert "deny:request.unsupported_scheme x1" in result.output
    assert str(tmp_path / "pages.warc.gz") in result.output.replace("\n", "")


def test_an_unknown_format_is_a_usage_error(crawls: list[CrawlConfig]) -> None:
    assert invoke("http://a.test/", "--format", "pdf").exit_code == 2
    assert crawls == []


def test_scrapy_settings_of_a_crawl(tmp_path: Path) -> None:
    config = CrawlConfig(
        seeds=["http://a.test/"],
        job="j2",
        output_dir=tmp_path,
        max_pages=10,
        token="OurBot",
        concurrency=8,
        embedded_database_url="sqlite:///db.sqlite3",
        embedded_overrides={"fetch": {"allow_private_networks": True}},
        extra_settings={"DOWNLOAD_DELAY": 1.5},
    )
    settings = scrapy_settings(config)
    assert settings["ADDONS"] == {"crawler.addon.ComplianceAddon": 0}
    assert "crawler.pipelines.output.OutputPipeline" in settings["ITEM_PIPELINES"]
    # The runner exports the log itself after the crawl, whatever way it ended.
    assert settings["COMPLIANCE_LOG_EXPORT"] == ""
    assert settings["COMPLIANCE_PROGRESS"] == "auto"
    assert settings["COMPLIANCE_JOB"] == "j2"
    assert settings["COMPLIANCE_CRAWLER_TOKEN"] == "OurBot"
    assert settings["COMPLIANCE_EMBEDDED_DATABASE_URL"] == "sqlite:///db.sqlite3"
    assert settings["CLOSESPIDER_ITEMCOUNT"] == 10
    assert settings["CONCURRENT_REQUESTS"] == 8
    assert settings["TELNETCONSOLE_ENABLED"] is False
    assert settings["DOWNLOAD_DELAY"] == 1.5
    # Web fetches go through http_proxy/https_proxy when set: nothing switches the proxy off.
    assert "HTTPPROXY_ENABLED" not in settings
    assert "CLOSESPIDER_ITEMCOUNT" not in scrapy_settings(
        CrawlConfig(seeds=[], job="j", output_dir=tmp_path)
    )
