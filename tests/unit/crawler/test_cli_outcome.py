"""optout-crawl tells the truth: exit codes, the one-line reason on stderr, --help at 80 columns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from crawler import cli
from crawler.exit_codes import DESCRIPTIONS, PRECEDENCE, ExitCode
from crawler.report import HostRow
from crawler.runner import CrawlConfig, CrawlResult

ROOT = Path(__file__).resolve().parents[3]


def result(tmp_path: Path, stats: dict[str, Any] | None = None, **fields: Any) -> CrawlResult:
    return CrawlResult(
        stats or {},
        tmp_path / "decision-log.jsonl",
        tmp_path / "pages.jsonl",
        [HostRow("a.test", asked=1, allowed=1)],
        **{"log_records": 1, **fields},
    )


@pytest.fixture
def answer(monkeypatch: pytest.MonkeyPatch) -> list[CrawlResult]:
    """The results the faked run_crawl answers, in turn."""
    queue: list[CrawlResult] = []

    def fake_run(config: CrawlConfig) -> CrawlResult:
        return queue.pop(0)

    monkeypatch.setattr(cli, "run_crawl", fake_run)
    monkeypatch.delenv("COMPLIANCE_SERVICE_URL", raising=False)
    monkeypatch.delenv("COMPLIANCE_API_KEY", raising=False)
    return queue


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli.app, list(args), env=env)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_a_clean_crawl_exits_0_and_prints_no_error(
    answer: list[CrawlResult], tmp_path: Path
) -> None:
    answer.append(result(tmp_path, {"compliance/allow/robots.allowed": 1}))
    run = invoke("http://a.test/")
    assert run.exit_code == 0, run.output
    assert run.stderr == ""
    assert "a.test" in run.stdout


def test_every_request_refused_because_the_service_was_down_exits_3(
    answer: list[CrawlResult], tmp_path: Path
) -> None:
    answer.append(
        result(
            tmp_path,
            {
                "compliance/deny/service.unavailable": 57,
                "compliance/service_unavailable_detail": "ConnectError: connection refused",
            },
            service_url="http://127.0.0.1:9",
        )
    )
    run = invoke("http://a.test/", "--service-url", "http://127.0.0.1:9", "--api-key", "k")
    assert run.exit_code == 3
    assert ExitCode.SERVICE_REFUSALS.value == 3
    (line,) = run.stderr.splitlines()
    assert line == (
        "error: 57 requests refused because the opt-out service was unavailable"
        " (ConnectError: connection refused; service at http://127.0.0.1:9)"
    )


def test_a_wrong_api_key_exits_3_and_says_so(answer: list[CrawlResult], tmp_path: Path) -> None:
    answer.append(
        result(
            tmp_path,
            {
                "compliance/deny/service.rejected": 1,
                "compliance/service_rejected_detail": 'service answered 401: "unknown API key"',
                "compliance/service_rejected_status": 401,
            },
            service_url="https://optout.internal",
        )
    )
    run = invoke("http://a.test/", "--service-url", "https://optout.internal", "--api-key", "x")
    assert run.exit_code == 3
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: the service rejected the API key (1 request refused;")


def test_a_failed_log_export_exits_4_without_a_table(
    answer: list[CrawlResult], tmp_path: Path
) -> None:
    answer.append(result(tmp_path, export_error="IsADirectoryError: [Errno 21] Is a directory"))
    run = invoke("http://a.test/")
    assert run.exit_code == 4
    assert ExitCode.LOG_EXPORT_FAILED.value == 4
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: the decision log could not be exported to ")
    assert "Is a directory" in line
    assert "no per-host table" in run.stdout
    assert "total" not in run.stdout


def test_an_interrupted_crawl_exits_130_with_its_table(
    answer: list[CrawlResult], tmp_path: Path
) -> None:
    answer.append(result(tmp_path, interrupted_by="SIGTERM"))
    run = invoke("http://a.test/")
    assert run.exit_code == 130
    assert ExitCode.INTERRUPTED.value == 130
    assert error_lines(run.stderr) == [
        "error: stopped by SIGTERM; the log and the table cover the crawl until then"
    ]
    assert "a.test" in run.stdout


def test_a_signal_before_the_crawl_started_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(config: CrawlConfig) -> CrawlResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_crawl", interrupted)
    run = invoke("http://a.test/")
    assert run.exit_code == 130
    assert error_lines(run.stderr) == ["error: interrupted before the crawl started"]


def test_when_several_apply_the_most_telling_wins_and_one_line_says_all(tmp_path: Path) -> None:
    everything = result(
        tmp_path,
        {
            "compliance/discard/service.unavailable": 2,
            "compliance/service_unavailable_detail": "ReadTimeout:\nno answer",
        },
        export_error="ConnectError: refused",
        interrupted_by="SIGINT",
    )
    code, message = cli.outcome(everything)
    assert code == ExitCode.SERVICE_REFUSALS
    assert message is not None
    assert "\n" not in message
    assert message.index("unavailable") < message.index("exported") < message.index("SIGINT")
    code, _ = cli.outcome(result(tmp_path, export_error="x", interrupted_by="SIGINT"))
    assert code == ExitCode.LOG_EXPORT_FAILED
    assert cli.outcome(result(tmp_path)) == (ExitCode.OK, None)
    # Refusals the crawler makes by policy are no failure.
    quiet = result(
        tmp_path,
        {"compliance/skipped/crawl_delay.too_long": 3, "compliance/dropped/crawl.closing": 4},
    )
    assert cli.outcome(quiet) == (ExitCode.OK, None)


def test_exit_codes_are_documented_in_one_place_and_agree_with_the_readme() -> None:
    assert set(DESCRIPTIONS) == set(ExitCode)
    assert PRECEDENCE == (
        ExitCode.SERVICE_REFUSALS,
        ExitCode.LOG_EXPORT_FAILED,
        ExitCode.INTERRUPTED,
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = {int(m) for m in re.findall(r"^\| `(\d+)` \|", readme, re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}


def test_help_shows_every_option_whole_and_the_exit_codes_at_80_columns() -> None:
    run = invoke("--help", env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert run.exit_code == 0
    lines = run.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = set(re.findall(r"--[a-z][a-z-]*", run.output))
    command = typer.main.get_command(cli.app)
    names = {
        name
        for param in command.params
        for name in (*param.opts, *param.secondary_opts)
        if name.startswith("--")
    }
    assert names
    assert names <= words, names - words
    for code in ExitCode:
        assert any(
            line.strip(" │").startswith(f"{int(code)}  {DESCRIPTIONS[code]}") for line in lines
        ), code
