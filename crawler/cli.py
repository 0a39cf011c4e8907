"""``optout-crawl``: a compliant crawl of the given start URLs."""

from __future__ import annotations

import ast
import json
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from crawler.report import crawler_side_refusals, render_table
from crawler.runner import CrawlConfig, CrawlResult, run_crawl


class OutputFormat(StrEnum):
    WARC = "warc"
    JSONL = "jsonl"


app = typer.Typer(add_completion=False, help=__doc__)
console = Console(width=None if Console().is_terminal else 150)


def _read_seeds(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(
            f"cannot read seeds file {path}: {exc}", param_hint="--seeds"
        ) from exc
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _parse_set(values: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--set")
        try:
            value: Any = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        settings[name.strip()] = value
    return settings


def print_summary(result: CrawlResult) -> None:
    console.print(render_table(result.rows))
    extra = crawler_side_refusals(result.stats)
    if extra:
        console.print(
            "refused by the crawler itself: "
            + ", ".join(f"{k} x{v}" for k, v in sorted(extra.items()))
        )
    console.print(f"kept responses:   {result.pages_path}")
    console.print(f"decision log:     {result.log_path}")


@app.command()
def crawl(
    urls: Annotated[list[str] | None, typer.Argument(help="start URLs")] = None,
    seeds: Annotated[
        Path | None, typer.Option(help="file of start URLs, one a line, # comments")
    ] = None,
    job: Annotated[str | None, typer.Option(help="job id recorded with every decision")] = None,
    max_pages: Annotated[
        int | None, typer.Option(min=1, help="stop after about this many kept pages")
    ] = None,
    max_depth: Annotated[
        int | None, typer.Option(min=0, help="links followed from a start URL")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="output directory (default out/<job>)")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="file format of the kept pages")
    ] = OutputFormat.WARC,
    service_url: Annotated[
        str, typer.Option(envvar="COMPLIANCE_SERVICE_URL", help="served service; empty: embedded")
    ] = "",
    api_key: Annotated[
        str, typer.Option(envvar="COMPLIANCE_API_KEY", help="API key for the served service")
    ] = "",
    token: Annotated[str, typer.Option(help="the crawler's product token")] = "ExampleBot",
    concurrency: Annotated[int, typer.Option(min=1)] = 16,
    db: Annotated[Path | None, typer.Option(help="embedded: SQLite file of the service")] = None,
    allow_private_networks: Annotated[
        bool, typer.Option(help="embedded: let the service fetch from private/loopback addresses")
    ] = False,
    piracy_list: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="embedded: piracy list file (repeatable)"),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="extra Scrapy setting NAME=VALUE (repeatable)")
    ] = None,
    log_level: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Crawl from the start URLs, every fetch decided by the opt-out service."""
    start = list(urls or []) + (_read_seeds(seeds) if seeds else [])
    if not start:
        raise typer.BadParameter("give start URLs as arguments or with --seeds", param_hint="URLS")
    if service_url and not api_key:
        raise typer.BadParameter(
            "a served service needs an API key (--api-key or COMPLIANCE_API_KEY)",
            param_hint="--api-key",
        )
    job_id = job or f"crawl-{uuid.uuid4().hex[:12]}"
    overrides: dict[str, Any] = {}
    if allow_private_networks:
        overrides["fetch"] = {"allow_private_networks": True}
    if piracy_list:
        overrides["piracy"] = {"lists": [str(p.resolve()) for p in piracy_list]}
    config = CrawlConfig(
        seeds=start,
        job=job_id,
        output_dir=output or Path("out") / job_id,
        output_format=output_format.value,
        max_pages=max_pages,
        max_depth=max_depth,
        service_url=service_url,
        api_key=api_key,
        token=token,
        concurrency=concurrency,
        embedded_database_url=f"sqlite:///{db.resolve()}" if db else None,
        embedded_overrides=overrides,
        log_level=log_level.upper(),
        extra_settings=_parse_set(set_ or []),
    )
    result = run_crawl(config)
    print_summary(result)
    if result.stats.get("compliance/log_export_error"):
        console.print(
            "[red]decision log export failed: "
            + json.dumps(result.stats["compliance/log_export_error"])
        )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
