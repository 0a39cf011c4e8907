"""``optout-crawl``: a compliant crawl of the given start URLs."""

from __future__ import annotations

import ast
import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from crawler import stats as keys
from crawler.exit_codes import PRECEDENCE, ExitCode, describe
from crawler.reasons import CrawlerReason
from crawler.report import crawler_side_refusals, render_table, service_refusals, skipped_hosts
from crawler.runner import CrawlConfig, CrawlResult, run_crawl


class OutputFormat(StrEnum):
    WARC = "warc"
    JSONL = "jsonl"


class EmbeddedMode(StrEnum):
    PROCESS = "process"
    THREAD = "thread"


class ProgressMode(StrEnum):
    AUTO = "auto"
    LIVE = "live"
    LOG = "log"
    OFF = "off"


# "\b" keeps the lines of the paragraph that follows as they are.
EPILOG = "\b\n" + describe()

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
    """The per-host table, what the crawler refused on its own, and where the files are."""
    if result.export_error is None:
        console.print(render_table(result.rows))
    else:
        _say("no per-host table: the decision log could not be exported")
    extra = crawler_side_refusals(result.stats)
    if extra:
        _say(
            "refused by the crawler itself: "
            + ", ".join(f"{k} x{v}" for k, v in sorted(extra.items()))
        )
    slow = skipped_hosts(result.stats)
    if slow:
        limit = result.stats.get(keys.MAX_CRAWL_DELAY)
        _say(
            f"hosts skipped for asking more than {_seconds(limit)} between requests"
            f" ({CrawlerReason.CRAWL_DELAY_TOO_LONG.value}): "
            + ", ".join(f"{host} {delay:g} s" for host, (delay, _) in sorted(slow.items()))
        )
    _say(f"kept responses:   {result.pages_path}")
    if result.export_error is None:
        _say(f"decision log:     {result.log_path} ({result.log_records} records)")


def _say(text: str) -> None:
    # Plain text: no markup read into paths or reasons, no highlighting of parts of words.
    console.print(text, markup=False, highlight=False)


def _seconds(value: Any) -> str:
    return f"{value:g} s" if isinstance(value, int | float) else "COMPLIANCE_MAX_CRAWL_DELAY"


def _requests(n: int) -> str:
    return f"{n} request" if n == 1 else f"{n} requests"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def outcome(result: CrawlResult) -> tuple[ExitCode, str | None]:
    """The exit code of a crawl and, unless it is 0, the reason in one line."""
    problems: dict[ExitCode, str] = {}
    refused = service_refusals(result.stats)
    where = f"at {result.service_url}" if result.service_url else "embedded"
    messages: list[str] = []
    if n := refused.get(CrawlerReason.SERVICE_UNAVAILABLE.value, 0):
        detail = result.stats.get(keys.SERVICE_UNAVAILABLE_DETAIL) or "no detail"
        messages.append(
            f"{_requests(n)} refused because the opt-out service was unavailable"
            f" ({detail}; service {where})"
        )
    if n := refused.get(CrawlerReason.SERVICE_REJECTED.value, 0):
        detail = result.stats.get(keys.SERVICE_REJECTED_DETAIL) or "no detail"
        if result.stats.get(keys.SERVICE_REJECTED_STATUS) in (401, 403):
            messages.append(
                f"the service rejected the API key ({_requests(n)} refused; {detail};"
                f" service {where})"
            )
        else:
            messages.append(
                f"{_requests(n)} refused because the opt-out service rejected the calls"
                f" ({detail}; service {where})"
            )
    if messages:
        problems[ExitCode.SERVICE_REFUSALS] = "; ".join(messages)
    if result.export_error is not None:
        problems[ExitCode.LOG_EXPORT_FAILED] = (
            f"the decision log could not be exported to {result.log_path}"
            f" ({result.export_error})"
        )
    if result.interrupted_by is not None:
        problems[ExitCode.INTERRUPTED] = (
            f"stopped by {result.interrupted_by}; the log and the table cover the crawl until then"
        )
    if not problems:
        return ExitCode.OK, None
    codes = [code for code in PRECEDENCE if code in problems]
    return codes[0], _one_line("; ".join(problems[code] for code in codes))


@app.command(epilog=EPILOG)
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
    embedded: Annotated[
        EmbeddedMode | None,
        typer.Option(
            help="embedded: run the service as a child process (the default) or on a thread of"
            " the crawl's process (COMPLIANCE_EMBEDDED_MODE)",
        ),
    ] = None,
    allow_private_networks: Annotated[
        bool,
        typer.Option(
            "--allow-private-networks",
            help="embedded: let the service fetch from private/loopback addresses",
        ),
    ] = False,
    piracy_list: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="embedded: piracy list file (repeatable)"),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="extra Scrapy setting NAME=VALUE (repeatable)")
    ] = None,
    log_level: Annotated[str, typer.Option()] = "INFO",
    progress: Annotated[
        ProgressMode,
        typer.Option(help="live table (auto: when stdout is a terminal), log lines, or none"),
    ] = ProgressMode.AUTO,
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
        embedded_mode=embedded.value if embedded is not None else None,
        embedded_overrides=overrides,
        log_level=log_level.upper(),
        extra_settings=_parse_set(set_ or []),
        progress=progress.value,
    )
    try:
        result = run_crawl(config)
    except KeyboardInterrupt:
        print("error: interrupted before the crawl started", file=sys.stderr, flush=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    print_summary(result)
    code, message = outcome(result)
    if message is not None:
        print(f"error: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(int(code))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
