"""Pure helpers: the per-host report and the embedded service's settings."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.console import Console

from crawler.embedded import deep_merge, embedded_overrides
from crawler.report import build_report, crawler_side_refusals, host_rows, render_table, totals


def test_host_rows_count_every_outcome() -> None:
    records = [
        {"type": "decision", "host": "a.test", "decision": "allow", "reasons": ["robots.allowed"]},
        {
            "type": "decision",
            "host": "a.test",
            "decision": "deny",
            "reasons": ["robots.disallowed"],
        },
        {"type": "decision", "host": "b.test", "decision": "deny", "reasons": ["piracy.listed"]},
        {
            "type": "observation",
            "host": "a.test",
            "outcome": "discard",
            "reasons": ["tdmrep.reserved"],
        },
        {
            "type": "observation",
            "host": "a.test",
            "outcome": "keep",
            "reasons": ["content.unreserved"],
        },
    ]
    a, b = host_rows(records)
    assert (a.host, a.asked, a.allowed, a.denied, a.fetched, a.kept, a.discarded) == (
        "a.test",
        2,
        1,
        1,
        2,
        1,
        1,
    )
    assert a.refusals == {"robots.disallowed": 1, "tdmrep.reserved": 1}
    assert (b.denied, dict(b.refusals)) == (1, {"piracy.listed": 1})


def test_crawler_side_refusals_come_from_stats() -> None:
    stats = {
        "compliance/deny/service.unavailable": 3,
        "compliance/deny/robots.disallowed": 2,
        "compliance/discard/decision.missing": 1,
        "compliance/requests": 9,
    }
    assert crawler_side_refusals(stats) == {
        "deny:service.unavailable": 3,
        "discard:decision.missing": 1,
    }


def test_embedded_overrides_merge_nested_settings() -> None:
    merged = embedded_overrides(
        "sqlite:///x.sqlite3",
        "OurBot",
        "secret",
        {"fetch": {"allow_private_networks": True}, "database": {"echo": True}},
    )
    assert merged["database"] == {"url": "sqlite:///x.sqlite3", "echo": True}
    assert merged["crawler"] == {"token": "OurBot"}
    assert merged["auth"]["api_keys"][0]["scopes"] == ["crawl", "audit"]
    assert merged["fetch"] == {"allow_private_networks": True}
    assert deep_merge({"a": {"b": 1}}, {"a": 2}) == {"a": 2}


def test_totals_and_the_rendered_table(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"type": "decision", "host": "a.test", "decision": "allow", "reasons": ["x"]},
                {"type": "decision", "host": "b.test", "decision": "deny", "reasons": ["p"]},
                {"type": "checkpoint", "host": "c.test"},
            ]
        )
        + "\n"
    )
    rows, own = build_report(log, {"compliance/deny/request.unsupported_scheme": 2})
    assert [r.host for r in rows] == ["a.test", "b.test"]
    assert own == {"deny:request.unsupported_scheme": 2}
    total = totals(rows)
    assert (total.asked, total.allowed, total.denied) == (2, 1, 1)
    assert total.refusals == {"p": 1}
    console = Console(width=200, record=True)
    console.print(render_table(rows))
    text = console.export_text()
    assert "a.test" in text
    assert "b.test" in text
    assert "p x1" in text
    assert text.index("total") > text.index("b.test")


def test_a_missing_log_gives_no_rows(tmp_path: Path) -> None:
    assert build_report(tmp_path / "none.jsonl", {}) == ([], Counter())


def test_a_refusal_shows_its_second_reason_too() -> None:
    records = [
        {
            "type": "decision",
            "host": "down.test",
            "decision": "deny",
            "reasons": ["robots.unreachable", reason],
        }
        for reason in ("robots.timeout", "robots.timeout", "robots.timeout", "robots.server_error")
    ]
    records.append(
        {"type": "decision", "host": "down.test", "decision": "deny", "reasons": ["piracy.listed"]}
    )
    (row,) = host_rows(records)
    assert row.refusals == {
        "robots.unreachable (robots.timeout)": 3,
        "robots.unreachable (robots.server_error)": 1,
        "piracy.listed": 1,
    }
    console = Console(width=250, record=True)
    console.print(render_table([row]))
    assert "robots.unreachable (robots.timeout) x3" in console.export_text()


def test_hosts_the_crawler_skipped_come_from_the_stats() -> None:
    records = [
        {"type": "decision", "host": "slow.test", "decision": "allow", "reasons": ["r.a"]},
        {"type": "decision", "host": "fast.test", "decision": "allow", "reasons": ["r.a"]},
    ]
    stats = {
        "compliance/skipped/crawl_delay.too_long": 4,
        "compliance/skipped_hosts": {
            "slow.test": {"crawl_delay": 3600.0, "requests": 1},
            "never.test": {"crawl_delay": 86400, "requests": 3},
        },
    }
    rows = {row.host: row for row in host_rows(records, stats)}
    assert (rows["slow.test"].allowed, rows["slow.test"].fetched, rows["slow.test"].skipped) == (
        1,
        0,
        1,
    )
    assert rows["slow.test"].refusals == {"crawl_delay.too_long (3600 s)": 1}
    assert (rows["never.test"].asked, rows["never.test"].skipped) == (0, 3)
    assert rows["fast.test"].skipped == 0
    assert totals(rows.values()).skipped == 4
    assert crawler_side_refusals(stats) == {"skipped:crawl_delay.too_long": 4}


def test_crawler_side_refusals_include_drops_at_closing() -> None:
    stats = {
        "compliance/dropped/crawl.closing": 9,
        "compliance/deny/service.rejected": 1,
        "compliance/closing_started": 1795451213.4,
        "compliance/skipped_hosts": {},
    }
    assert crawler_side_refusals(stats) == {
        "dropped:crawl.closing": 9,
        "deny:service.rejected": 1,
    }
