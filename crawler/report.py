"""Per-host summary of a crawl, from its exported decision log and its Scrapy stats.

The log says what the service decided and observed; the stats add what the crawler did on its
own (requests it skipped or dropped although the service allowed them, refusals it made without
an answer), which the log cannot show.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from crawler import stats as keys
from crawler.reasons import CRAWLER_FAMILIES, CrawlerReason


@dataclass
class HostRow:
    """What happened on one host: decisions asked, responses observed, refusals by reason.

    ``skipped`` counts requests the service allowed and the crawler did not make (a crawl delay
    longer than COMPLIANCE_MAX_CRAWL_DELAY).
    """

    host: str
    asked: int = 0
    allowed: int = 0
    denied: int = 0
    fetched: int = 0
    kept: int = 0
    discarded: int = 0
    skipped: int = 0
    refusals: Counter[str] = field(default_factory=Counter)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of an exported decision log (JSONL); none when the file does not exist."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


def refusal_label(reasons: Sequence[str]) -> str:
    """A refusal as the table shows it: its first reason and, in brackets, its second.

    The second says why (``robots.unreachable (robots.timeout)``) or what else applied.
    """
    if not reasons:
        return "?"
    return f"{reasons[0]} ({reasons[1]})" if len(reasons) > 1 else reasons[0]


def host_rows(
    records: Iterable[Mapping[str, Any]], stats: Mapping[str, Any] | None = None
) -> list[HostRow]:
    """One row per host, sorted by host; hosts the crawler skipped come from ``stats``."""
    rows: dict[str, HostRow] = {}
    for record in records:
        if record.get("type") not in ("decision", "observation"):
            continue  # a record type added to the export later: not counted here
        host = str(record.get("host") or "?")
        row = rows.setdefault(host, HostRow(host))
        reasons = [str(r) for r in record.get("reasons") or []]
        if record.get("type") == "decision":
            row.asked += 1
            if record.get("decision") == "allow":
                row.allowed += 1
            else:
                row.denied += 1
                row.refusals[refusal_label(reasons)] += 1
        elif record.get("type") == "observation":
            row.fetched += 1
            if record.get("outcome") == "keep":
                row.kept += 1
            else:
                row.discarded += 1
                row.refusals[refusal_label(reasons)] += 1
    for host, (delay, requests) in skipped_hosts(stats or {}).items():
        row = rows.setdefault(host, HostRow(host))
        row.skipped += requests
        row.refusals[f"{CrawlerReason.CRAWL_DELAY_TOO_LONG.value} ({delay:g} s)"] += requests
    return sorted(rows.values(), key=lambda r: r.host)


def skipped_hosts(stats: Mapping[str, Any]) -> dict[str, tuple[float, int]]:
    """Hosts skipped for asking too long a crawl delay: {host: (delay asked, requests)}."""
    found: dict[str, tuple[float, int]] = {}
    value = stats.get(keys.SKIPPED_HOSTS)
    if not isinstance(value, Mapping):
        return found
    for host, entry in value.items():
        if isinstance(entry, Mapping):
            try:
                found[str(host)] = (float(entry["crawl_delay"]), int(entry["requests"]))
            except (KeyError, TypeError, ValueError):
                continue
    return found


def crawler_side_refusals(stats: Mapping[str, Any]) -> Counter[str]:
    """What the crawler refused on its own (service down, bad scheme, too long a crawl delay,
    closing), as ``<decision>:<reason>`` counts."""
    counts: Counter[str] = Counter()
    for key, value in stats.items():
        parts = key.split("/")
        if (
            len(parts) == 3
            and parts[0] == "compliance"
            and parts[2].split(".")[0] in CRAWLER_FAMILIES
            and isinstance(value, int)
        ):
            counts[f"{parts[1]}:{parts[2]}"] += value
    return counts


def service_refusals(stats: Mapping[str, Any]) -> Counter[str]:
    """Requests and responses refused because of the service: {reason: count}."""
    counts: Counter[str] = Counter()
    for name, count in crawler_side_refusals(stats).items():
        reason = name.split(":", 1)[1]
        if reason in (CrawlerReason.SERVICE_UNAVAILABLE, CrawlerReason.SERVICE_REJECTED):
            counts[reason] += count
    return counts


_COUNTS = ("asked", "allowed", "denied", "fetched", "kept", "discarded", "skipped")


def totals(rows: Iterable[HostRow]) -> HostRow:
    """One row adding up every host."""
    total = HostRow("total")
    for row in rows:
        for name in _COUNTS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.refusals.update(row.refusals)
    return total


def build_report(log_path: Path, stats: Mapping[str, Any]) -> tuple[list[HostRow], Counter[str]]:
    """Per-host rows from the exported log and the stats, and the crawler's own refusals."""
    return host_rows(read_log(log_path), stats), crawler_side_refusals(stats)


def _cells(row: HostRow) -> list[str]:
    refusals = ", ".join(f"{reason} x{count}" for reason, count in sorted(row.refusals.items()))
    return [row.host, *(str(getattr(row, name)) for name in _COUNTS), refusals]


def render_table(rows: list[HostRow], title: str = "Compliance by host") -> Table:
    """A rich table of ``rows`` followed by their totals."""
    table = Table(title=title)
    # A narrow terminal folds host names and reasons onto more lines; it never cuts them.
    table.add_column("host", overflow="fold")
    for column in _COUNTS:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("refusals by reason", overflow="fold")
    for row in rows:
        table.add_row(*_cells(row))
    table.add_section()
    table.add_row(*_cells(totals(rows)), style="bold")
    return table
