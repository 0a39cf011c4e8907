"""Runs one compliant crawl in this process (Twisted allows one per process) and reports it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from crawler.report import HostRow, host_rows, read_log


@dataclass
class CrawlConfig:
    seeds: list[str]
    job: str
    output_dir: Path
    output_format: Literal["warc", "jsonl"] = "warc"
    max_pages: int | None = None
    max_depth: int | None = None
    service_url: str = ""
    api_key: str = ""
    token: str = "ExampleBot"
    concurrency: int = 16
    embedded_database_url: str | None = None
    embedded_overrides: dict[str, Any] = field(default_factory=dict)
    log_level: str = "INFO"
    extra_settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class CrawlResult:
    stats: dict[str, Any]
    log_path: Path
    pages_path: Path
    rows: list[HostRow]


def scrapy_settings(config: CrawlConfig) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "ADDONS": {"crawler.addon.ComplianceAddon": 0},
        "ITEM_PIPELINES": {"crawler.pipelines.output.OutputPipeline": 300},
        "COMPLIANCE_JOB": config.job,
        "COMPLIANCE_CRAWLER_TOKEN": config.token,
        "COMPLIANCE_SERVICE_URL": config.service_url,
        "COMPLIANCE_API_KEY": config.api_key,
        "COMPLIANCE_OUTPUT_DIR": str(config.output_dir),
        "COMPLIANCE_OUTPUT_FORMAT": config.output_format,
        "COMPLIANCE_LOG_EXPORT": str(config.output_dir / "decision-log.jsonl"),
        "COMPLIANCE_EMBEDDED_SETTINGS": config.embedded_overrides,
        "CONCURRENT_REQUESTS": config.concurrency,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": config.log_level,
    }
    if config.embedded_database_url:
        settings["COMPLIANCE_EMBEDDED_DATABASE_URL"] = config.embedded_database_url
    if config.max_pages:
        settings["CLOSESPIDER_ITEMCOUNT"] = config.max_pages
    settings.update(config.extra_settings)
    return settings


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def run_crawl(config: CrawlConfig) -> CrawlResult:
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.links import LinkSpider

    config.output_dir.mkdir(parents=True, exist_ok=True)
    process = CrawlerProcess(scrapy_settings(config))
    crawler = process.create_crawler(LinkSpider)
    kwargs: dict[str, Any] = {"start_urls": config.seeds}
    if config.max_depth is not None:
        kwargs["max_depth"] = config.max_depth
    process.crawl(crawler, **kwargs)
    process.start()
    stats = {
        k: _json_safe(v) for k, v in (crawler.stats.get_stats() if crawler.stats else {}).items()
    }
    (config.output_dir / "stats.json").write_text(json.dumps(stats, indent=1, sort_keys=True))
    log_path = config.output_dir / "decision-log.jsonl"
    pages = "pages.warc.gz" if config.output_format == "warc" else "pages.jsonl"
    return CrawlResult(stats, log_path, config.output_dir / pages, host_rows(read_log(log_path)))
